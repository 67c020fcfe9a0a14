"""The SQL of :class:`tuskd.store.meta.MetaTx` (projects, metadata maps, settings, open
transactions), written once for both stores.

The statements use ``?`` placeholders and SQL both SQLite and PostgreSQL speak (``ON CONFLICT
... DO UPDATE``, ``excluded``); each store's subclass runs them on its own transaction through
``_sql`` (PostgreSQL's turns ``?`` into ``%s``). Rows come back the same from both.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .dialect import Rows, Unit
from .meta import MetaKind, ProjectRow, TransactionRow

__all__ = ["MetaTables", "Rows"]

_PROJECT_COLUMNS = "name, description, created_us, metadata, defaults"
_TXN_COLUMNS = "id, started_us, version, requests, responses"




def _project(row: Any) -> ProjectRow:
    return ProjectRow(row[0], row[1], row[2], json.loads(row[3]), row[4])


def _txn(row: Any) -> TransactionRow:
    return TransactionRow(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))


def _dump(metadata: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(metadata.items())), ensure_ascii=False)


class MetaTables(ABC):
    """Projects and metadata maps inside the transaction ``_tx``; ``_sql`` runs one statement."""

    _tx: Unit

    @abstractmethod
    def _sql(self, sql: str, params: Iterable[Any] = ()) -> Rows:
        ...

    @property
    def writable(self) -> bool:
        return self._tx.writable

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._tx.after_commit(callback)

    def emit(self, sink: Callable[[Sequence[Any]], None], event: Any) -> None:
        self._tx.emit(sink, event)

    # -- projects ---------------------------------------------------------------------------

    def insert_project(self, name: str, description: str, created_us: int) -> ProjectRow:
        self._sql(
            "INSERT INTO projects (name, description, created_us, metadata) VALUES (?, ?, ?, '{}')",
            (name, description, created_us),
        )
        return ProjectRow(name, description, created_us, {})

    def get_project(self, name: str) -> ProjectRow | None:
        row = self._sql(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE name = ?", (name,)).fetchone()
        return None if row is None else _project(row)

    def list_projects(self) -> list[ProjectRow]:
        rows = self._sql(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY name").fetchall()
        return [_project(r) for r in rows]

    def update_project(self, name: str, description: str) -> None:
        self._sql("UPDATE projects SET description = ? WHERE name = ?", (description, name))

    def set_project_metadata(self, name: str, metadata: Mapping[str, str]) -> None:
        self._sql("UPDATE projects SET metadata = ? WHERE name = ?", (_dump(metadata), name))

    def set_project_defaults(self, name: str, defaults: str) -> None:
        self._sql("UPDATE projects SET defaults = ? WHERE name = ?", (defaults, name))

    def delete_project(self, name: str) -> None:
        self._sql("DELETE FROM projects WHERE name = ?", (name,))

    # -- metadata maps ----------------------------------------------------------------------

    def metadata(self, kind: MetaKind, owner_id: int) -> dict[str, str]:
        row = self._sql("SELECT body FROM metadata WHERE kind = ? AND owner_id = ?", (kind.value, owner_id)).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def set_metadata(self, kind: MetaKind, owner_id: int, metadata: Mapping[str, str]) -> None:
        if metadata:
            self._sql(
                "INSERT INTO metadata (kind, owner_id, body) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, owner_id) DO UPDATE SET body = excluded.body",
                (kind.value, owner_id, _dump(metadata)),
            )
        else:
            self._sql("DELETE FROM metadata WHERE kind = ? AND owner_id = ?", (kind.value, owner_id))

    # -- settings ---------------------------------------------------------------------------

    def setting(self, name: str) -> str | None:
        row = self._sql("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, name: str, value: str) -> None:
        self._sql(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- transactions -----------------------------------------------------------------------

    def insert_transaction(self, txn_id: str, started_us: int) -> TransactionRow:
        self._sql(
            "INSERT INTO transactions (id, started_us, version, requests, responses) VALUES (?, ?, 0, ?, ?)",
            (txn_id, started_us, b"", b""),
        )
        return TransactionRow(txn_id, started_us, 0, b"", b"")

    def get_transaction(self, txn_id: str) -> TransactionRow | None:
        row = self._sql(f"SELECT {_TXN_COLUMNS} FROM transactions WHERE id = ?", (txn_id,)).fetchone()
        return None if row is None else _txn(row)

    def list_transactions(self) -> list[TransactionRow]:
        return [_txn(r) for r in self._sql(f"SELECT {_TXN_COLUMNS} FROM transactions ORDER BY started_us, id")]

    def update_transaction(self, txn_id: str, version: int, requests: bytes, responses: bytes) -> None:
        self._sql(
            "UPDATE transactions SET version = ?, requests = ?, responses = ? WHERE id = ?",
            (version, requests, responses, txn_id),
        )

    def delete_transaction(self, txn_id: str) -> None:
        self._sql("DELETE FROM transactions WHERE id = ?", (txn_id,))

    def delete_transactions(self) -> None:
        self._sql("DELETE FROM transactions")
