"""Helpers for the RELIABILITY.md row tests: a guard that records what the drivers tell it, and
a fixture shortening the retry backoff where a fault carries no ``retry-after``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from llmplex.errors import CircuitOpenError
from llmplex.resilience import retry
from llmplex.resilience.guard import Deployment, Outcome


class RecordingGuard:
    """Admits everything (or refuses the deployments in `open_circuits`) and keeps every outcome."""

    def __init__(self, open_circuits: frozenset[str] = frozenset()) -> None:
        self.open_circuits = open_circuits
        self.admitted: list[Deployment] = []
        self.outcomes: list[tuple[Deployment, Outcome]] = []
        self._lock = threading.Lock()

    def admit(self, deployment: Deployment, *, estimated_tokens: int = 0) -> float:
        if deployment.provider in self.open_circuits:
            raise CircuitOpenError(f"circuit open for {deployment.id}")
        with self._lock:
            self.admitted.append(deployment)
        return 0.0

    def record(self, deployment: Deployment, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append((deployment, outcome))

    def kinds(self) -> list[str]:
        return [o.kind for _, o in self.outcomes]


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Backoff of about a millisecond, for faults without ``retry-after`` (resets, truncations)."""
    monkeypatch.setattr(retry, "INITIAL_BACKOFF", 0.001)
    yield
