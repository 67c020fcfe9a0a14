"""A real PostgreSQL 15 for the tests: one server per session, one fresh database per test.

The server is started by tests/pgserver.py (shared with the benchmarks) with durability off.
A template database is migrated once; each test gets ``CREATE DATABASE ... TEMPLATE`` of it.

Where PostgreSQL or root is missing the tests that need it are skipped with the reason, unless
``$TUSK_REQUIRE_POSTGRES`` is set (``.ci/run`` sets it, and installs PostgreSQL 15).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .pgserver import TEMPLATE, PgServer, start_postgres, stop_postgres, unavailable_reason

__all__ = ["TEMPLATE", "PgServer", "pg_server", "pg_url", "start_postgres", "stop_postgres", "unavailable_reason"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (skips the test, with the reason, where none can run)."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("TUSK_REQUIRE_POSTGRES"):  # CI: a missing PostgreSQL is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    server = start_postgres()
    try:
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A URL of a fresh, migrated database of its own for this test; dropped afterwards."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
