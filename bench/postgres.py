"""A PostgreSQL 15 server for the benchmark cases that put tusk's metadata on PostgreSQL.

Started by tests/pgserver.py (the launcher the tests use too) with PostgreSQL's default
durability (every commit flushed to the WAL, as SQLite's ``synchronous=FULL`` in tusk's store)
and 300 connections; on a free loopback port, stopped when the case ends. Where PostgreSQL
cannot run the case fails, naming why: no silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import BenchError
from tests.pgserver import MAX_CONNECTIONS, PgServer, start_postgres, stop_postgres, unavailable_reason

SETTINGS = (
    f"PostgreSQL 15 on loopback TCP, default durability (fsync, synchronous_commit on), "
    f"max_connections {MAX_CONNECTIONS}"
)


@contextmanager
def postgres() -> Iterator[PgServer]:
    reason = unavailable_reason()
    if reason is not None:
        raise BenchError(f"cannot start PostgreSQL for the PostgreSQL rows: {reason}")
    server = start_postgres(durable=True)
    try:
        yield server
    finally:
        stop_postgres(server)


def fresh_store(server: PgServer) -> str:
    """The URL of a new migrated database on ``server``."""
    return server.url(server.create_database())
