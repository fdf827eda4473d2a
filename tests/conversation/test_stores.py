"""Stores round-trip a conversation exactly and lose nothing under concurrent appends from
several processes (SQLite file in WAL mode; a real PostgreSQL started by ./dev test)."""

from __future__ import annotations

import base64
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmplex import ConfigurationError
from llmplex.conversation import ConversationStore, Entry, MemoryStore, PostgresStore, SQLiteStore, open_store
from tests.conversation._appender import append_many

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode()

THREAD = [
    Entry({"role": "system", "content": "Be brief. ünïcödé ✓ \u2028"}),
    Entry({"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                       {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}]}),
    Entry({"role": "assistant", "content": None, "reasoning_content": "Look at the picture.",
           "thinking_blocks": [{"type": "thinking", "thinking": "Look at the picture.", "signature": "EqQBCkYI"}],
           "tool_calls": [{"id": "toolu_01", "type": "function",
                           "function": {"name": "describe", "arguments": "{\"detail\": 1.5e-7, \"n\": null}"}}]},
          "anthropic", "claude-sonnet-4-5"),
    Entry({"role": "tool", "tool_call_id": "toolu_01", "content": "a tiny PNG"}),
    Entry({"role": "assistant", "content": "A tiny PNG.",
           "thought_signatures": [{"signature": "c2lnbmF0dXJl", "tool_call_id": "x"}], "citations": [{"n": 1}]},
          "gemini", "gemini-2.5-flash"),
]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    if request.param == "memory":
        made: ConversationStore = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "chats.db")
    else:
        made = PostgresStore(request.getfixturevalue("postgres_dsn"), table=request.getfixturevalue("pg_table"))
    yield made
    made.close()


def test_a_conversation_round_trips_exactly(store: ConversationStore) -> None:
    store.append("t1", THREAD[:2])
    store.append("t1", THREAD[2:])
    store.append("t2", [Entry({"role": "user", "content": "other thread"})])
    assert store.load("t1") == THREAD
    store.close()  # a new connection reads the same
    assert store.load("t1") == THREAD
    assert [e.to_json() for e in store.load("t1")] == [e.to_json() for e in THREAD]
    assert store.conversation_ids() == ["t1", "t2"]
    assert store.load("unknown") == []


def test_replace_and_delete(store: ConversationStore) -> None:
    store.append("t1", THREAD)
    store.replace("t1", THREAD[3:])
    assert store.load("t1") == THREAD[3:]
    store.delete("t1")
    assert store.load("t1") == [] and store.conversation_ids() == []


def test_loaded_messages_are_copies(store: ConversationStore) -> None:
    store.append("t1", THREAD[:1])
    store.load("t1")[0].message["content"] = "changed"
    assert store.load("t1") == THREAD[:1]


def _race(kind: str, target: str, table: str, store: ConversationStore) -> None:
    workers, count = 4, 50
    ctx = multiprocessing.get_context("spawn")  # no fork of a process running the emulator's threads
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=append_many, args=(kind, target, table, w, count, barrier)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * workers
    contents = [e.message["content"] for e in store.load("shared")]
    assert len(contents) == workers * count
    assert len(set(contents)) == workers * count  # each exactly once
    for w in range(workers):  # each process's appends in its own order
        assert [c for c in contents if c.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(count)]


def test_concurrent_appends_from_processes_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SQLiteStore(path) as store:
        _race("sqlite", str(path), "llmplex_messages", store)
        assert store.path == path and "shared.db" in repr(store)


def test_concurrent_appends_from_processes_postgres(postgres_dsn: str, pg_table: str) -> None:
    with PostgresStore(postgres_dsn, table=pg_table) as store:
        _race("postgres", postgres_dsn, pg_table, store)
        assert postgres_dsn not in repr(store)


def test_open_store_and_table_names(tmp_path: Path) -> None:
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store(tmp_path / "a.db"), SQLiteStore)
    assert isinstance(open_store("postgresql://u@127.0.0.1:1/db"), PostgresStore)
    mine = MemoryStore()
    assert open_store(mine) is mine
    with pytest.raises(ConfigurationError, match="plain SQL identifier"):
        SQLiteStore(tmp_path / "a.db", table="x; DROP TABLE y")
