"""The PFS tables on PostgreSQL: :class:`tuskd.store.base.PfsTx` on one transaction.

The statements are pfs_tables.py's, shared with SQLite (``?`` turned into ``%s``); this module
supplies what PostgreSQL does its own way: ``RETURNING id`` for a new row, ``= ANY(array)`` for
a list, a layer stack or id list passed as one array (``unnest ... WITH ORDINALITY``, bottom
first), the cursor's ``rowcount`` for what an ``INSERT ... SELECT`` wrote, and ``DISTINCT ON``
for the top-most entry of a path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .dialect import Rows
from .pfs_tables import PfsTables
from .postgres_tx import PgTx, pyformat

__all__ = ["PostgresTx"]


class PostgresTx(PgTx, PfsTables):
    """PFS tables inside one PostgreSQL transaction."""

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._x(pyformat(sql), params)

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._many(pyformat(sql), rows)

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._one(pyformat(sql + " RETURNING id"), params))

    def _written(self, rows: Rows) -> int:
        return max(rows.rowcount, 0)

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _ids(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        return "WITH s(id, pos) AS (SELECT * FROM unnest(?::bigint[]) WITH ORDINALITY) ", [list(ids)]

    def _top_entries(self, where: str) -> str:
        return (
            "SELECT DISTINCT ON (e.path) e.path, e.blob, e.size FROM s JOIN layer_entries e"
            f" ON e.layer_id = s.id{where} ORDER BY e.path, s.pos DESC"
        )
