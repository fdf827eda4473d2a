"""Rate limiter (RELIABILITY.md E1, E2): GCRA per deployment, in memory on a fake clock."""

from __future__ import annotations

import heapq
import time

import pytest

from llmplex import RateLimitError
from llmplex.resilience.guard import Deployment, Outcome
from llmplex.resilience.limiter import LimiterConfig, RateHint, parse_rate_headers
from llmplex.resilience.policy import PolicyGuard
from llmplex.resilience.state import MemoryState

from .conftest import FakeClock, admitted_at_once

DEP = Deployment("groq", "llama-3.3-70b-versatile", "groq/llama@test")


def limited(clock: FakeClock, **limits: float | bool) -> PolicyGuard:
    return PolicyGuard(MemoryState(clock), None, {"groq": LimiterConfig(**limits)})  # type: ignore[arg-type]


def simulate(guard: PolicyGuard, clock: FakeClock, callers: int, horizon: float) -> list[float]:
    """Every caller asks again as soon as it is admitted or told to retry; returns the times at
    which requests were let go (admission time plus any wait the limiter asked for)."""
    queue = [(clock.now, i) for i in range(callers)]
    start = clock.now
    sent: list[float] = []
    for _ in range(1_000_000):
        if not queue:
            break
        at, caller = heapq.heappop(queue)
        if at - start > horizon:
            break
        clock.now = at
        try:
            wait = guard.admit(DEP)
        except RateLimitError as exc:
            assert exc.retry_after is not None and exc.retry_after > 0
            heapq.heappush(queue, (at + exc.retry_after, caller))
            continue
        if at + wait - start <= horizon:
            sent.append(at + wait - start)
        heapq.heappush(queue, (at + wait, caller))
    return sorted(sent)


