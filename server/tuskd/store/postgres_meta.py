"""Projects, metadata maps, settings and open transactions on PostgreSQL (:class:`MetaTx`):
the statements of meta_tables.py (shared with SQLite), run on a PostgresTx's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .dialect import Rows
from .meta_tables import MetaTables
from .postgres_tx import PgTx, pyformat

__all__ = ["PostgresMetaTx"]


class PostgresMetaTx(MetaTables):
    """Projects and metadata maps, inside the transaction of ``tx``."""

    def __init__(self, tx: PgTx) -> None:
        self._tx = self._pg = tx

    def _sql(self, sql: str, params: Iterable[Any] = ()) -> Rows:
        return self._pg._x(pyformat(sql), tuple(params))
