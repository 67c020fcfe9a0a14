"""The metadata store on a PostgreSQL server (``tusk serve --store postgresql://...``).

The same tables, orderings and transaction semantics as the SQLite store, on psycopg 3 with a
connection pool; the transaction plumbing is in postgres_tx.py, the PFS, PPS and metadata
tables in postgres_pfs.py, postgres_pps.py and postgres_meta.py (each only its dialect's
differences from the SQL of pfs_tables.py, pps_tables.py and meta_tables.py, shared with
SQLite), the schema in postgres_migrations.py. Only the wiring
imports this module, and only for a ``postgresql://`` store, so the default install needs no
PostgreSQL driver.

Opening checks the database before anything else touches it: it must use C collation and UTF8
encoding (paths and datum ids sort byte-wise, exactly as in SQLite), then pending migrations
are applied.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Final, Literal

import psycopg
import psycopg_pool

from tuskd.domain.errors import FailedPrecondition

from .migrations import Migration
from .postgres_events import PgEventListener, RemoteHandler, new_sender, notify_topics
from .postgres_lease import DEFAULT_LEASE_SECONDS, EngineLease, Fenced, check_fence, ensure_lease_table
from .postgres_migrations import PG_MIGRATIONS, apply_pg_migrations
from .postgres_pfs import PostgresTx
from .postgres_requests import EngineRequests
from .postgres_tx import PgTransactions, TxClosed, unavailable

__all__ = ["EngineLease", "Fenced", "PostgresStore", "PostgresTx", "TxClosed", "create_database_hint"]

log = logging.getLogger(__name__)


def create_database_hint(dbname: str) -> str:
    return f"CREATE DATABASE {dbname} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"


def _describe(conninfo: str) -> str:
    """host:port/dbname of a connection string, without any credential."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or '?'}"


def _check_database(conn: psycopg.Connection, where: str) -> None:
    row = conn.execute(
        "SELECT datcollate, datctype, pg_encoding_to_char(encoding), current_database()"
        " FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    assert row is not None
    collate, ctype, encoding, name = row
    if collate not in ("C", "POSIX") or ctype not in ("C", "POSIX") or encoding != "UTF8":
        raise FailedPrecondition(
            f"the metadata database {where} uses collation {collate!r}, ctype {ctype!r} and encoding {encoding!r};"
            " tusk needs C collation and UTF8 so paths sort exactly as on SQLite. Create an empty one with"
            f" `{create_database_hint(name)}` and start tusk on it",
            reason="STORE_COLLATION",
        )


# Session advisory lock every server holds for its lifetime ("tusksrv" in ASCII): shared by
# servers whose blobs are on a shared store (S3), exclusive for one with a local blob directory.
SERVER_LOCK: Final = 0x7475736B737276


def _hold_server_lock(conninfo: str, kwargs: dict[str, Any], where: str, shared: bool) -> psycopg.Connection:
    """A connection holding the database's server lock, or FailedPrecondition naming the holder."""
    me = f"tusk server pid {os.getpid()} on {socket.gethostname()}"
    conn = psycopg.connect(conninfo, **{**kwargs, "application_name": me[:63]})
    try:
        take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        row = conn.execute(f"SELECT {take}(%s)", (SERVER_LOCK,)).fetchone()
        if row is not None and row[0]:
            return conn
        holders = conn.execute(
            "SELECT a.application_name, COALESCE(host(a.client_addr), 'a local socket'), a.backend_start, l.mode"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database()) AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
            (SERVER_LOCK >> 32, SERVER_LOCK & 0xFFFFFFFF),
        ).fetchall()
        who = (
            "another tusk server"
            if not holders
            else ", ".join(f"{h[0]} (from {h[1]}, since {h[2]:%c})" for h in holders)
        )
        if shared:
            why = (
                f"the metadata database {where} is in use by {who}, which keeps its blobs in its local data"
                " directory: only one server may use a database then. Start every server on it with the same"
                " shared blob store (--blobs s3://...)"
            )
        else:
            why = (
                f"the metadata database {where} is in use by {who}: run one tusk server per database when its"
                " blobs are in a local data directory (this one's are, and no other server can read them);"
                " servers sharing a database must share a blob store (start each with the same --blobs s3://...)"
            )
        raise FailedPrecondition(why, reason="STORE_IN_USE")
    except BaseException:
        conn.close()
        raise


