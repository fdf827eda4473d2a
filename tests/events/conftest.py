"""Fixtures for the observability tests: a subscriber that collects every event of the process bus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llmplex import events


class Collected:
    """Events of the process-wide bus, in order (``types``: what to subscribe to; all but chunks)."""

    def __init__(self, *types: type[events.Event]) -> None:
        self.items: list[Any] = []
        self.sub = events.subscribe(self.items.append, *types)

    def names(self) -> list[str]:
        assert events.flush(5.0)
        return [type(e).__name__ for e in self.items]

    def of(self, cls: type[Any]) -> list[Any]:
        assert events.flush(5.0)
        return [e for e in self.items if isinstance(e, cls)]

    def close(self) -> None:
        events.unsubscribe(self.sub)


@pytest.fixture
def collected() -> Iterator[Collected]:
    c = Collected()
    yield c
    c.close()
