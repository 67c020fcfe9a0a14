"""SQLite implementation of :class:`tuskd.store.meta.MetaTx` on the main store's transactions
(the statements are in meta_tables.py, shared with PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .dialect import Rows
from .meta_tables import MetaTables
from .sqlite import SqliteTx

__all__ = ["SqliteMetaTx"]


class SqliteMetaTx(MetaTables):
    """Projects and metadata maps, on the connection (and inside the transaction) of ``tx``."""

    def __init__(self, tx: SqliteTx) -> None:
        self._tx = tx
        self._conn = tx.connection

    def _sql(self, sql: str, params: Iterable[Any] = ()) -> Rows:
        return self._conn.execute(sql, tuple(params))
