"""Conversations in PostgreSQL (``pip install llmplex[postgres]``: psycopg 3).

For conversations several processes or machines share. Each append is one transaction; ``seq``
is an identity column, so concurrent appenders never collide and each one's rows stay in its
order. The table is created on first use, under an advisory lock (two processes creating it at
once would otherwise race in the catalog).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...errors import ConfigurationError
from ._sql import SqlStore

__all__ = ["PostgresStore"]


class PostgresStore(SqlStore):
    """Conversations in the PostgreSQL database at ``dsn`` (``postgresql://user@host:5432/db`` or a
    libpq keyword string).

    >>> store = PostgresStore("postgresql://app@db.internal/app")  # doctest: +SKIP
    """

    placeholder = "%s"

    def __init__(self, dsn: str, *, table: str = "llmplex_messages", connect_timeout: float = 10.0) -> None:
        super().__init__(table)
        self._dsn = dsn
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return f"<PostgresStore table={self.table!r}>"  # the DSN may hold a password

    def _open(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise ConfigurationError("PostgresStore needs psycopg 3: pip install 'llmplex[postgres]'") from None
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=max(1, int(self.connect_timeout)))
        with self._write(conn) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(self.table.encode()),))
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "conversation_id TEXT NOT NULL, provider TEXT, model TEXT, message TEXT NOT NULL)"
            )
            cur.execute(f"CREATE INDEX IF NOT EXISTS {self.table}_by_id ON {self.table} (conversation_id, seq)")
        return conn

    @contextmanager
    def _write(self, conn: Any) -> Iterator[Any]:
        with conn.transaction(), conn.cursor() as cur:
            yield cur
