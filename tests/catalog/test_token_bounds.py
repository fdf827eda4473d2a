"""The pieces behind usage estimates and the context-window check: ``upper_bound`` is never below
``count_tokens`` (so skipping the count never changes the check's decision), ``count_text`` counts
a reply, and an estimated usage prices to a cost flagged as an estimate."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import llmplex
from llmplex.catalog import cost_of
from llmplex.catalog.tokens import count_text, upper_bound

_text = st.text(st.characters(codec="utf-8"), max_size=60)
_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, _text),
)
_call = st.builds(lambda n, a: {"id": "c", "type": "function", "function": {"name": n, "arguments": a}}, _text, _text)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool"]),
     "content": st.one_of(_text, st.lists(_part, max_size=3))},
    optional={"name": _text, "tool_calls": st.lists(_call, max_size=2), "tool_call_id": _text},
)
_prop = st.fixed_dictionaries({"type": st.sampled_from(["string", "integer"])},
                              optional={"description": _text, "enum": st.lists(_text, max_size=4)})
_tool = st.builds(
    lambda name, description, props: {"type": "function", "function": {
        "name": name, "description": description, "parameters": {"type": "object", "properties": props}}},
    _text, _text, st.dictionaries(_text, _prop, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_message, min_size=1, max_size=4), st.lists(_tool, max_size=2))
def test_the_bound_is_never_below_a_count(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    bound = upper_bound(messages, tools)
    for model in ("openai/gpt-4o", "openai/gpt-4", "anthropic/claude-sonnet-4-5"):
        assert llmplex.count_tokens(model, messages, tools=tools or None).tokens <= bound


def test_the_bound_of_a_short_prompt_is_small() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What colour is the sky?"}]
    assert upper_bound(messages) == 101  # 20 tokens exactly; far below any catalog window: not counted


def test_count_text_is_exact_for_openai_models_and_an_estimate_elsewhere() -> None:
    exact = count_text("openai/gpt-4o", ["The sky is blue.", ""])
    assert (exact.tokens, exact.exact, exact.method) == (5, True, "tiktoken:o200k_base")
    estimate = count_text("mistral/mistral-small-latest", ["The sky is blue.", "x"])
    assert (estimate.tokens, estimate.exact) == (4 + 1, False)  # 16 characters, then 1 rounded up


def test_an_estimated_usage_has_an_estimated_cost() -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 200}
    reported = cost_of("openai", "gpt-4o", usage)
    estimated = cost_of("openai", "gpt-4o", {**usage, "estimated": True})
    assert reported is not None and estimated is not None
    assert (reported.estimated, estimated.estimated) == (False, True)
    assert estimated.total == reported.total  # the same prices: only the counts are uncertain
