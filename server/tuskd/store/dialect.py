"""What the SQL shared by the SQLite and PostgreSQL stores (pps_tables.py, meta_tables.py) needs
from either driver: a cursor's rows and the transaction it runs in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["Rows", "Unit"]


class Rows(Protocol):
    """What a statement returns on either driver (a DB-API cursor)."""

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...


class Unit(Protocol):
    """The unit of work the tables write in (store/outbox.py)."""

    @property
    def writable(self) -> bool: ...
    def after_commit(self, callback: Callable[[], None]) -> None: ...
    def emit(self, sink: Callable[[Sequence[Any]], None], event: Any) -> None: ...
