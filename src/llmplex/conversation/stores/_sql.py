"""What the SQL stores share: one table of messages, the queries, and a connection per process.

Schema (one row per message; ``seq`` orders the rows of a conversation and is assigned by the
database, so concurrent appenders never collide)::

    seq             integer, increasing, primary key
    conversation_id text
    provider, model text (NULL for messages the caller added)
    message         the message as JSON text (exactly what was stored: tool calls, data-URL
                    images, reasoning and provider extras included)
"""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..history import Entry
from .base import check_table_name

__all__ = ["SqlStore"]


class SqlStore(ABC):
    """Queries over a DB-API connection; subclasses open it and run write transactions."""

    placeholder = "?"

    def __init__(self, table: str) -> None:
        self.table = check_table_name(table)
        self._lock = threading.RLock()
        self._conn: Any = None
        self._pid = 0

    # -- subclass hooks -------------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> Any:
        """A new connection, schema created."""

    @abstractmethod
    def _write(self, conn: Any) -> AbstractContextManager[Any]:
        """A write transaction on ``conn``, yielding a cursor."""

    # -- shared ----------------------------------------------------------------------------------

    def _connection(self) -> Any:
        """This process's connection (a forked child opens its own: connections do not survive fork)."""
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _rows(self, entries: Sequence[Entry], conversation_id: str) -> list[tuple[Any, ...]]:
        return [(conversation_id, e.provider, e.model, json.dumps(e.message, ensure_ascii=False)) for e in entries]

    def _insert(self, cur: Any, conversation_id: str, entries: Sequence[Entry]) -> None:
        if entries:
            p = self.placeholder
            cur.executemany(
                f"INSERT INTO {self.table} (conversation_id, provider, model, message) VALUES ({p}, {p}, {p}, {p})",
                self._rows(entries, conversation_id),
            )

    def _delete(self, cur: Any, conversation_id: str) -> None:
        cur.execute(f"DELETE FROM {self.table} WHERE conversation_id = {self.placeholder}", (conversation_id,))

    def load(self, conversation_id: str) -> list[Entry]:
        """The conversation's entries in order."""
        with self._lock:
            cur = self._connection().cursor()
            try:
                cur.execute(
                    f"SELECT provider, model, message FROM {self.table} WHERE conversation_id = {self.placeholder} "
                    "ORDER BY seq", (conversation_id,),
                )
                rows = cur.fetchall()
            finally:
                cur.close()
        return [Entry(_message(m), provider, model) for provider, model, m in rows]

    def append(self, conversation_id: str, entries: Sequence[Entry]) -> None:
        """Add entries at the end, in one transaction."""
        with self._lock, self._write(self._connection()) as cur:
            self._insert(cur, conversation_id, entries)

    def replace(self, conversation_id: str, entries: Sequence[Entry]) -> None:
        """Make ``entries`` the whole conversation, in one transaction."""
        with self._lock, self._write(self._connection()) as cur:
            self._delete(cur, conversation_id)
            self._insert(cur, conversation_id, entries)

    def delete(self, conversation_id: str) -> None:
        """Forget the conversation."""
        with self._lock, self._write(self._connection()) as cur:
            self._delete(cur, conversation_id)

    def conversation_ids(self) -> list[str]:
        """Ids of the stored conversations, sorted."""
        with self._lock:
            cur = self._connection().cursor()
            try:
                cur.execute(f"SELECT DISTINCT conversation_id FROM {self.table} ORDER BY conversation_id")
                ids = [row[0] for row in cur.fetchall()]
            finally:
                cur.close()
        return ids

    def close(self) -> None:
        """Close this process's connection; the store reconnects on next use."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _message(value: Any) -> dict[str, Any]:
    data = json.loads(value) if isinstance(value, (str, bytes)) else value
    return dict(data)
