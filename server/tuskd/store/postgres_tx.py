"""Transaction plumbing of the PostgreSQL store: one class opens, nests and ends transactions.

The semantics are those of the SQLite store (store/sqlite.py), so the services cannot tell:

* ``write()`` is one atomic write, serialised with every other write on the database (from
  this process or any other): it takes a transaction-level advisory lock right after ``BEGIN``,
  as SQLite's ``BEGIN IMMEDIATE`` takes the write lock. Writers never run concurrently, so
  READ COMMITTED inside the lock sees every earlier commit and cannot hit a serialization
  failure or a deadlock with another writer.
* ``read()`` is a REPEATABLE READ, READ ONLY snapshot; ``read(snapshot=False)`` runs its one
  statement in autocommit.
* A ``write()`` or ``read()`` opened on a thread already inside a write raises
  :class:`~tuskd.store.outbox.ImplicitJoin`; ``write(join=tx)`` with that write is a SAVEPOINT.
* A write is a unit of work (store/outbox.py): events (``tx.emit``) and after-commit actions
  are dropped on rollback (a savepoint's on its rollback). A write that emitted events takes a
  commit ticket just before ``COMMIT``, while its advisory lock still orders the writers: the
  next writer cannot take the lock, let alone a ticket, until this ``COMMIT`` released it. The
  store's :class:`~tuskd.store.outbox.CommitSequencer` then delivers the events in ticket
  order, and the actions run after them. A ticket whose ``COMMIT`` failed is passed with
  nothing delivered, so later commits are not held up.

Lost connections, a database that is down or restarting, a full pool and (should one ever
happen) a serialization failure become :class:`~tuskd.domain.errors.Unavailable`: the client
retries, it never sees INTERNAL. A connection found broken when checked out is replaced by the
pool before the transaction begins.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Generic, TypeVar

import psycopg
import psycopg_pool
from psycopg import pq

from tuskd.domain.errors import InvalidArgument, TuskError, Unavailable

from .outbox import CommitSequencer, EventSink, UnitOfWork, check_join

__all__ = ["PgTransactions", "PgTx", "TxClosed", "pyformat", "unavailable"]

log = logging.getLogger(__name__)

# Advisory lock every write transaction holds ("tuskwr" in ASCII).
WRITE_LOCK: Final = 0x7475736B7772
# Seconds to wait for a pooled connection before checking whether the database is there at all.
_QUICK_CHECKOUT: Final = 0.5


def pyformat(sql: str) -> str:
    """A statement written with SQLite's ``?`` placeholders, with psycopg's ``%s`` instead. The
    shared statements hold no ``?`` or ``%`` but their placeholders (checked here)."""
    if "%" in sql:
        raise ValueError(f"a shared statement holds '%': {sql!r}")
    return sql.replace("?", "%s")


class TxClosed(RuntimeError):
    """A transaction object was used after its ``with`` block ended."""


def _refused(exc: psycopg.Error, where: str) -> TuskError | None:
    """The client's error for a statement PostgreSQL refused, or None (a bug: INTERNAL)."""
    if isinstance(exc, psycopg.DataError) and "NUL" in str(exc):
        # PostgreSQL text cannot hold U+0000 (SQLite's can): a name, description, reason or
        # metadata value carrying one is refused as the client's mistake, nothing written.
        return InvalidArgument(
            f"text containing a NUL character (U+0000) cannot be stored in the metadata database {where}: {exc}",
            reason="NUL_IN_TEXT",
        )
    return unavailable(exc, where)


def unavailable(exc: BaseException, where: str) -> Unavailable | None:
    """The error a client sees for a database failure it can retry, or None for other errors."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return Unavailable(
            f"no free connection to the metadata database {where}: {exc}; retry later", reason="STORE_BUSY"
        )
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return Unavailable(
            f"the metadata database {where} is busy: another write held it past the lock timeout; nothing was"
            " written; retry",
            reason="STORE_BUSY",
        )
    if isinstance(exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
        return Unavailable(
            f"a concurrent change to the metadata database {where} conflicted with this one: nothing was written;"
            " retry",
            reason="STORE_CONFLICT",
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return Unavailable(
            f"the metadata database {where} is unreachable ({exc}); retry once it is back", reason="STORE_UNAVAILABLE"
        )
    return None


class PgTx:
    """One transaction on one connection (the table modules add typed methods). Not
    thread-safe: use it on the thread that opened it."""

    def __init__(self, conn: psycopg.Connection, writable: bool, where: str) -> None:
        self._conn = conn
        self._writable = writable
        self._where = where
        self._work = UnitOfWork()
        self._open = True

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def connection(self) -> psycopg.Connection:
        """The raw connection, for table modules on the same transaction."""
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

    def _x(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        self._check()
        try:
            return self._conn.execute(sql, params)
        except (psycopg.OperationalError, psycopg.InterfaceError, psycopg.DataError) as exc:
            raise _refused(exc, self._where) or exc from exc

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run ``sql`` once per row (pipelined); returns the rows it changed."""
        self._check()
        rows = list(rows)
        if not rows:  # no round trip for nothing
            return 0
        try:
            with self._conn.cursor() as cur:
                cur.executemany(sql, rows)
                return max(cur.rowcount, 0)
        except (psycopg.OperationalError, psycopg.InterfaceError, psycopg.DataError) as exc:
            raise _refused(exc, self._where) or exc from exc

    def _each(self, sql: str, rows: Iterable[Sequence[Any]]) -> list[int]:
        """Run ``sql`` once per row (pipelined); returns how many rows each run changed."""
        self._check()
        rows = list(rows)
        if not rows:
            return []
        try:
            with self._conn.cursor() as cur:
                cur.executemany(sql, rows, returning=True)
                return [cur.rowcount for _ in cur.results()]
        except (psycopg.OperationalError, psycopg.InterfaceError, psycopg.DataError) as exc:
            raise _refused(exc, self._where) or exc from exc

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._x(sql, params).fetchone()
        return None if row is None else row[0]


