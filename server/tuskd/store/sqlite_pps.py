"""SQLite implementation of :class:`tuskd.store.pps.PpsTx` on the main store's transactions.

``SqlitePpsTx(tx)`` works on the same connection as the wrapped ``SqliteTx``, so its writes are
part of that transaction (and of its savepoints). The statements are in pps_tables.py, shared
with PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tuskd.domain.datum_ledger import DatumChange

from .dialect import Rows
from .pps_tables import DATUM_UPSERT, PpsTables, datum_upsert_params
from .sqlite import SqliteTx

__all__ = ["SqlitePpsTx"]


class SqlitePpsTx(PpsTables):
    """PPS tables inside one SqliteTx."""

    def __init__(self, tx: SqliteTx) -> None:
        self._tx = self._sqlite = tx

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._sqlite.connection.execute(sql, params)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._sqlite.connection.executemany(sql, rows)

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        cur = self._sqlite.connection.execute(sql, params)
        assert cur.lastrowid is not None
        return cur.lastrowid

    def upsert_datums(self, job_row: int, changes: Iterable[DatumChange], now_us: int) -> None:
        """One ``executemany`` for the batch inside a savepoint; when some change is refused,
        rolled back and done one by one to name it (DatumConflict)."""
        changes = list(changes)
        if not changes:
            return
        rows = [datum_upsert_params(job_row, c, now_us) for c in changes]
        connection = self._sqlite.connection
        connection.execute("SAVEPOINT upsert_datums")
        if connection.executemany(DATUM_UPSERT, rows).rowcount == len(rows):
            connection.execute("RELEASE upsert_datums")
            return
        connection.execute("ROLLBACK TO upsert_datums")
        connection.execute("RELEASE upsert_datums")
        super().upsert_datums(job_row, changes, now_us)
