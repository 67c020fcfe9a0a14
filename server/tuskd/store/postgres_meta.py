"""Projects, metadata maps, settings and open transactions on PostgreSQL (:class:`MetaTx`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .meta import MetaKind, ProjectRow, TransactionRow
from .postgres_tx import PgTables
from .sqlite_meta import _PROJECT_COLUMNS, _TXN_COLUMNS, _dump, _project

__all__ = ["PostgresMetaTx"]


def _txn(row: Any) -> TransactionRow:
    return TransactionRow(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))


class PostgresMetaTx(PgTables):
    """Projects and metadata maps, inside the transaction of ``tx``."""

    # -- projects ---------------------------------------------------------------------------

    def insert_project(self, name: str, description: str, created_us: int) -> ProjectRow:
        self._x(
            "INSERT INTO projects (name, description, created_us, metadata) VALUES (%s, %s, %s, '{}')",
            (name, description, created_us),
        )
        return ProjectRow(name, description, created_us, {})

    def get_project(self, name: str) -> ProjectRow | None:
        row = self._x(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE name = %s", (name,)).fetchone()
        return None if row is None else _project(row)

    def list_projects(self) -> list[ProjectRow]:
        return [_project(r) for r in self._x(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY name")]

    def update_project(self, name: str, description: str) -> None:
        self._x("UPDATE projects SET description = %s WHERE name = %s", (description, name))

    def set_project_metadata(self, name: str, metadata: Mapping[str, str]) -> None:
        self._x("UPDATE projects SET metadata = %s WHERE name = %s", (_dump(metadata), name))

    def set_project_defaults(self, name: str, defaults: str) -> None:
        self._x("UPDATE projects SET defaults = %s WHERE name = %s", (defaults, name))

    def delete_project(self, name: str) -> None:
        self._x("DELETE FROM projects WHERE name = %s", (name,))

    # -- metadata maps ----------------------------------------------------------------------

    def metadata(self, kind: MetaKind, owner_id: int) -> dict[str, str]:
        row = self._x("SELECT body FROM metadata WHERE kind = %s AND owner_id = %s", (kind.value, owner_id)).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def set_metadata(self, kind: MetaKind, owner_id: int, metadata: Mapping[str, str]) -> None:
        if metadata:
            self._x(
                "INSERT INTO metadata (kind, owner_id, body) VALUES (%s, %s, %s)"
                " ON CONFLICT (kind, owner_id) DO UPDATE SET body = EXCLUDED.body",
                (kind.value, owner_id, _dump(metadata)),
            )
        else:
            self._x("DELETE FROM metadata WHERE kind = %s AND owner_id = %s", (kind.value, owner_id))

    # -- settings ---------------------------------------------------------------------------

    def setting(self, name: str) -> str | None:
        row = self._x("SELECT value FROM settings WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, name: str, value: str) -> None:
        self._x(
            "INSERT INTO settings (name, value) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            (name, value),
        )

    # -- transactions -----------------------------------------------------------------------

    def insert_transaction(self, txn_id: str, started_us: int) -> TransactionRow:
        self._x(
            "INSERT INTO transactions (id, started_us, version, requests, responses) VALUES (%s, %s, 0, %s, %s)",
            (txn_id, started_us, b"", b""),
        )
        return TransactionRow(txn_id, started_us, 0, b"", b"")

    def get_transaction(self, txn_id: str) -> TransactionRow | None:
        row = self._x(f"SELECT {_TXN_COLUMNS} FROM transactions WHERE id = %s", (txn_id,)).fetchone()
        return None if row is None else _txn(row)

    def list_transactions(self) -> list[TransactionRow]:
        return [_txn(r) for r in self._x(f"SELECT {_TXN_COLUMNS} FROM transactions ORDER BY started_us, id")]

    def update_transaction(self, txn_id: str, version: int, requests: bytes, responses: bytes) -> None:
        self._x(
            "UPDATE transactions SET version = %s, requests = %s, responses = %s WHERE id = %s",
            (version, requests, responses, txn_id),
        )

    def delete_transaction(self, txn_id: str) -> None:
        self._x("DELETE FROM transactions WHERE id = %s", (txn_id,))

    def delete_transactions(self) -> None:
        self._x("DELETE FROM transactions")
