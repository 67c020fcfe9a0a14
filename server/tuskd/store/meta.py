"""The store interface for projects and user metadata (the `metadata` API's key/value maps).

Projects are a table of their own; metadata maps hang off repos, branches, commits and pipelines
by their store ids and go away with them (the SQLite schema deletes them by trigger), so no
service has to remember to clean them up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from .base import Tx

__all__ = ["MetaKind", "MetaTx", "ProjectRow", "TransactionRow"]


class MetaKind(StrEnum):
    """What a metadata map is attached to; the value is stored in the ``metadata`` table."""

    REPO = "repo"
    BRANCH = "branch"
    COMMIT = "commit"
    PIPELINE = "pipeline"


@dataclass(frozen=True, slots=True)
class ProjectRow:
    name: str
    description: str
    created_us: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The project's pipeline defaults as JSON ("" when none were set).
    defaults: str = ""


@dataclass(frozen=True, slots=True)
class TransactionRow:
    """An open transaction: its queued requests and their answers (from the check made when each
    was queued), serialized by the transport, in order."""

    id: str
    started_us: int
    version: int
    requests: bytes
    responses: bytes


class MetaTx(Tx, Protocol):
    """Typed access to the projects and metadata tables, inside a store transaction."""

    def insert_project(self, name: str, description: str, created_us: int) -> ProjectRow: ...
    def get_project(self, name: str) -> ProjectRow | None: ...
    def list_projects(self) -> list[ProjectRow]: ...
    def update_project(self, name: str, description: str) -> None: ...
    def set_project_metadata(self, name: str, metadata: Mapping[str, str]) -> None: ...
    def delete_project(self, name: str) -> None: ...

    def set_project_defaults(self, name: str, defaults: str) -> None: ...

    def metadata(self, kind: MetaKind, owner_id: int) -> dict[str, str]: ...
    def set_metadata(self, kind: MetaKind, owner_id: int, metadata: Mapping[str, str]) -> None: ...

    def setting(self, name: str) -> str | None: ...
    def set_setting(self, name: str, value: str) -> None: ...

    def insert_transaction(self, txn_id: str, started_us: int) -> TransactionRow: ...
    def get_transaction(self, txn_id: str) -> TransactionRow | None: ...
    def list_transactions(self) -> list[TransactionRow]: ...
    def update_transaction(self, txn_id: str, version: int, requests: bytes, responses: bytes) -> None: ...
    def delete_transaction(self, txn_id: str) -> None: ...
    def delete_transactions(self) -> None: ...
