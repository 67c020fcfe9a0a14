"""The PFS tables of the SQLite store: pfs_tables.py's statements (shared with PostgreSQL) on
the connection of :class:`~tuskd.store.sqlite.SqliteTx`, which mixes :class:`SqlitePfsTables`
in and owns the connection and the transaction's lifecycle.

What SQLite does its own way: a new row's id is the cursor's ``lastrowid``; a list is ``IN (?,
...)``; a layer stack or id list is a ``VALUES`` table; ``changes()`` counts what an ``INSERT
... SELECT`` wrote (``Cursor.rowcount`` is not reliable under a ``WITH`` clause); and the
top-most entry of a path comes from SQLite's bare columns beside ``MAX()``.
"""

from __future__ import annotations

import sqlite3
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

from .dialect import Rows
from .pfs_tables import PfsTables

__all__ = ["SqlitePfsTables"]


class SqlitePfsTables(PfsTables):
    """Typed PFS table access on the connection of the transaction it is mixed into."""

    _conn: sqlite3.Connection

    @abstractmethod
    def _check(self) -> None:
        """Raise if the transaction has ended (the transaction class decides)."""

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        self._check()
        return self._conn.execute(sql, params)

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._check()
        self._conn.executemany(sql, rows)

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        self._check()
        new_id = self._conn.execute(sql, params).lastrowid
        assert new_id is not None
        return new_id

    def _written(self, rows: Rows) -> int:
        return int(self._conn.execute("SELECT changes()").fetchone()[0])

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    def _ids(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        params: list[Any] = []
        for pos, one in enumerate(ids, 1):
            params += (one, pos)
        return f"WITH s(id, pos) AS (VALUES {', '.join('(?, ?)' for _ in ids)}) ", params

    def _top_entries(self, where: str) -> str:
        # SQLite takes the bare columns from the row that holds the MAX(): the top-most layer.
        return (
            "SELECT e.path AS path, e.blob AS blob, e.size AS size, MAX(s.pos) AS top"
            f" FROM s JOIN layer_entries e ON e.layer_id = s.id{where} GROUP BY e.path"
        )
