"""Retries over the emulator's sockets and through the call plan with a fake clock: RELIABILITY
A1, A2, A4, A5, A7, A8, A9 (A3 and A6, pure, are in test_retry_policy.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import llmplex
from llmplex._http import HttpRequest
from llmplex._pipeline import Call, run_sync
from llmplex._requests import CallSettings
from llmplex.errors import RateLimitError, ServiceUnavailableError
from llmplex.resilience.plan import IDEMPOTENCY_HEADER, RETRY_COUNT_HEADER, CallPlan
from llmplex.testing import Emulator, Reply
from tests.conftest import NO_BREAKER, Api

USER = [{"role": "user", "content": "hi"}]
FAST = {"retry-after-ms": "1"}


def plan_for(max_retries: int = 2, clock: Any = time.monotonic) -> CallPlan:
    settings = CallSettings(provider="openai", base_url="http://127.0.0.1:9/v1", max_retries=max_retries)
    call: Call[Any] = Call("openai", "gpt-4o", settings, build=lambda: HttpRequest("POST", "u", {}, b"{}"),
                           parse=lambda r: r, parse_error=lambda r: ServiceUnavailableError("x"))
    return CallPlan(call, clock=clock, rand=lambda: 0.0)


def test_a1_retry_after_2_gives_exactly_one_retry_after_2_seconds() -> None:
    now = [100.0]
    plan = plan_for(clock=lambda: now[0])
    first = plan.next()
    plan.request(first)
    plan.failed(first, RateLimitError("slow down", status_code=429, retry_after=2.0))
    second = plan.next()
    assert (second.number, second.delay) == (1, 2.0)


def test_a1_over_sockets(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(429, "slow down", headers={"retry-after": "0.2"}), Reply("ok"))
    start = time.monotonic()
    assert api.chat(model="openai/gpt-4o", messages=USER).choices[0].message.content == "ok"
    assert 0.2 <= time.monotonic() - start < 2.0
    assert len(emu.requests) == 2


def test_a2_retry_after_ms_wins(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(503, "down", headers={"retry-after-ms": "150", "retry-after": "10"}), Reply("ok"))
    start = time.monotonic()
    api.chat(model="openai/gpt-4o", messages=USER)
    assert 0.15 <= time.monotonic() - start < 2.0  # not 10 s


def test_a4_retry_after_above_the_cap_is_not_retried(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(429, "slow down", headers={"retry-after": "61"}))
    with pytest.raises(llmplex.RateLimitError) as info:
        api.chat(model="openai/gpt-4o", messages=USER)
    assert info.value.retry_after == 61 and len(emu.requests) == 1


STATUSES = [400, 401, 403, 404, 413, 422, 408, 409, 429, 500, 502, 503, 504, 529]
RETRYABLE = {408, 409, 429, 500, 502, 503, 504, 529}


def test_a5_status_matrix_over_sockets(api: Api, emu: Emulator) -> None:
    """Every status with x-should-retry absent, true and false: attempts are 3 or 1 exactly."""
    seen: dict[tuple[int, str | None], int] = {}
    for status in STATUSES:
        for should in (None, "true", "false"):
            headers = dict(FAST) | ({"x-should-retry": should} if should else {})
            emu.reset()
            emu.set_default(Reply.error(status, "no", headers=headers))
            with pytest.raises(llmplex.LLMError):
                api.chat(model="openai/gpt-4o", messages=USER)
            seen[(status, should)] = len(emu.requests)
    expected = {
        (status, should): 3 if (should == "true" or (should is None and status in RETRYABLE)) else 1
        for status in STATUSES for should in (None, "true", "false")
    }
    assert seen == expected


def test_a7_a_generator_in_the_body_is_refused_before_sending(api: Api, emu: Emulator) -> None:
    with pytest.raises(llmplex.InvalidRequestError, match="JSON"):
        api.chat(model="openai/gpt-4o", messages=USER, extra_body={"upload": (b for b in [b"x"])})
    assert len(emu.requests) == 0


def test_a7_a_one_shot_body_is_never_replayed(emu: Emulator) -> None:
    """A body given as an iterator (a third-party adapter streaming an upload) goes once."""
    emu.enqueue(Reply.error(503, "down", headers=FAST))
    settings = CallSettings(provider="openai", base_url=emu.base_url)
    url = emu.base_url + "/chat/completions"
    call: Call[Any] = Call(
        "openai", "gpt-4o", settings,
        build=lambda: HttpRequest("POST", url, {"content-type": "application/json"},
                                  iter([b'{"model": "gpt-4o", ', b'"messages": [{"role": "user", "content": "x"}]}'])),  # type: ignore[arg-type]
        parse=lambda r: r, parse_error=lambda r: ServiceUnavailableError("down", status_code=503),
    )
    client = llmplex.Client()
    with pytest.raises(llmplex.ServiceUnavailableError, match="not retried: the request body is a one-shot"):
        run_sync(call, client._transport)
    assert len(emu.requests) == 1
    client.close()


def test_a8_one_idempotency_key_per_call_and_the_retry_count(api: Api, emu: Emulator) -> None:
    calls = 100
    for _ in range(calls):
        emu.enqueue(Reply.error(503, "down", headers=FAST), Reply.error(500, "boom", headers=FAST), Reply("ok"))
        api.chat(model="openai/gpt-4o", messages=USER)
    requests = emu.requests
    assert len(requests) == 3 * calls
    keys = [r.headers[IDEMPOTENCY_HEADER.lower()] for r in requests]
    counts = [r.headers[RETRY_COUNT_HEADER] for r in requests]
    assert len(set(keys)) == calls
    assert all(keys[i] == keys[i + 1] == keys[i + 2] for i in range(0, len(keys), 3))
    assert counts == ["0", "1", "2"] * calls


def test_a8_the_callers_own_idempotency_key_wins(api: Api, emu: Emulator) -> None:
    api.chat(model="openai/gpt-4o", messages=USER, extra_headers={"Idempotency-Key": "mine-1"})
    assert emu.last_request.headers["idempotency-key"] == "mine-1"


@pytest.mark.parametrize("code", ["insufficient_quota", "enforced_spend_limit_reached"])
def test_a9_quota_429_is_not_retried(api: Api, emu: Emulator, code: str) -> None:
    emu.enqueue(Reply.error(429, "quota", type=code, code=code, headers=FAST))
    with pytest.raises(llmplex.QuotaExceededError):
        api.chat(model="openai/gpt-4o", messages=USER, max_retries=5)
    assert len(emu.requests) == 1


def test_max_retries_per_client_and_per_request(mode: str, emu: Emulator) -> None:
    api = Api(mode, provider="openai", api_key="sk-test", base_url=emu.base_url, max_retries=0, router=NO_BREAKER)
    emu.set_default(Reply.error(503, "down", headers=FAST))
    with pytest.raises(llmplex.ServiceUnavailableError):
        api.chat(model="openai/gpt-4o", messages=USER)
    assert len(emu.requests) == 1
    with pytest.raises(llmplex.ServiceUnavailableError):
        api.chat(model="openai/gpt-4o", messages=USER, max_retries=4)
    assert len(emu.requests) == 1 + 5
    api.close()