T = TypeVar("T", bound=PgTx)


def _end(conn: psycopg.Connection) -> None:
    """Roll back whatever is open on ``conn``; a broken connection is left for the pool to drop."""
    if conn.info.transaction_status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")


def _nothing() -> None:
    """What a ticket whose COMMIT failed delivers."""


class PgTransactions(Generic[T]):
    """Opens, nests and ends transactions on connections from ``pool``; ``make`` wraps each
    connection in the transaction type the store hands out."""

    def __init__(
        self,
        pool: psycopg_pool.ConnectionPool,
        make: Callable[[psycopg.Connection, bool], T],
        where: str,
        probe: Callable[[], None],
    ) -> None:
        self._pool = pool
        self._make = make
        self._where = where
        self._probe = probe  # opens (and closes) a new connection: raises when the database refuses
        self._local = threading.local()
        self._sequencer = CommitSequencer()
        # Run first in every write (under the write lock): raises to refuse it (the engine
        # lease's fence, store/postgres_lease.py); None checks nothing.
        self.fence: Callable[[T], None] | None = None
        # Run last in a write whose unit of work has events, before COMMIT (the change
        # notification to other servers, store/postgres_events.py); None: nothing.
        self.before_commit: Callable[[T], None] | None = None

    def outbox_waiting(self) -> int:
        """Committed writes whose events wait for an earlier commit's delivery (diagnostics)."""
        return self._sequencer.waiting

    def _checkout(self) -> psycopg.Connection:
        """A connection from the pool. When none comes at once, a direct connection attempt tells
        a database that is down (UNAVAILABLE now, with its error) from a busy pool (wait)."""
        try:
            return self._pool.getconn(timeout=_QUICK_CHECKOUT)
        except psycopg_pool.PoolTimeout:
            pass
        try:
            self._probe()
            return self._pool.getconn()
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as exc:
            raise unavailable(exc, self._where) or exc from exc

    def _begin(self, sql: str) -> psycopg.Connection:
        """A connection with ``sql`` (a BEGIN) run on it. Idle connections that broke since they
        were last used (a database restart) fail here, before any of the caller's work ran: each
        is dropped and the next one tried."""
        for _ in range(self._pool.max_size + 1):
            conn = self._checkout()
            try:
                conn.execute(sql)
                return conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                alive = not (conn.closed or conn.broken)
                if alive:  # the database answered (e.g. the write lock timed out): no retry
                    _end(conn)
                self._pool.putconn(conn)  # the pool discards a broken connection
                failure = exc
                if alive:
                    break
        raise unavailable(failure, self._where) or failure from failure

    @contextlib.contextmanager
    def write(self, join: object | None = None) -> Iterator[T]:
        current: T | None = getattr(self._local, "tx", None)
        check_join(current, join, "write")
        if current is not None:
            with self._savepoint(current):
                yield current
            return
        conn = self._begin(f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        tx = self._make(conn, True)
        self._local.tx = tx
        ticket = 0
        committed = False
        try:
            try:
                if self.fence is not None:
                    self.fence(tx)
                yield tx
                if self.before_commit is not None and tx._work.events:
                    self.before_commit(tx)
            except BaseException:
                _end(conn)
                raise
            if tx._work.events:  # numbered while the advisory lock still orders the writers
                ticket = self._sequencer.ticket()
            try:
                conn.execute("COMMIT")
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                _end(conn)
                raise Unavailable(
                    f"the metadata database {self._where} went away while committing ({exc}): the change may or"
                    " may not have been written; check before retrying",
                    reason="STORE_UNAVAILABLE",
                ) from exc
            except BaseException:
                _end(conn)
                raise
            committed = True
        finally:
            self._local.tx = None
            tx._open = False
            self._pool.putconn(conn)
            if ticket:  # delivered, or (no COMMIT) passed: later tickets must not wait for it
                self._sequencer.deliver(ticket, tx._work.deliver if committed else _nothing)
        tx._work.run_actions()

    @contextlib.contextmanager
    def _savepoint(self, tx: T) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0) + 1
        self._local.depth = depth
        name = f"nested_{depth}"
        mark = tx._work.mark()
        tx._x(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            with contextlib.suppress(psycopg.Error, Unavailable):
                tx._x(f"ROLLBACK TO SAVEPOINT {name}")
                tx._x(f"RELEASE SAVEPOINT {name}")
            tx._work.rollback_to(mark)
            raise
        else:
            tx._x(f"RELEASE SAVEPOINT {name}")
        finally:
            self._local.depth = depth - 1

    @contextlib.contextmanager
    def read(self, snapshot: bool = True) -> Iterator[T]:
        check_join(getattr(self._local, "tx", None), None, "read")
        # Without a snapshot the one statement runs in autocommit.
        conn = self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") if snapshot else self._checkout()
        tx = self._make(conn, False)
        try:
            yield tx
        finally:
            tx._open = False
            _end(conn)
            self._pool.putconn(conn)
