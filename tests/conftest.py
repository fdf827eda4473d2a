"""Shared fixtures: the emulator over loopback, and one API driven sync or async."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

import llmplex
from llmplex.testing import Emulator


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(emulator_session: Emulator) -> Iterator[Emulator]:
    emulator_session.reset(close_connections=True)
    yield emulator_session
    emulator_session.reset(close_connections=True)


class Api:
    """The same calls through ``Client`` (sync) or ``AsyncClient`` (async), so one test body
    checks both twins."""

    def __init__(self, mode: str, **client_kwargs: Any) -> None:
        self.mode = mode
        self.loop = asyncio.new_event_loop() if mode == "async" else None
        self.client: Any = (llmplex.AsyncClient if mode == "async" else llmplex.Client)(**client_kwargs)

    def run(self, value: Any) -> Any:
        return self.loop.run_until_complete(value) if self.loop else value

    def chat(self, **kwargs: Any) -> Any:
        return self.run(self.client.chat.completions.create(**kwargs))

    def complete(self, **kwargs: Any) -> Any:
        return self.run(self.client.completions.create(**kwargs))

    def embed(self, **kwargs: Any) -> Any:
        return self.run(self.client.embeddings.create(**kwargs))

    def stream(self, **kwargs: Any) -> tuple[list[Any], Any]:
        """All chunks and the final accumulated response."""
        if self.loop is None:
            with self.client.chat.completions.create(stream=True, **kwargs) as s:
                chunks = list(s)
                return chunks, s.get_final_completion()

        async def go() -> tuple[list[Any], Any]:
            s = await self.client.chat.completions.create(stream=True, **kwargs)
            async with s:
                chunks = [c async for c in s]
                return chunks, await s.get_final_completion()

        return self.run(go())

    def run_tools(self, **kwargs: Any) -> Any:
        return self.run(self.client.chat.completions.run_tools(**kwargs))

    def run_tools_events(self, **kwargs: Any) -> list[Any]:
        """Every event of ``run_tools_stream``."""
        events = self.client.chat.completions.run_tools_stream(**kwargs)
        if self.loop is None:
            return list(events)

        async def go() -> list[Any]:
            return [event async for event in events]

        return self.run(go())

    def stream_until_error(self, **kwargs: Any) -> tuple[list[Any], BaseException | None]:
        """Chunks delivered before the stream raised, and what it raised."""
        got: list[Any] = []
        if self.loop is None:
            try:
                for chunk in self.client.chat.completions.create(stream=True, **kwargs):
                    got.append(chunk)
            except Exception as exc:
                return got, exc
            return got, None

        async def go() -> tuple[list[Any], BaseException | None]:
            try:
                s = await self.client.chat.completions.create(stream=True, **kwargs)
                async for chunk in s:
                    got.append(chunk)
            except Exception as exc:
                return got, exc
            return got, None

        return self.run(go())

    def close(self) -> None:
        self.run(self.client.close())
        if self.loop is not None:
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


NO_BREAKER = {"breaker": False}
"""For tests that script many failures in a row on one client to check what each call does: the
circuit breaker (on by default) would turn the later ones into CircuitOpenError. The breaker has
its own tests (tests/resilience, tests/reliability/test_policies_e2e.py)."""


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    a = Api(mode, provider="openai", api_key="sk-test-key-123456", base_url=emu.base_url, router=NO_BREAKER)
    yield a
    a.close()


def required_service(variable: str, what: str, example: str) -> str:
    """The URL of a real service ``./dev test`` started (PostgreSQL, Redis), or a failure that says
    how to get one."""
    value = os.environ.get(variable)
    if not value:
        pytest.fail(
            f"{variable} is not set: these tests need a real {what}. Run them with ./dev test (it starts a "
            f"throwaway one on loopback), or set {variable}={example}",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def redis_url() -> str:
    return required_service("LLMPLEX_TEST_REDIS_URL", "Redis", "redis://127.0.0.1:PORT/0")
