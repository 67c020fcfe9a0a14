"""The engine lease of a PostgreSQL database: which server runs the job engine, and its epoch.

One row (``engine_lease``) names the leader, its epoch and when its lease lapses, all on the
database's clock (``now()``), so the servers' clocks never matter:

* **take**: a server takes the lease only when it has lapsed (or was released); the epoch goes
  up by one. The update runs under the write lock every write transaction holds
  (postgres_tx.WRITE_LOCK), so no write can be between its fence check and its COMMIT while
  the epoch changes.
* **renew**: the holder moves the lapse time forward; the update matches its own epoch only,
  so a leader that was taken over learns it (``renew`` returns False).
* **fence**: every write transaction of a server that leads checks, right after ``BEGIN``
  (under the write lock), that the row still holds its epoch, and raises :class:`Fenced`
  otherwise: a stale leader's late writes are refused, whatever thread makes them.
* **release**: a leader closing cleanly lets the lease lapse at once, so a standby takes over
  without waiting.

The table is created here (``CREATE TABLE IF NOT EXISTS`` under the migration lock) rather
than by a numbered migration, so the PostgreSQL schema versions stay those of SQLite's, which
has no lease (one server per data directory).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from tuskd.domain.errors import Unavailable

from .postgres_migrations import MIGRATION_LOCK
from .postgres_requests import REQUESTS_TABLE
from .postgres_tx import WRITE_LOCK, PgTx, unavailable

__all__ = ["EngineLease", "Fenced", "LeaseHolder", "check_fence", "ensure_lease_table"]

# Seconds a lease lasts without renewal (the leader renews every third of it).
DEFAULT_LEASE_SECONDS: Final = 6.0

_TABLE = """
CREATE TABLE IF NOT EXISTS engine_lease (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    epoch      BIGINT NOT NULL,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
)
"""


class Fenced(Unavailable):
    """A write of a server whose engine lease was taken over (a newer epoch leads): refused."""

    reason = "ENGINE_FENCED"


@dataclass(frozen=True)
class LeaseHolder:
    epoch: int
    holder: str
    live: bool  # not lapsed, on the database's clock

    def describe(self) -> str:
        if not self.holder:
            return "no server (the engine lease was never taken)"
        state = "holding it" if self.live else "lapsed"
        return f"{self.holder} (epoch {self.epoch}, {state})"


def ensure_lease_table(conn: psycopg.Connection) -> None:
    """Create the lease table and its one row if they are missing (``conn`` in autocommit)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(_TABLE)
        conn.execute(REQUESTS_TABLE)
        conn.execute(
            "INSERT INTO engine_lease (id, epoch, holder, expires_at) VALUES (1, 0, '', '-infinity')"
            " ON CONFLICT (id) DO NOTHING"
        )


def check_fence(tx: PgTx, epoch: int) -> None:
    """Raise :class:`Fenced` unless the lease still holds ``epoch`` (inside a write transaction)."""
    current = tx._one("SELECT epoch FROM engine_lease WHERE id = 1")
    if current != epoch:
        raise Fenced(
            f"this server's engine lease (epoch {epoch}) was taken over by epoch {current}: its engine writes are"
            " refused; the new leader runs the jobs",
        )


class EngineLease:
    """Take, renew, release and read the lease, each on a short connection of its own (the
    lease must not wait for a free pooled connection, nor die with one)."""

    def __init__(self, conninfo: str, kwargs: dict[str, Any], where: str, seconds: float = DEFAULT_LEASE_SECONDS):
        if seconds <= 0:
            raise ValueError("a lease lasts a positive number of seconds")
        self._conninfo = conninfo
        self._kwargs = kwargs
        self.where = where
        self.seconds = seconds

    @contextlib.contextmanager
    def _conn(self) -> Any:
        try:
            with psycopg.connect(self._conninfo, **self._kwargs) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise unavailable(exc, self.where) or exc from exc

    def take(self, holder: str) -> int | None:
        """The new epoch when the lease had lapsed and this call took it, else None."""
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            row = conn.execute(
                "UPDATE engine_lease SET epoch = epoch + 1, holder = %s,"
                " expires_at = now() + make_interval(secs => %s)"
                " WHERE id = 1 AND expires_at <= now() RETURNING epoch",
                (holder, self.seconds),
            ).fetchone()
        return None if row is None else int(row[0])

    def renew(self, epoch: int) -> bool:
        """Extend the lease of ``epoch``; False when another server took it (this one is fenced)."""
        with self._conn() as conn:
            row = conn.execute(
                "UPDATE engine_lease SET expires_at = now() + make_interval(secs => %s)"
                " WHERE id = 1 AND epoch = %s RETURNING epoch",
                (self.seconds, epoch),
            ).fetchone()
        return row is not None

    def release(self, epoch: int) -> None:
        """Let the lease of ``epoch`` lapse now (a clean stop): a standby takes it at once."""
        with self._conn() as conn:
            conn.execute("UPDATE engine_lease SET expires_at = '-infinity' WHERE id = 1 AND epoch = %s", (epoch,))

    def holder(self) -> LeaseHolder:
        with self._conn() as conn:
            row = conn.execute("SELECT epoch, holder, expires_at > now() FROM engine_lease WHERE id = 1").fetchone()
        if row is None:
            return LeaseHolder(0, "", False)
        return LeaseHolder(int(row[0]), str(row[1]), bool(row[2]))
