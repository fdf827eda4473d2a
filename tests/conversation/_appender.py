"""A worker process for the concurrency tests: appends ``count`` messages one call at a time."""

from __future__ import annotations

from typing import Any

from llmplex.conversation import Entry, PostgresStore, SQLiteStore


def append_many(kind: str, target: str, table: str, worker: int, count: int, barrier: Any) -> None:
    store = SQLiteStore(target, table=table) if kind == "sqlite" else PostgresStore(target, table=table)
    store.load("shared")  # connect (and create the table) before the race starts
    barrier.wait()
    for i in range(count):
        store.append("shared", [Entry({"role": "user", "content": f"w{worker}-{i}"}, "p", f"m{worker}")])
    store.close()
