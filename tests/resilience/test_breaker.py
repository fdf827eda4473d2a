"""Circuit breaker (RELIABILITY.md D1-D4) on the in-process state with a fake clock."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from llmplex import CircuitOpenError
from llmplex.resilience import breaker
from llmplex.resilience.breaker import BreakerConfig, BreakerState
from llmplex.resilience.guard import Deployment, Outcome
from llmplex.resilience.policy import PolicyGuard
from llmplex.resilience.state import MemoryState

from .conftest import FakeClock, admitted_at_once

DEP = Deployment("openai", "gpt-4o", "openai/gpt-4o@test")
LEGAL = {("closed", "open"), ("open", "half_open"), ("half_open", "open"), ("half_open", "closed")}


def guard_with(clock: FakeClock, **cfg: Any) -> PolicyGuard:
    return PolicyGuard(MemoryState(clock), BreakerConfig(**cfg))


def state_of(guard: PolicyGuard) -> str:
    assert guard.breaker is not None
    return guard.state.breakers([f"cb:{DEP.id}"], guard.breaker)[0].state


def check(s: BreakerState, cfg: BreakerConfig, before: str) -> None:
    """The invariants every transition keeps."""
    assert s.state in ("closed", "open", "half_open")
    if before != s.state:
        assert (before, s.state) in LEGAL, (before, s.state)
    assert 0 <= s.failed <= s.calls and 0 <= s.prev_failed <= s.prev_calls
    assert 0 <= s.probes <= cfg.probes
    if s.state == "closed":
        assert s.consecutive < cfg.failures and s.probes == 0


CFG = BreakerConfig(failures=5, failure_rate=0.5, min_calls=20, window=60, open_for=30, probes=2, probe_timeout=10)


class BreakerMachine(RuleBasedStateMachine):
    """D1: random outcomes, admissions and clock moves keep the breaker legal."""

    def __init__(self) -> None:
        super().__init__()
        self.s = BreakerState()
        self.now = 0.0

    @rule(kind=st.sampled_from(["success", "failure", "ignored", "cancelled"]))
    def outcome(self, kind: str) -> None:
        before = self.s.state
        breaker.record(self.s, kind, self.now, CFG)
        check(self.s, CFG, before)

    @rule()
    def admit(self) -> None:
        before = self.s.state
        opened_at = self.s.opened_at
        wait = breaker.admit(self.s, self.now, CFG)
        check(self.s, CFG, before if before != "open" or self.s.state == "open" else "open")
        if before == "open" and self.now < opened_at + CFG.open_for:
            assert wait is not None and wait > 0  # never admitted while the timer runs
        if before == "closed":
            assert wait is None

    @rule(seconds=st.floats(min_value=0, max_value=90))
    def advance(self, seconds: float) -> None:
        self.now += seconds


TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)


def test_ten_thousand_random_sequences_keep_every_invariant() -> None:
    """D1 figure: 0 violations over 10,000 sequences of 40 steps."""
    rng = random.Random(5)
    kinds = ["success", "failure", "failure", "ignored", "cancelled"]
    for _ in range(10_000):
        s, now = BreakerState(), 0.0
        for _ in range(40):
            before = s.state
            roll = rng.random()
            if roll < 0.55:
                breaker.record(s, rng.choice(kinds), now, CFG)
            elif roll < 0.85:
                breaker.admit(s, now, CFG)
            else:
                now += rng.choice([0.5, 5.0, 11.0, 31.0, 61.0])
            check(s, CFG, before)


def test_five_consecutive_failures_open_and_calls_fail_fast(clock: FakeClock) -> None:
    """D2: the fifth consecutive failure opens the circuit; admissions then raise at once."""
    guard = guard_with(clock)
    for _ in range(4):
        assert guard.admit(DEP) == 0.0
        guard.record(DEP, Outcome("failure", status=503))
    assert state_of(guard) == "closed"
    guard.admit(DEP)
    guard.record(DEP, Outcome("failure", status=503))
    assert state_of(guard) == "open"
    with pytest.raises(CircuitOpenError) as caught:
        guard.admit(DEP)
    assert caught.value.retry_after == pytest.approx(30.0)
    assert caught.value.provider == "openai" and caught.value.model == "gpt-4o"


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    guard = guard_with(clock)
    for kind in ["failure"] * 4 + ["success"] + ["failure"] * 4:
        guard.admit(DEP)
        guard.record(DEP, Outcome(kind))
    assert state_of(guard) == "closed"


def test_half_the_calls_failing_over_twenty_opens(clock: FakeClock) -> None:
    """D2: alternating success/failure never makes 5 in a row, but 50 % of >= 20 calls opens."""
    guard = guard_with(clock)
    states = []
    for i in range(20):
        guard.admit(DEP)
        guard.record(DEP, Outcome("failure" if i % 2 else "success"))
        clock.advance(0.5)
        states.append(state_of(guard))
    assert states[:19] == ["closed"] * 19
    assert states[19] == "open"


def test_failure_rate_forgets_old_windows(clock: FakeClock) -> None:
    """Failures two windows ago no longer count towards the rate."""
    guard = guard_with(clock, failures=100)
    for i in range(18):
        guard.record(DEP, Outcome("failure" if i % 2 else "success"))
    clock.advance(121)
    for _ in range(3):
        guard.record(DEP, Outcome("failure"))
    assert state_of(guard) == "closed"


def test_open_circuit_rejects_in_under_a_millisecond() -> None:
    """D2 figure: rejection p99 < 1 ms (loose bound on wall time; measured in memory)."""
    guard = PolicyGuard(MemoryState(), BreakerConfig(failures=1, open_for=600))
    guard.record(DEP, Outcome("failure"))
    samples = []
    for _ in range(2000):
        start = time.perf_counter()
        with pytest.raises(CircuitOpenError):
            guard.admit(DEP)
        samples.append(time.perf_counter() - start)
    p99 = statistics.quantiles(samples, n=100)[98]
    assert p99 < 0.001, p99


def test_after_open_for_exactly_one_of_100_concurrent_callers_probes(clock: FakeClock) -> None:
    """D3: 100 threads arrive together when the timer expires; one is admitted."""
    guard = guard_with(clock, failures=1, open_for=30)
    guard.record(DEP, Outcome("failure"))
    clock.advance(30)
    assert admitted_at_once(guard, DEP, 100) == 1
    assert state_of(guard) == "half_open"


def test_a_hung_probe_gives_its_slot_away_after_the_probe_timeout(clock: FakeClock) -> None:
    """D3: the probe never answers; after probe_timeout the next caller probes, and its success
    closes the circuit (never stuck half-open)."""
    guard = guard_with(clock, failures=1, open_for=30, probe_timeout=20)
    guard.record(DEP, Outcome("failure"))
    clock.advance(30)
    guard.admit(DEP)  # the probe that hangs
    clock.advance(19.9)
    with pytest.raises(CircuitOpenError) as caught:
        guard.admit(DEP)
    assert caught.value.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    assert guard.admit(DEP) == 0.0
    guard.record(DEP, Outcome("success"))
    assert state_of(guard) == "closed"


def test_a_failed_probe_reopens_for_another_period(clock: FakeClock) -> None:
    guard = guard_with(clock, failures=1, open_for=30)
    guard.record(DEP, Outcome("failure"))
    clock.advance(30)
    guard.admit(DEP)
    guard.record(DEP, Outcome("failure"))
    assert state_of(guard) == "open"
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        guard.admit(DEP)


def test_client_errors_and_cancellations_never_count(clock: FakeClock) -> None:
    """D4: 1,000 x 400/401/404/422 and 1,000 cancellations leave the circuit closed."""
    guard = guard_with(clock)
    for i in range(1000):
        guard.admit(DEP)
        guard.record(DEP, Outcome("ignored", status=(400, 401, 404, 422)[i % 4]))
        guard.admit(DEP)
        guard.record(DEP, Outcome("cancelled"))
    assert state_of(guard) == "closed"
    assert guard.admit(DEP) == 0.0


def test_cancelled_probe_frees_its_slot(clock: FakeClock) -> None:
    guard = guard_with(clock, failures=1, open_for=30)
    guard.record(DEP, Outcome("failure"))
    clock.advance(30)
    guard.admit(DEP)
    guard.record(DEP, Outcome("cancelled"))
    assert guard.admit(DEP) == 0.0


def test_breaker_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        BreakerConfig(failure_rate=1.5)
    with pytest.raises(ValueError, match=">= 1"):
        BreakerConfig(probes=0)