class PostgresStore:
    """A :class:`~tuskd.store.base.Store` on PostgreSQL. Opening connects, checks the database
    and applies pending migrations; ``close`` closes every connection.

    ``server_lock`` (what a server asks for): hold the database's server lock, a session
    advisory lock on a connection of its own, until ``close``. ``"exclusive"`` (a server with a
    local blob directory) refuses any other server on the database at start; ``"shared"`` (a
    server whose blobs are on S3) admits other shared holders: which of them runs the engine is
    the engine lease's business (``lease``, store/postgres_lease.py). PostgreSQL releases the
    lock when that connection ends, whatever ends it.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        migrations: Sequence[Migration] = PG_MIGRATIONS,
        min_connections: int = 1,
        max_connections: int = 32,
        connect_timeout: float = 10.0,
        checkout_timeout: float = 30.0,
        lock_timeout: float = 30.0,
        server_lock: Literal["exclusive", "shared"] | None = None,
    ) -> None:
        self.where = _describe(conninfo)
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout)),
            "application_name": "tusk",
            "client_encoding": "UTF8",
            # A write waits this long for the one before it (another server's included), as
            # SQLite's busy_timeout: then UNAVAILABLE, rather than waiting forever.
            "options": f"-c lock_timeout={max(1, round(lock_timeout * 1000))}",
        }
        self._holder: psycopg.Connection | None = None
        try:
            with psycopg.connect(conninfo, **kwargs) as conn:
                _check_database(conn, self.where)
                if server_lock is not None:
                    self._holder = _hold_server_lock(conninfo, kwargs, self.where, server_lock == "shared")
                apply_pg_migrations(conn, migrations)
                ensure_lease_table(conn)
        except psycopg.OperationalError as exc:
            self._release()
            raise unavailable(exc, self.where) or exc from exc
        except BaseException:
            self._release()
            raise
        self._pool = psycopg_pool.ConnectionPool(
            conninfo,
            min_size=min_connections,
            max_size=max_connections,
            kwargs=kwargs,
            timeout=checkout_timeout,
            name="tusk-store",
            open=False,
        )
        self._pool_lock = threading.Lock()
        self._pool_open = False  # opened on first use: the constructor starts no threads
        self._tx = PgTransactions(
            self._pool, self._make, self.where, lambda: psycopg.connect(conninfo, **kwargs).close()
        )
        self._closed = False
        self._conninfo = conninfo
        self._kwargs = kwargs
        self._sender = new_sender()
        self._tx.before_commit = self._notify

    def _notify(self, tx: PostgresTx) -> None:
        notify_topics(tx, self._sender)

    def listen(self, on_remote: RemoteHandler) -> PgEventListener:
        """Start a thread handing ``on_remote`` the wait topics other servers' writes changed
        (None: anything may have; see store/postgres_events.py). ``close`` it before the store."""
        listener = PgEventListener(self._conninfo, self._kwargs, self._sender, on_remote)
        listener.start()
        return listener

    def lease(self, seconds: float = DEFAULT_LEASE_SECONDS) -> EngineLease:
        """The database's engine lease (see store/postgres_lease.py)."""
        return EngineLease(self._conninfo, self._kwargs, self.where, seconds)

    def requests(self) -> EngineRequests:
        """StopJob and RestartDatum handed to the engine leader (store/postgres_requests.py)."""
        return EngineRequests(self._conninfo, self._kwargs, self.where)

    def fence(self, epoch: int | None) -> None:
        """From now on refuse every write unless the engine lease still holds ``epoch``
        (:class:`~tuskd.store.postgres_lease.Fenced`); None: check nothing."""
        if epoch is None:
            self._tx.fence = None
            return

        def check(tx: PostgresTx) -> None:
            check_fence(tx, epoch)

        self._tx.fence = check

    def _make(self, conn: psycopg.Connection, writable: bool) -> PostgresTx:
        return PostgresTx(conn, writable, self.where)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the metadata store is closed")
        if not self._pool_open:
            with self._pool_lock:
                if not self._pool_open and not self._closed:
                    self._pool.open()
                    self._pool_open = True

    @contextlib.contextmanager
    def write(self, join: object | None = None) -> Iterator[PostgresTx]:
        self._check_open()
        with self._tx.write(join) as tx:
            yield tx

    @contextlib.contextmanager
    def read(self, snapshot: bool = True) -> Iterator[PostgresTx]:
        self._check_open()
        with self._tx.read(snapshot) as tx:
            yield tx

    def outbox_waiting(self) -> int:
        """Committed writes whose events wait for an earlier commit's delivery (diagnostics)."""
        return self._tx.outbox_waiting()

    def close(self) -> None:
        if self._closed:
            return
        with self._pool_lock:
            self._closed = True
            if self._pool_open:
                self._pool.close()
        self._release()

    def _release(self) -> None:
        if self._holder is not None:
            with contextlib.suppress(psycopg.Error):
                self._holder.close()
            self._holder = None
