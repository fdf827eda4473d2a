"""pytest fixture ``llmplex_emulator``: a started `Emulator`, reset between tests.

Enable it in a ``conftest.py``::

    pytest_plugins = ["llmplex.testing.pytest_plugin"]

    def test_retry(llmplex_emulator):
        llmplex_emulator.enqueue(Reply.error(429, "slow down"), Reply("ok"))
        ...  # point the client at llmplex_emulator.base_url

One server is shared by the whole session (starting one costs about a millisecond, but sharing keeps
ports and threads constant); each test starts from an empty queue, the echo default, no api-key
requirement, no recorded requests, zeroed counters and no open connections.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._emulator import Emulator

__all__ = ["llmplex_emulator"]


@pytest.fixture(scope="session")
def _llmplex_emulator_session() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def llmplex_emulator(_llmplex_emulator_session: Emulator) -> Iterator[Emulator]:
    """A running `Emulator` with a clean script, log and connection set for this test."""
    emulator = _llmplex_emulator_session
    emulator.reset(close_connections=True)
    yield emulator
    emulator.reset(close_connections=True)
