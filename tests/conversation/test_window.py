"""The context strategies decide what to keep: pure, over random histories (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmplex import ContextWindowExceededError
from llmplex.catalog.tokens import IMAGE_TOKENS, MESSAGE_OVERHEAD, estimate_message_tokens, estimate_tokens
from llmplex.conversation import DropOldest, Summarize
from llmplex.conversation.window import SUMMARY_PREFIX, SummaryRequest, render_transcript, turns

Message = dict[str, Any]


def _call(n: int) -> Message:
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": f"c{n}", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}


def _result(n: int) -> Message:
    return {"role": "tool", "tool_call_id": f"c{n}", "content": "ok"}


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Message], list[int]]:
    """Valid chat histories: optional system prompts, turns that open with a user message and
    hold plain replies and tool rounds (a call followed by its results), random sizes."""
    messages: list[Message] = [{"role": "system", "content": "S"}] * draw(st.integers(0, 2))
    calls = 0
    for _ in range(draw(st.integers(1, 8))):
        messages.append({"role": "user", "content": "u"})
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                calls += 1
                messages.append(_call(calls))
                messages += [_result(calls)] * draw(st.integers(1, 3))
            else:
                messages.append({"role": "assistant", "content": "a"})
        if draw(st.booleans()) and len(messages) > 3:
            messages.insert(draw(st.integers(1, 2)), {"role": "system", "content": "S2"})  # mid-history system
    sizes = [draw(st.integers(1, 60)) for _ in messages]
    return _repair(messages), sizes


def _repair(messages: list[Message]) -> list[Message]:
    """A system message inserted between a call and its results moves before the call."""
    out: list[Message] = []
    for m in messages:
        if m["role"] == "system" and out and out[-1]["role"] in ("assistant", "tool") and out[-1].get("tool_calls"):
            out.insert(len(out) - 1, m)
        else:
            out.append(m)
    return out


def _check_seams(messages: list[Message], keep: tuple[int, ...]) -> None:
    kept = [messages[i] for i in keep]
    assert list(keep) == sorted(set(keep))
    # every system message is kept
    systems = [i for i, m in enumerate(messages) if m["role"] == "system"]
    assert systems == [i for i in keep if messages[i]["role"] == "system"]
    # tool calls and results stay together: every result kept answers a kept call, and every kept call keeps all results
    kept_ids = {c["id"] for m in kept for c in m.get("tool_calls") or []}
    all_results: dict[str, int] = {}
    kept_results: dict[str, int] = {}
    for i, m in enumerate(messages):
        if m["role"] == "tool":
            all_results[m["tool_call_id"]] = all_results.get(m["tool_call_id"], 0) + 1
            if i in keep:
                kept_results[m["tool_call_id"]] = kept_results.get(m["tool_call_id"], 0) + 1
    assert set(kept_results) == kept_ids
    assert all(kept_results[c] == all_results[c] for c in kept_ids)
    # the history still opens with a user message, and the last message is always kept
    first = next(m for m in kept if m["role"] != "system")
    assert first["role"] == "user"
    assert keep[-1] == len(messages) - 1 or messages[-1]["role"] == "system"


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(20, 600))
def test_drop_oldest_fits_and_never_splits_a_tool_round(history: tuple[list[Message], list[int]], budget: int) -> None:
    messages, sizes = history
    try:
        fit = DropOldest().fit(messages, sizes, budget)
    except ContextWindowExceededError:
        # only when the system prompts, the current user message and the newest group cannot fit
        last_turn = turns(messages)[-1]
        floor = [i for i, m in enumerate(messages) if m["role"] == "system"] + last_turn[0] + last_turn[-1]
        assert sum(sizes[i] for i in set(floor)) > budget
        return
    _check_seams(messages, fit.keep)
    assert sum(sizes[i] for i in fit.keep) <= budget
    assert fit.summarize == () and fit.summary is None
    # the newest messages are kept: whatever was dropped is older than what was kept, except the
    # user message that opened the current turn (kept while its older tool rounds go)
    dropped = set(range(len(messages))) - set(fit.keep)
    opener = turns(messages)[-1][0][0]
    kept = [i for i in fit.keep if messages[i]["role"] != "system" and i != opener]
    assert all(d < k for d in dropped for k in kept)


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(600, 1200))
def test_summarize_folds_whole_turns_and_keeps_the_rest(history: tuple[list[Message], list[int]], budget: int) -> None:
    messages, sizes = history
    strategy = Summarize(model="openai/gpt-4o-mini", max_summary_tokens=100)
    fit = strategy.fit(messages, sizes, budget)
    _check_seams(messages, fit.keep)
    assert set(fit.keep).isdisjoint(fit.summarize)
    assert set(fit.keep) | set(fit.summarize) == set(range(len(messages)))  # nothing is lost silently
    assert sum(sizes[i] for i in fit.keep) <= budget - 100
    if fit.summarize:
        assert fit.summary is not None and fit.summary.model == "openai/gpt-4o-mini" and fit.summary.max_tokens == 100
        folded = [messages[i] for i in fit.summarize]
        assert fit.summary.messages[1]["content"] == render_transcript(folded)


def test_drop_oldest_drops_whole_turns_first() -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "q1"}, _call(1), _result(1),
                {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}]
    assert DropOldest().fit(messages, [1, 10, 10, 10, 10, 10], budget=20).keep == (0, 5)
    assert DropOldest().fit(messages, [1, 10, 10, 10, 10, 10], budget=100).keep == (0, 1, 2, 3, 4, 5)


def test_a_long_agent_turn_loses_its_oldest_tool_rounds_but_keeps_its_question() -> None:
    messages = [{"role": "user", "content": "research this"}, _call(1), _result(1), _call(2), _result(2), _call(3),
                _result(3)]
    fit = DropOldest().fit(messages, [5, 10, 10, 10, 10, 10, 10], budget=45)
    assert fit.keep == (0, 3, 4, 5, 6)


def test_what_cannot_fit_raises_before_sending() -> None:
    messages = [{"role": "system", "content": "S" * 100}, {"role": "user", "content": "q"}]
    with pytest.raises(ContextWindowExceededError, match="over the budget of 10"):
        DropOldest().fit(messages, [30, 5], budget=10)


def test_summarize_keeps_at_most_keep_ratio_of_the_budget() -> None:
    messages = [m for n in range(10)
                for m in ({"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": f"a{n}"})]
    fit = Summarize(keep_ratio=0.5, max_summary_tokens=10).fit(messages, [10] * 20, budget=110)
    assert fit.keep == (16, 17, 18, 19)  # (110 - 10) * 0.5 = 50 tokens: two whole turns
    assert fit.summarize == tuple(range(16))
    assert fit.summary is not None and fit.summary.model is None
    assert "q0" in fit.summary.messages[1]["content"] and "a7" in fit.summary.messages[1]["content"]
    assert SummaryRequest.message(" short ")["content"] == SUMMARY_PREFIX + "short"


def test_summarize_with_nothing_old_to_fold_only_trims_the_current_turn() -> None:
    messages = [{"role": "user", "content": "q"}, _call(1), _result(1), _call(2), _result(2)]
    fit = Summarize(max_summary_tokens=5).fit(messages, [5, 10, 10, 10, 10], budget=35)
    assert fit.keep == (0, 3, 4) and fit.summarize == (1, 2) and fit.summary is not None


def test_the_estimate() -> None:
    text = {"role": "user", "content": "x" * 40}
    assert estimate_message_tokens(text) == 10 + MESSAGE_OVERHEAD
    url = "data:image/png;base64," + "A" * 10_000
    image = {"role": "user",
             "content": [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {"url": url}}]}
    assert estimate_message_tokens(image) == 1 + IMAGE_TOKENS + MESSAGE_OVERHEAD  # a data URL is not text
    call = _call(1)
    assert estimate_message_tokens(call) == 1 + MESSAGE_OVERHEAD  # "f" + "{}" = 3 chars
    assert estimate_tokens([text, call]) == estimate_message_tokens(text) + estimate_message_tokens(call) + 3