def max_burst(sent: list[float], window: float) -> int:
    """The most requests let go within any window shorter than one interval."""
    best, lo = 0, 0
    for hi, t in enumerate(sent):
        while t - sent[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@pytest.mark.parametrize("wait", [False, True], ids=["raising", "waiting"])
def test_60_rpm_burst_10_with_500_callers_over_120_s(clock: FakeClock, wait: bool) -> None:
    """E1: admitted <= 130 (10 at once, then one a second), max burst <= 10."""
    guard = limited(clock, rpm=60, burst=10, wait=wait, max_wait=60)
    sent = simulate(guard, clock, callers=500, horizon=120.0)
    assert 120 <= len(sent) <= 130
    assert max_burst(sent, window=0.999) <= 10


def test_500_threads_at_one_instant_get_exactly_the_burst(clock: FakeClock) -> None:
    guard = limited(clock, rpm=60, burst=10, wait=False)
    assert admitted_at_once(guard, DEP, 500) == 10


def test_raising_limiter_says_when_to_retry(clock: FakeClock) -> None:
    guard = limited(clock, rpm=60, burst=2, wait=False)
    guard.admit(DEP)
    guard.admit(DEP)
    with pytest.raises(RateLimitError) as caught:
        guard.admit(DEP)
    err = caught.value
    assert err.retry_after == pytest.approx(1.0)
    assert err.code == "client_rate_limit" and err.should_retry is False
    clock.advance(1.0)
    assert guard.admit(DEP) == 0.0


def test_waiting_limiter_returns_the_delay_and_refuses_beyond_max_wait(clock: FakeClock) -> None:
    guard = limited(clock, rpm=60, burst=1, wait=True, max_wait=2.5)
    assert guard.admit(DEP) == 0.0
    assert guard.admit(DEP) == pytest.approx(1.0)
    assert guard.admit(DEP) == pytest.approx(2.0)
    with pytest.raises(RateLimitError) as caught:
        guard.admit(DEP)
    assert caught.value.retry_after == pytest.approx(3.0)


def test_wall_clock_jumps_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """E2: the default clock is monotonic; time.time() jumping an hour either way changes no
    admission."""
    state = MemoryState()
    assert state.clock is time.monotonic
    guard = PolicyGuard(state, None, {"groq": LimiterConfig(rpm=1, burst=3, wait=False)})
    decisions = []
    real_time = time.time
    for shift in (0.0, 3600.0, -3600.0, 0.0):
        monkeypatch.setattr(time, "time", lambda shift=shift: real_time() + shift)
        try:
            guard.admit(DEP)
            decisions.append(True)
        except RateLimitError as exc:
            assert exc.retry_after is not None and 55 < exc.retry_after <= 60
            decisions.append(False)
    assert decisions == [True, True, True, False]


def test_tokens_are_charged_by_estimate_and_corrected_by_usage(clock: FakeClock) -> None:
    guard = limited(clock, tpm=600, token_burst=600, wait=False)
    guard.admit(DEP, estimated_tokens=500)
    with pytest.raises(RateLimitError):
        guard.admit(DEP, estimated_tokens=500)
    # the reply used 100 tokens, not 500: the 400 come back
    guard.record(DEP, Outcome("success", prompt_tokens=60, completion_tokens=40, estimated_tokens=500))
    assert guard.admit(DEP, estimated_tokens=500) == 0.0


def test_usage_above_the_estimate_is_charged(clock: FakeClock) -> None:
    guard = limited(clock, tpm=600, token_burst=600, wait=False)
    guard.admit(DEP, estimated_tokens=100)
    guard.record(DEP, Outcome("success", prompt_tokens=100, completion_tokens=400, estimated_tokens=100))
    with pytest.raises(RateLimitError) as caught:
        guard.admit(DEP, estimated_tokens=200)
    assert caught.value.retry_after == pytest.approx(10.0)  # 100 tokens short at 10 tokens/s


def test_a_request_bigger_than_the_bucket_waits_for_a_full_bucket(clock: FakeClock) -> None:
    guard = limited(clock, tpm=600, token_burst=100, wait=False)
    assert guard.admit(DEP, estimated_tokens=10_000) == 0.0
    with pytest.raises(RateLimitError):
        guard.admit(DEP, estimated_tokens=1)


def test_provider_headers_make_the_limiter_stricter(clock: FakeClock) -> None:
    guard = limited(clock, rpm=600, burst=100, wait=False)
    guard.admit(DEP)
    guard.record(DEP, Outcome("failure", status=429, headers={
        "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s",
    }))
    with pytest.raises(RateLimitError) as caught:
        guard.admit(DEP)
    assert caught.value.retry_after == pytest.approx(20.0)
    clock.advance(20)
    assert guard.admit(DEP) == 0.0


def test_remaining_requests_cap_the_burst(clock: FakeClock) -> None:
    guard = limited(clock, rpm=600, burst=100, wait=False)
    guard.record(DEP, Outcome("success", headers={"x-ratelimit-remaining-requests": "3"}))
    for _ in range(3):
        guard.admit(DEP)
    with pytest.raises(RateLimitError):
        guard.admit(DEP)


def test_generous_headers_never_loosen_the_limit(clock: FakeClock) -> None:
    guard = limited(clock, rpm=60, burst=1, wait=False)
    guard.admit(DEP)
    guard.record(DEP, Outcome("success", headers={"x-ratelimit-remaining-requests": "9999"}))
    with pytest.raises(RateLimitError):
        guard.admit(DEP)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s",
          "x-ratelimit-remaining-tokens": "1000", "x-ratelimit-reset-tokens": "6m0s"}, RateHint(59, 1.0, 1000, 360.0)),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"}, RateHint(0, 0.02)),
        ({"x-ratelimit-remaining-tokens": "12", "x-ratelimit-reset-tokens": "1.5"}, RateHint(None, None, 12, 1.5)),
        ({"anthropic-ratelimit-requests-remaining": "4",
          "anthropic-ratelimit-requests-reset": "1970-01-01T00:01:40Z",
          "anthropic-ratelimit-tokens-remaining": "800",
          "anthropic-ratelimit-tokens-reset": "1970-01-01T00:00:30+00:00"}, RateHint(4, 40.0, 800, 0.0)),
        ({"x-ratelimit-remaining-requests": "lots", "x-ratelimit-reset-requests": "soon"}, RateHint()),
        ({"x-ratelimit-remaining-requests": "-3", "x-ratelimit-reset-requests": "inf"}, RateHint()),
        ({"anthropic-ratelimit-requests-reset": "yesterday"}, RateHint()),
        ({}, RateHint()),
    ],
)
def test_rate_headers_are_parsed_or_ignored(headers: dict[str, str], expected: RateHint) -> None:
    assert parse_rate_headers(headers, wall_now=60.0) == expected


def test_limiter_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rpm"):
        LimiterConfig(rpm=0)
    with pytest.raises(ValueError, match="max_wait"):
        LimiterConfig(rpm=1, max_wait=-1)
