"""The persistent backends in real calls: a SQLite file shared by separate processes (F3) and a
real ``redis-server`` shared by clients as separate machines would (``./dev test`` starts it),
with the TTL passed to Redis, and a dead Redis bypassed (F4) while calls go on."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmplex
from llmplex.cache import RedisCache, SQLiteCache
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

KEY = "sk-test-key-123456"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]

_CHILD = """
import json, sys
import llmplex
url, path, key = sys.argv[1:4]
client = llmplex.Client(provider="openai", api_key=key, base_url=url, cache=path)
question = [{"role": "user", "content": "What is the capital of France?"}]
r = client.chat.completions.create(model="gpt-4o", messages=question)
print(json.dumps({"content": r.choices[0].message.content, "cached": r.cached}))
"""


def _in_another_process(emu: Emulator, path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _CHILD, emu.base_url, str(path), KEY], capture_output=True,
                          text=True, timeout=60, check=True)
    return dict(json.loads(done.stdout))


def test_a_sqlite_cache_file_answers_other_processes(mode: str, emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    emu.enqueue(Reply(text="Paris."))
    assert _in_another_process(emu, path) == {"content": "Paris.", "cached": False}
    assert _in_another_process(emu, path) == {"content": "Paris.", "cached": True}
    api = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url, cache=str(path))
    try:
        streamed_first = api.stream(model="gpt-4o", messages=MESSAGES)  # a stream is its own request
        hit = api.chat(model="gpt-4o", messages=MESSAGES)
        assert hit.cached and hit.choices[0].message.content == "Paris."
    finally:
        api.close()
    assert not streamed_first[1].cached
    assert len(emu.requests) == 2
    assert KEY.encode() not in path.read_bytes()  # keys are digests; bodies are the provider's answers


def test_a_sqlite_cache_keeps_entries_across_clients(emu: Emulator, tmp_path: Path) -> None:
    emu.set_default(Reply(text="Paris."))
    path = tmp_path / "c.sqlite"
    first = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache=SQLiteCache(path))
    with first.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        chunks = [c.model_dump() for c in s]
    second = llmplex.Client(provider="openai", api_key=KEY, base_url=emu.base_url, cache=str(path))
    with second.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        assert s.cached and [c.model_dump() for c in s] == chunks
    assert len(emu.requests) == 1


def _wait_for_keys(server: Any, prefix: str, count: int) -> None:
    """Wait (at most 5 s) until Redis holds ``count`` keys under ``prefix``."""
    stored = threading.Event()
    for _ in range(500):
        if len(list(server.scan_iter(f"{prefix}*"))) >= count:
            stored.set()
            break
        stored.wait(0.01)
    assert stored.is_set(), f"the cache entry never reached Redis ({count} expected under {prefix})"


def test_redis_is_shared_by_clients_and_gets_the_ttl(mode: str, emu: Emulator, redis_url: str) -> None:
    import redis

    prefix = f"test-{uuid.uuid4().hex[:12]}:cache:"
    emu.set_default(Reply(text="Paris."))
    one = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url,
              cache=RedisCache(redis_url, prefix=prefix), cache_ttl=120)
    other = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url, cache=RedisCache(redis_url, prefix=prefix))
    server = redis.Redis.from_url(redis_url)
    try:
        assert not one.chat(model="gpt-4o", messages=MESSAGES).cached
        _wait_for_keys(server, prefix, 1)  # an async client writes behind its answer (its cache thread)
        assert other.chat(model="gpt-4o", messages=MESSAGES).cached
        _, final = other.stream(model="gpt-4o", messages=MESSAGES)
        assert not final.cached
        _wait_for_keys(server, prefix, 2)
        assert one.stream(model="gpt-4o", messages=MESSAGES)[1].cached
        assert len(emu.requests) == 2
        keys = list(server.scan_iter(f"{prefix}*"))
        assert len(keys) == 2 and all(KEY.encode() not in k and len(k) == len(prefix) + 64 for k in keys)
        ttls = sorted(server.pttl(k) for k in keys)
        assert ttls[0] == -1  # `other` has no TTL: kept until evicted
        assert 0 < ttls[1] <= 120_000
    finally:
        for k in server.scan_iter(f"{prefix}*"):
            server.delete(k)
        server.close()
        one.close()
        other.close()


def test_a_dead_redis_never_fails_a_call(mode: str, emu: Emulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    emu.set_default(Reply(text="Paris."))
    backend = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    api = Api(mode, provider="openai", api_key=KEY, base_url=emu.base_url, cache=backend)
    try:
        for _ in range(3):
            r = api.chat(model="gpt-4o", messages=MESSAGES)
            assert r.choices[0].message.content == "Paris." and not r.cached
    finally:
        api.close()
    assert len(emu.requests) == 3
    assert backend.stats.errors == 1 and backend.stats.bypassed == 5  # one timeout, then skipped


@pytest.mark.parametrize("spec", ["memory", "sqlite", "redis"])
def test_each_backend_spec_opens_the_right_backend(spec: str, tmp_path: Path) -> None:
    value = {"memory": "memory", "sqlite": str(tmp_path / "x.sqlite"), "redis": "redis://127.0.0.1:1/0"}[spec]
    client = llmplex.Client(cache={"backend": value, "ttl": 30})
    assert type(client.cache).__name__ == {"memory": "MemoryCache", "sqlite": "SQLiteCache",
                                           "redis": "RedisCache"}[spec]


class HeldRedis:
    """A fake Redis on loopback that answers every command at once except GET, which it holds
    until ``release`` is set (then answers "no such key"); ``arrived`` tells that a GET came in."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self.url = f"redis://127.0.0.1:{self._server.getsockname()[1]}/0"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        null = b"$-1\r\n"  # RESP2's null; RESP3 (after HELLO 3) has its own
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while (command := _resp_command(buffer)) is not None:
                    (name, *args), buffer = command
                    if name == b"HELLO":  # the handshake of newer redis-py: say which protocol we speak
                        proto = args[0] if args else b"2"
                        null = b"_\r\n" if proto == b"3" else null
                        conn.sendall(b"%1\r\n$5\r\nproto\r\n:" + proto + b"\r\n")
                    elif name == b"GET":
                        self.arrived.set()
                        self.release.wait(10)
                        conn.sendall(null)
                    else:
                        conn.sendall(b"+OK\r\n")

    def close(self) -> None:
        self.release.set()
        self._server.close()


