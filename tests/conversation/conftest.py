"""A real PostgreSQL for the store tests: ``./dev test`` starts one and sets its DSN."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import required_service


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    return required_service("LLMPLEX_TEST_POSTGRES_DSN", "PostgreSQL", "postgresql://user@host:port/db")


@pytest.fixture
def pg_table(postgres_dsn: str) -> Iterator[str]:
    """A table name of this test's own, dropped afterwards."""
    import psycopg

    table = f"t_{uuid.uuid4().hex[:12]}"
    yield table
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
