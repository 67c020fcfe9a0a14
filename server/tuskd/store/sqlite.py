"""The embedded metadata store: one SQLite file in WAL mode, on the standard ``sqlite3`` module.

Connections and durability:

* WAL journal, so readers never block the writer nor the writer the readers; each read
  transaction sees one consistent snapshot.
* ``synchronous=FULL``: every committed write transaction is fsynced to the WAL before
  ``COMMIT`` returns, so a write we acknowledged survives a power cut, not only a process crash
  (NORMAL could lose the last transactions on power loss). Blobs are fsynced too, so metadata
  never points at content that could vanish. The price is one fsync per write transaction.
* ``foreign_keys=ON`` and a ``busy_timeout`` on every connection.
* Writes go through one dedicated connection guarded by a lock and start with
  ``BEGIN IMMEDIATE`` (the write lock is taken up front, so a transaction never fails half-way
  on lock upgrade); the in-process lock avoids SQLite's busy-wait polling between our threads.
* Reads check a connection out of a small pool (created on demand, a few kept idle), so a
  long-running read stream never holds up another thread.

Units of work (see store/outbox.py): a write transaction collects typed events
(``tx.emit(sink, event)``) and after-commit actions (``tx.after_commit``). Right after COMMIT,
still under the write lock, a write that emitted events takes a commit ticket; after the lock is
released its events go to their sinks in ticket order (never before an earlier commit's), then
its actions run. A rollback drops both.

The unit of work is passed explicitly to whatever writes in it: a ``write()`` or ``read()``
opened on a thread already inside a write raises :class:`~tuskd.store.outbox.ImplicitJoin` (a
programming error). ``write(join=tx)``, with that thread's open write, is a nested step: a
SAVEPOINT that rolls back on its own (see docs/consistency.md).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tuskd.domain.errors import ResourceExhausted

from .migrations import MIGRATIONS, Migration, apply_migrations
from .outbox import CommitSequencer, EventSink, UnitOfWork, check_join
from .sqlite_pfs import SqlitePfsTables

__all__ = ["SqliteStore", "SqliteTx", "TxClosed"]

log = logging.getLogger(__name__)


class TxClosed(RuntimeError):
    """A transaction object was used after its ``with`` block ended."""


class SqliteTx(SqlitePfsTables):
    """One transaction on one connection (a unit of work when writable). Not thread-safe: use
    it on the thread that opened it."""

    def __init__(self, conn: sqlite3.Connection, writable: bool) -> None:
        self._conn = conn
        self._writable = writable
        self._work = UnitOfWork()
        self._open = True

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for store modules that add their own tables (same transaction)."""
        self._check()
        return self._conn

    def emit(self, sink: EventSink, event: Any) -> None:
        """Give ``event`` to ``sink`` after COMMIT, in commit order (dropped on rollback)."""
        self._check()
        self._work.events.append((sink, event))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after COMMIT, once this unit's events are delivered (not on rollback)."""
        self._check()
        self._work.actions.append(callback)

    def _check(self) -> None:
        if not self._open:
            raise TxClosed("transaction used after it ended")


def _rollback(conn: sqlite3.Connection) -> None:
    """End a failed write transaction, unless SQLite already rolled it back (e.g. SQLITE_FULL:
    then ROLLBACK itself fails, and must not hide the error that caused it)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class SqliteStore:
    """The default :class:`~tuskd.store.base.Store`. Opening applies pending migrations."""

    def __init__(
        self,
        path: Path | str,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout_ms: int = 30_000,
        max_idle_readers: int = 8,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._max_idle = max_idle_readers
        self._writer = self._connect()
        apply_migrations(self._writer, migrations)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._idle: list[sqlite3.Connection] = []
        self._idle_lock = threading.Lock()
        self._closed = False
        self._rows_written = 0
        self._sequencer = CommitSequencer()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=self._busy_timeout_ms / 1000,
        )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        return conn

    @property
    def rows_written(self) -> int:
        """Rows inserted, updated or deleted by committed write transactions since opening."""
        return self._rows_written

    # -- transactions -----------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self, join: object | None = None) -> Iterator[SqliteTx]:
        current: SqliteTx | None = getattr(self._local, "tx", None)
        check_join(current, join, "write")
        if current is not None:
            with self._savepoint(current):
                yield current
            return
        self._check_open()
        ticket = 0
        with self._write_lock:
            conn = self._writer
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            tx = SqliteTx(conn, writable=True)
            self._local.tx = tx
            try:
                yield tx
            except BaseException as exc:
                _rollback(conn)
                full = self._disk_full(exc)
                if full is not None:
                    raise full from exc
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except BaseException as exc:
                    _rollback(conn)
                    full = self._disk_full(exc)
                    if full is not None:
                        raise full from exc
                    raise
                self._rows_written += conn.total_changes - before
                if tx._work.events:  # numbered while the lock still orders the commits
                    ticket = self._sequencer.ticket()
            finally:
                self._local.tx = None
                tx._open = False
        if ticket:
            self._sequencer.deliver(ticket, tx._work.deliver)
        tx._work.run_actions()

    def outbox_waiting(self) -> int:
        """Committed writes whose events wait for an earlier commit's delivery (diagnostics)."""
        return self._sequencer.waiting

    @contextlib.contextmanager
    def _savepoint(self, tx: SqliteTx) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0) + 1
        self._local.depth = depth
        name = f"nested_{depth}"
        mark = tx._work.mark()
        tx._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            # After some errors (a full disk) SQLite has already rolled the whole transaction
            # back and the savepoint is gone: the original error is what the caller must see.
            if tx._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    tx._conn.execute(f"ROLLBACK TO {name}")
                    tx._conn.execute(f"RELEASE {name}")
            tx._work.rollback_to(mark)
            raise
        else:
            tx._conn.execute(f"RELEASE {name}")
        finally:
            self._local.depth = depth - 1

    @contextlib.contextmanager
    def read(self, snapshot: bool = True) -> Iterator[SqliteTx]:
        check_join(getattr(self._local, "tx", None), None, "read")
        self._check_open()
        conn = self._checkout()
        if snapshot:
            conn.execute("BEGIN")
        tx = SqliteTx(conn, writable=False)
        try:
            yield tx
        finally:
            tx._open = False
            try:
                if snapshot:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                conn.close()
            else:
                self._checkin(conn)

    def _checkout(self) -> sqlite3.Connection:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, conn: sqlite3.Connection) -> None:
        with self._idle_lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _disk_full(self, exc: BaseException) -> ResourceExhausted | None:
        """A write that failed for want of room, as the error clients see (naming the disk)."""
        if not isinstance(exc, sqlite3.Error):
            return None
        code = getattr(exc, "sqlite_errorcode", None)
        if (code is not None and code & 0xFF == sqlite3.SQLITE_FULL) or "disk is full" in str(exc):
            return ResourceExhausted(
                f"the disk holding {self.path.parent} is full (metadata could not be written: {exc}): "
                "nothing was written; free some space and retry",
                reason="DISK_FULL",
            )
        return None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the metadata store is closed")

    def close(self) -> None:
        with self._idle_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        with self._write_lock:
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()