def _resp_command(buffer: bytes) -> tuple[list[bytes], bytes] | None:
    """(the command's words, name upper-cased; the rest of the buffer) when ``buffer`` starts with
    a whole RESP array."""
    if not buffer.startswith(b"*") or b"\r\n" not in buffer:
        return None
    head, rest = buffer[1:].split(b"\r\n", 1)
    args = []
    for _ in range(int(head)):
        if b"\r\n" not in rest:
            return None
        size, rest = rest[1:].split(b"\r\n", 1)
        if len(rest) < int(size) + 2:
            return None
        args.append(rest[:int(size)])
        rest = rest[int(size) + 2:]
    return [args[0].upper(), *args[1:]], rest


@pytest.fixture
def held_redis() -> Iterator[HeldRedis]:
    server = HeldRedis()
    yield server
    server.close()


def test_an_async_client_never_waits_for_its_cache_on_the_event_loop(emu: Emulator, held_redis: HeldRedis) -> None:
    """While the cache's Redis read is pending, the event loop keeps running: here a task on the
    loop is what lets the fake Redis answer. Waiting for Redis on the loop would stall that task
    until the read timed out (5 s), and the read would count as an error."""
    emu.set_default(Reply(text="Paris."))
    backend = RedisCache(held_redis.url, timeout=5.0)

    async def go() -> Any:
        async def release_when_asked() -> None:
            await asyncio.to_thread(held_redis.arrived.wait, 10)
            held_redis.release.set()  # runs on the loop: only if the loop is free during the read

        releaser = asyncio.create_task(release_when_asked())
        async with llmplex.AsyncClient(provider="openai", api_key=KEY, base_url=emu.base_url, cache=backend) as client:
            answer = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        await releaser
        return answer

    answer = asyncio.run(go())
    assert answer.choices[0].message.content == "Paris." and not answer.cached
    assert backend.stats.errors == 0 and backend.stats.misses == 1  # answered, not timed out
