"""A real PostgreSQL for the store tests: ``./dev test`` starts one and sets its DSN."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

DSN_VARIABLE = "LLMPLEX_TEST_POSTGRES_DSN"


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        pytest.fail(
            f"{DSN_VARIABLE} is not set: these tests need a real PostgreSQL. Run them with ./dev test (it starts "
            f"a throwaway cluster on loopback), or set {DSN_VARIABLE}=postgresql://user@host:port/db",
            pytrace=False,
        )
    return dsn


@pytest.fixture
def pg_table(postgres_dsn: str) -> Iterator[str]:
    """A table name of this test's own, dropped afterwards."""
    import psycopg

    table = f"t_{uuid.uuid4().hex[:12]}"
    yield table
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
