"""Conversations in a SQLite file (the default persistent store; standard library only).

The database runs in WAL mode, so readers never block the writer, and every write is one
``BEGIN IMMEDIATE`` transaction that waits (``busy_timeout``) for the lock rather than failing:
several processes (and threads) can append to the same file at once and nothing is lost. Each
process opens its own connection, also after ``fork``. Not for network file systems (SQLite's
locking needs a local disk).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._sql import SqlStore

__all__ = ["SQLiteStore"]


class SQLiteStore(SqlStore):
    """Conversations in the SQLite database at ``path`` (created if missing).

    >>> store = SQLiteStore("chats.db")  # doctest: +SKIP
    >>> conv = llmplex.Conversation(client, store=store, id="support-42")  # doctest: +SKIP

    ``timeout``: seconds a write waits for another process's transaction to finish.
    """

    def __init__(self, path: str | Path, *, table: str = "llmplex_messages", timeout: float = 30.0) -> None:
        super().__init__(table)
        self.path = Path(path)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r} table={self.table!r}>"

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; each write says BEGIN IMMEDIATE itself,
        # taking the write lock up front (a deferred transaction that upgrades can fail with
        # SQLITE_BUSY at once, without waiting for busy_timeout).
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes in WAL mode
        with self._write(conn) as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "conversation_id TEXT NOT NULL, provider TEXT, model TEXT, message TEXT NOT NULL)"
            )
            cur.execute(f"CREATE INDEX IF NOT EXISTS {self.table}_by_id ON {self.table} (conversation_id, seq)")
        return conn

    @contextmanager
    def _write(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()
