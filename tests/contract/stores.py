"""The store under contract test: the same scenarios on SQLite and on a real PostgreSQL.

``backend`` is parametrized over both implementations of the store Protocols; each test gets a
fresh store (a new SQLite file, or a new database copied from the migrated template).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from tuskd.store.base import Store, Tx
from tuskd.store.meta import MetaTx
from tuskd.store.pps import PpsTx
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_meta import SqliteMetaTx
from tuskd.store.sqlite_pps import SqlitePpsTx


@dataclass
class Backend:
    name: str
    store: Store
    pps: Callable[[Tx], PpsTx]
    meta: Callable[[Tx], MetaTx]
    # What a broken constraint (uniqueness, foreign key) raises.
    integrity_error: type[Exception]
    tx_closed: type[Exception]


def _sqlite(tmp_path: Path) -> Backend:
    from tuskd.store.sqlite import TxClosed

    return Backend(
        "sqlite",
        SqliteStore(tmp_path / "meta.db"),
        lambda tx: SqlitePpsTx(cast(SqliteTx, tx)),
        lambda tx: SqliteMetaTx(cast(SqliteTx, tx)),
        sqlite3.IntegrityError,
        TxClosed,
    )


def _postgres(url: str) -> Backend:
    import psycopg

    from tuskd.store.postgres import PostgresStore, PostgresTx, TxClosed
    from tuskd.store.postgres_meta import PostgresMetaTx
    from tuskd.store.postgres_pps import PostgresPpsTx

    return Backend(
        "postgresql",
        PostgresStore(url, max_connections=12),
        lambda tx: PostgresPpsTx(cast(PostgresTx, tx)),
        lambda tx: PostgresMetaTx(cast(PostgresTx, tx)),
        psycopg.IntegrityError,
        TxClosed,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        b = _sqlite(tmp_path)
    else:
        url: Any = request.getfixturevalue("pg_url")
        b = _postgres(url)
    try:
        yield b
    finally:
        b.store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store
