"""Cache keys and backends: tenant isolation (F1), damaged stores are misses (F3), a dead or
hanging Redis is bypassed, not waited on (F4)."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmplex._http import HttpRequest
from llmplex.cache import CachedResponse, MemoryCache, RedisCache, SQLiteCache, cache_key, identity_hash
from llmplex.cache._entry import decode_entry, encode_entry

BASE = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}


def _request(body: dict[str, Any], url: str = "https://api.openai.com/v1/chat/completions",
             stream: Any = None) -> HttpRequest:
    return HttpRequest("POST", url, {"authorization": "Bearer x"}, json.dumps(body).encode(), stream)


def _key(body: dict[str, Any], secret: str = "sk-tenant-a", provider: str = "openai", **kwargs: Any) -> str:
    return cache_key(provider, _request(body, **kwargs), identity_hash([secret], "https://api.openai.com/v1"))


def test_the_same_request_in_any_order_is_one_key() -> None:
    reordered = {"temperature": 0.2, "messages": BASE["messages"], "model": "gpt-4o"}
    assert _key(BASE) == _key(reordered)
    assert len(_key(BASE)) == 64 and "tenant" not in _key(BASE)


_CHANGES = st.sampled_from([
    ("model", "gpt-4o-mini"), ("temperature", 0.3), ("seed", 7), ("tools", [{"type": "function",
     "function": {"name": "f", "parameters": {}}}]), ("response_format", {"type": "json_object"}),
    ("messages", [{"role": "user", "content": "hi!"}]), ("top_p", 0.9), ("max_tokens", 10),
])


@settings(max_examples=300, deadline=None)
@given(_CHANGES, st.sampled_from(["body", "secret", "provider", "url", "stream"]))
def test_anything_that_could_change_the_answer_changes_the_key(change: tuple[str, Any], where: str) -> None:
    """F1: tenants, providers, models and every parameter give distinct keys."""
    field, value = change
    if where == "body":
        assert _key(BASE) != _key({**BASE, field: value})
    elif where == "secret":
        assert _key(BASE) != _key(BASE, secret="sk-tenant-b")
    elif where == "provider":
        assert _key(BASE) != _key(BASE, provider="azure")
    elif where == "url":
        assert _key(BASE) != _key(BASE, url="https://example.com/v1/chat/completions")
    else:
        assert _key(BASE) != _key(BASE, stream="sse")


def test_entries_are_checksummed() -> None:
    entry = CachedResponse("application/json", b'{"id": "x"}', expires_at=None)
    raw = encode_entry(entry)
    assert decode_entry(raw) == entry
    for damaged in (raw[:-1], raw[:20], b"junk", raw[:-2] + b"xx", b""):
        assert decode_entry(damaged) is None


def test_memory_lru_is_bounded() -> None:
    cache = MemoryCache(max_entries=3, max_bytes=100)
    for i in range(5):
        cache.set(f"k{i}", CachedResponse("application/json", b"x" * 10))
    assert len(cache) == 3 and cache.get("k0") is None and cache.get("k4") is not None
    cache.set("big", CachedResponse("application/json", b"x" * 95))
    assert len(cache) == 1
    cache.set("expired", CachedResponse("application/json", b"{}", expires_at=1.0))
    assert cache.get("expired") is None
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


def test_sqlite_survives_a_corrupt_file_and_damaged_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(os.urandom(4096))  # not a database
    cache = SQLiteCache(path)
    assert any("not a usable SQLite file" in r.getMessage() for r in caplog.records)
    assert list(tmp_path.glob("cache.db.corrupt-*"))
    cache.set("k", CachedResponse("application/json", b'{"ok": 1}'))
    assert cache.get("k") is not None
    cache._connection().execute("UPDATE llmplex_cache SET value = ?", (b"LLMPLEXC1" + b"0" * 40,))
    assert cache.get("k") is None and cache.stats.errors == 1


def _writer(path: str, worker: int, rounds: int) -> None:
    cache = SQLiteCache(path)
    body = json.dumps({"worker": worker, "pad": "x" * 50_000}).encode()
    for _ in range(rounds):
        cache.set("one-key", CachedResponse("application/json", body))
        got = cache.get("one-key")
        assert got is not None and json.loads(got.body)["pad"] == "x" * 50_000  # never a torn read


def test_eight_processes_writing_one_key_never_tear(tmp_path: Path) -> None:
    """F3: 8 processes x 25 writes and reads of one 50 KB entry: every read is a whole entry."""
    path = str(tmp_path / "shared.db")
    SQLiteCache(path)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(path, i, 25)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 8
    final = SQLiteCache(path).get("one-key")
    assert final is not None and json.loads(final.body)["worker"] in range(8)


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A listener that accepts and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_redis_costs_one_timeout_then_is_bypassed(blackhole: str) -> None:
    """F4: the first call waits at most the timeout; the next ones skip Redis during the cool-down."""
    now = [0.0]
    cache = RedisCache(blackhole, timeout=0.1, cooldown=5.0, clock=lambda: now[0])
    assert cache.get("k") is None
    assert cache.stats.errors == 1
    for _ in range(50):
        assert cache.get("k") is None
        cache.set("k", CachedResponse("application/json", b"{}"))
    assert cache.stats.bypassed == 100 and cache.stats.errors == 1
    now[0] = 6.0  # cool-down over: tried again (and fails again, once)
    assert cache.get("k") is None and cache.stats.errors == 2


def test_a_dead_redis_is_a_miss_not_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    cache = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    assert cache.get("k") is None
    cache.set("k", CachedResponse("application/json", b"{}"))
    assert cache.stats.errors == 1 and cache.stats.bypassed == 1


def _with_headers(headers: dict[str, str]) -> str:
    req = HttpRequest("POST", "https://api.openai.com/v1/chat/completions", headers, json.dumps(BASE).encode())
    return cache_key("openai", req, identity_hash([], "https://api.openai.com/v1"))


def _sigv4(key_id: str, date: str, signature: str, region: str = "us-east-1") -> str:
    return (f"AWS4-HMAC-SHA256 Credential={key_id}/{date[:8]}/{region}/bedrock/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={signature}")


def test_headers_that_change_per_attempt_do_not_change_the_key() -> None:
    base = {"authorization": "Bearer sk-a", "Idempotency-Key": "llmplex-1", "x-llmplex-retry-count": "0",
            "User-Agent": "llmplex/0.1"}
    same = {"authorization": "Bearer sk-a", "Idempotency-Key": "llmplex-2", "x-llmplex-retry-count": "2",
            "User-Agent": "llmplex/0.2"}
    assert _with_headers(base) == _with_headers(same)
    signed = {"authorization": _sigv4("AKIDEXAMPLE", "20260101T000000Z", "ab" * 32), "x-amz-date": "20260101T000000Z"}
    resigned = {"authorization": _sigv4("AKIDEXAMPLE", "20260102T101010Z", "cd" * 32),
                "x-amz-date": "20260102T101010Z"}
    assert _with_headers(signed) == _with_headers(resigned)  # Bedrock re-signs every request


@pytest.mark.parametrize(("one", "other"), [
    ({"authorization": "Bearer sk-a"}, {"authorization": "Bearer sk-b"}),
    ({"x-api-key": "sk-ant-a"}, {"x-api-key": "sk-ant-b"}),
    ({"anthropic-version": "2023-06-01"}, {"anthropic-version": "2024-01-01"}),
    ({"anthropic-beta": "a"}, {"anthropic-beta": "b"}),
    ({"OpenAI-Project": "p1"}, {"OpenAI-Project": "p2"}),
    ({"authorization": _sigv4("AKIDONE", "20260101T000000Z", "ab" * 32)},
     {"authorization": _sigv4("AKIDTWO", "20260101T000000Z", "ab" * 32)}),
    ({"authorization": _sigv4("AKIDONE", "20260101T000000Z", "ab" * 32)},
     {"authorization": _sigv4("AKIDONE", "20260101T000000Z", "ab" * 32, region="eu-west-1")}),
])
def test_headers_that_name_the_tenant_or_change_the_answer_change_the_key(one: dict[str, str],
                                                                          other: dict[str, str]) -> None:
    assert _with_headers(one) != _with_headers(other)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=8, max_size=40), st.text(min_size=8, max_size=40))
def test_no_two_tenants_share_a_key_and_no_key_shows_a_secret(secret_a: str, secret_b: str) -> None:
    """F1 as a property: any two different credentials give different keys; a key is 64 hex digits."""
    a, b = _key(BASE, secret=secret_a), _key(BASE, secret=secret_b)
    assert (a == b) == (secret_a == secret_b)
    assert all(c in "0123456789abcdef" for c in a) and len(a) == 64


_PROVIDERS = ("openai", "azure", "groq", "together", "fireworks", "deepinfra")


def _variant(field: str, i: int, base: dict[str, Any]) -> str:
    """The key of ``base`` with value number ``i`` of one dimension."""
    if field == "secret":
        return _key(base, secret=f"sk-tenant-{i}")
    if field == "provider":
        return _key(base, provider=_PROVIDERS[i % len(_PROVIDERS)])
    if field == "stream":
        return _key(base, stream="sse" if i % 2 else None)
    value = {
        "model": f"model-{i}", "temperature": i / 1_000_000, "seed": i,
        "tools": [{"type": "function", "function": {"name": f"f{i}", "parameters": {}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": f"s{i}"}},
    }[field]
    return _key({**base, field: value})


def test_ten_thousand_request_pairs_that_differ_never_share_a_key() -> None:
    """F1 at the plan's scale: 10,000 pairs, each differing in one dimension (tenant, provider,
    model, temperature, tools, seed, response format, stream), give 0 shared keys."""
    import random

    rng = random.Random(6)
    fields = ("secret", "provider", "model", "temperature", "tools", "seed", "response_format", "stream")
    shared = 0
    for n in range(10_000):
        field = fields[n % len(fields)]
        a = rng.randrange(1_000_000)
        b = a + 1 if field in ("provider", "stream") else rng.choice((a + 1, a + 7, a * 3 + 1))
        base = {**BASE, "messages": [{"role": "user", "content": f"prompt {n}"}]}
        shared += _variant(field, a, base) == _variant(field, b, base)
    assert shared == 0


def test_a_hung_redis_never_stops_calls(emu: Any, blackhole: str) -> None:
    """F4 end to end: every call is served by the provider; Redis costs one timeout per cool-down."""
    import llmplex
    from llmplex.testing import Reply

    emu.set_default(Reply(text="ok"))
    backend = RedisCache(blackhole, timeout=0.1, cooldown=60.0)
    client = llmplex.Client(provider="openai", api_key="sk-test-key-123456", base_url=emu.base_url, cache=backend)
    for i in range(20):
        r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": str(i)}])
        assert r.choices[0].message.content == "ok"
    assert len(emu.requests) == 20
    assert backend.stats.errors == 1 and backend.stats.bypassed == 39  # 20 gets + 20 sets, the first timed out
