"""The context-window check before sending, over loopback (sync|async): a prompt that cannot fit
the catalog's window is refused with the counts and nothing is sent; fallbacks move to a larger
window; estimates refuse only when clearly over; the rate limiter is charged the same count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import llmplex
from llmplex.testing import Emulator, Reply
from tests.conftest import NO_BREAKER, Api

LONG = [{"role": "user", "content": "word " * 40}]
"""48 tokens for gpt-4o (o200k): 40 x " word" / "word" + 3 per message + "user" + 3 for the reply."""
CATALOG = {
    "openai": {
        "gpt-4o-tiny": {"context_window": 60, "max_output_tokens": 20},
        "gpt-4o-tinier": {"context_window": 40, "max_output_tokens": 20},
    },
    "anthropic": {"claude-tiny": {"context_window": 100, "max_output_tokens": 20}},
}


def _api(mode: str, emu: Emulator, **kwargs: object) -> Api:
    return Api(mode, providers={"openai": {"api_key": "sk-a", "base_url": emu.base_url},
                                "anthropic": {"api_key": "sk-ant-b", "base_url": emu.base_url}},
               catalog=CATALOG, router=NO_BREAKER, **kwargs)


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    a = _api(mode, emu)
    yield a
    a.close()


def test_a_prompt_over_the_window_is_refused_before_sending(api: Api, emu: Emulator) -> None:
    assert llmplex.count_tokens("openai/gpt-4o-tiny", LONG).tokens == 48
    with pytest.raises(llmplex.ContextWindowExceededError) as caught:
        api.chat(model="openai/gpt-4o-tinier", messages=LONG)
    error = caught.value
    assert (error.prompt_tokens, error.context_window, error.max_tokens, error.exact) == (48, 40, None, True)
    assert error.status_code is None and "nothing was sent" in str(error) and "context_check=False" in str(error)
    assert emu.requests == []
    assert api.client.metrics().errors_by_type == {"ContextWindowExceededError": 1}


def test_an_exact_count_refuses_exactly_with_max_tokens(api: Api, emu: Emulator) -> None:
    r = api.chat(model="openai/gpt-4o-tiny", messages=LONG, max_tokens=12)  # 48 + 12 = 60: fits
    assert r.choices[0].message.content
    with pytest.raises(llmplex.ContextWindowExceededError) as caught:
        api.chat(model="openai/gpt-4o-tiny", messages=LONG, max_completion_tokens=13)
    assert (caught.value.prompt_tokens, caught.value.max_tokens, caught.value.context_window) == (48, 13, 60)
    assert len(emu.requests) == 1


def test_fallbacks_move_to_a_larger_window(api: Api, emu: Emulator) -> None:
    r = api.chat(model=["openai/gpt-4o-tinier", "openai/gpt-4o-tiny", "openai/gpt-4o"], messages=LONG)
    assert r.model == "gpt-4o-tiny"  # refused locally by the 40-token window; 48 fit in 60
    # 48 + 30 do not fit 60; the 40-token window is smaller still, so it is skipped for gpt-4o
    r = api.chat(model=["openai/gpt-4o-tiny", "openai/gpt-4o-tinier", "openai/gpt-4o"], messages=LONG, max_tokens=30)
    assert r.model == "gpt-4o"
    assert [req.json()["model"] for req in emu.requests] == ["gpt-4o-tiny", "gpt-4o"]


def test_context_check_can_be_turned_off(mode: str, emu: Emulator) -> None:
    per_client = _api(mode, emu, context_check=False)
    try:
        per_client.chat(model="openai/gpt-4o-tinier", messages=LONG)
    finally:
        per_client.close()
    per_request = _api(mode, emu)
    try:
        per_request.chat(model="openai/gpt-4o-tinier", messages=LONG, context_check=False)
        with pytest.raises(llmplex.InvalidRequestError, match="context_check must be true or false"):
            per_request.chat(model="openai/gpt-4o-tinier", messages=LONG, context_check="no")
    finally:
        per_request.close()
    assert len(emu.requests) == 2


def test_an_estimate_refuses_only_when_clearly_over(api: Api, emu: Emulator) -> None:
    near = [{"role": "user", "content": "x" * 400}]  # estimate 100 + 4 + 3 = 107 > 100, but 90 % of it fits
    assert llmplex.count_tokens("anthropic/claude-tiny", near).tokens == 107
    api.chat(model="anthropic/claude-tiny", messages=near)
    over = [{"role": "user", "content": "x" * 440}]  # 117: even 90 % of it (105.3) is over the window
    with pytest.raises(llmplex.ContextWindowExceededError) as caught:
        api.chat(model="anthropic/claude-tiny", messages=over)
    assert (caught.value.prompt_tokens, caught.value.exact, caught.value.context_window) == (117, False, 100)
    assert len(emu.requests) == 1


def test_an_unknown_window_is_not_checked(api: Api, emu: Emulator) -> None:
    api.chat(model="openai/gpt-4o-unlisted", messages=[{"role": "user", "content": "word " * 5000}])
    assert len(emu.requests) == 1


def test_the_rate_limiter_is_charged_the_counted_prompt_once(mode: str, emu: Emulator) -> None:
    limits = {**NO_BREAKER, "limits": {"openai/gpt-4o": {"tpm": 150, "wait": False}}}
    api = Api(mode, providers={"openai": {"api_key": "sk-a", "base_url": emu.base_url}}, router=limits)
    try:
        for _ in range(3):  # each charged 48 (the count) at admission, then corrected to its usage (50)
            emu.enqueue(Reply("ok", usage={"prompt_tokens": 48, "completion_tokens": 2}))
            api.chat(model="openai/gpt-4o", messages=LONG)
        with pytest.raises(llmplex.RateLimitError, match="client-side rate limit"):
            api.chat(model="openai/gpt-4o", messages=LONG)  # 150 charged: 48 more do not fit
    finally:
        api.close()
    assert len(emu.requests) == 3
