"""SQLite implementation of :class:`tuskd.store.meta.MetaTx` on the main store's transactions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .meta import MetaKind, ProjectRow, TransactionRow
from .sqlite import SqliteTx

_PROJECT_COLUMNS = "name, description, created_us, metadata, defaults"
_TXN_COLUMNS = "id, started_us, version, requests, responses"


def _project(row: Any) -> ProjectRow:
    return ProjectRow(row[0], row[1], row[2], json.loads(row[3]), row[4])


def _dump(metadata: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(metadata.items())), ensure_ascii=False)


class SqliteMetaTx:
    """Projects and metadata maps, on the connection (and inside the transaction) of ``tx``."""

    def __init__(self, tx: SqliteTx) -> None:
        self._tx = tx
        self._conn = tx.connection

    @property
    def writable(self) -> bool:
        return self._tx.writable

    def after_commit(self, callback: Any) -> None:
        self._tx.after_commit(callback)

    def emit(self, sink: Any, event: Any) -> None:
        self._tx.emit(sink, event)

    # -- projects ---------------------------------------------------------------------------

    def insert_project(self, name: str, description: str, created_us: int) -> ProjectRow:
        self._conn.execute(
            "INSERT INTO projects (name, description, created_us, metadata) VALUES (?, ?, ?, '{}')",
            (name, description, created_us),
        )
        return ProjectRow(name, description, created_us, {})

    def get_project(self, name: str) -> ProjectRow | None:
        row = self._conn.execute(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE name = ?", (name,)).fetchone()
        return None if row is None else _project(row)

    def list_projects(self) -> list[ProjectRow]:
        rows = self._conn.execute(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY name").fetchall()
        return [_project(r) for r in rows]

    def update_project(self, name: str, description: str) -> None:
        self._conn.execute("UPDATE projects SET description = ? WHERE name = ?", (description, name))

    def set_project_metadata(self, name: str, metadata: Mapping[str, str]) -> None:
        self._conn.execute("UPDATE projects SET metadata = ? WHERE name = ?", (_dump(metadata), name))

    def set_project_defaults(self, name: str, defaults: str) -> None:
        self._conn.execute("UPDATE projects SET defaults = ? WHERE name = ?", (defaults, name))

    def delete_project(self, name: str) -> None:
        self._conn.execute("DELETE FROM projects WHERE name = ?", (name,))

    # -- metadata maps ----------------------------------------------------------------------

    def metadata(self, kind: MetaKind, owner_id: int) -> dict[str, str]:
        row = self._conn.execute(
            "SELECT body FROM metadata WHERE kind = ? AND owner_id = ?", (kind.value, owner_id)
        ).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def set_metadata(self, kind: MetaKind, owner_id: int, metadata: Mapping[str, str]) -> None:
        if metadata:
            self._conn.execute(
                "INSERT INTO metadata (kind, owner_id, body) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, owner_id) DO UPDATE SET body = excluded.body",
                (kind.value, owner_id, _dump(metadata)),
            )
        else:
            self._conn.execute("DELETE FROM metadata WHERE kind = ? AND owner_id = ?", (kind.value, owner_id))

    # -- settings ---------------------------------------------------------------------------

    def setting(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, name: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- transactions -----------------------------------------------------------------------

    def insert_transaction(self, txn_id: str, started_us: int) -> TransactionRow:
        self._conn.execute(
            "INSERT INTO transactions (id, started_us, version, requests, responses) VALUES (?, ?, 0, ?, ?)",
            (txn_id, started_us, b"", b""),
        )
        return TransactionRow(txn_id, started_us, 0, b"", b"")

    def get_transaction(self, txn_id: str) -> TransactionRow | None:
        row = self._conn.execute(f"SELECT {_TXN_COLUMNS} FROM transactions WHERE id = ?", (txn_id,)).fetchone()
        return None if row is None else TransactionRow(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))

    def list_transactions(self) -> list[TransactionRow]:
        rows = self._conn.execute(f"SELECT {_TXN_COLUMNS} FROM transactions ORDER BY started_us, id").fetchall()
        return [TransactionRow(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in rows]

    def update_transaction(self, txn_id: str, version: int, requests: bytes, responses: bytes) -> None:
        self._conn.execute(
            "UPDATE transactions SET version = ?, requests = ?, responses = ? WHERE id = ?",
            (version, requests, responses, txn_id),
        )

    def delete_transaction(self, txn_id: str) -> None:
        self._conn.execute("DELETE FROM transactions WHERE id = ?", (txn_id,))

    def delete_transactions(self) -> None:
        self._conn.execute("DELETE FROM transactions")
