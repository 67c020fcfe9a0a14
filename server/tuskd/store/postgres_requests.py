"""Engine requests of a PostgreSQL database: StopJob and RestartDatum a server that does not run
the engine hands to the one that does (engine/engine_requests.py drives both sides).

``engine_requests`` holds one row per request: its kind and arguments (JSON), the epoch of the
leader that claimed it, and once done its result (JSON) or error (class name and message). The
submitting server inserts the row; the leader claims rows nobody claimed, or that a leader of
an older epoch claimed and never finished (it died), runs them and writes the outcome; the
submitter reads the row until it is done. Each call is one short connection of its own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, Final

import psycopg

from .postgres_tx import unavailable

__all__ = ["REQUESTS_TABLE", "EngineRequests"]

REQUESTS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS engine_requests (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL,
    args          TEXT NOT NULL,
    claimed_epoch BIGINT,
    done          BOOLEAN NOT NULL DEFAULT false,
    result        TEXT,
    error_class   TEXT,
    error         TEXT
)
"""


class EngineRequests:
    def __init__(self, conninfo: str, kwargs: dict[str, Any], where: str) -> None:
        self._conninfo = conninfo
        self._kwargs = kwargs
        self.where = where

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        try:
            with psycopg.connect(self._conninfo, **self._kwargs) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise unavailable(exc, self.where) or exc from exc

    def submit(self, kind: str, args: dict[str, Any]) -> int:
        with self._conn() as conn:
            row = conn.execute(
                "INSERT INTO engine_requests (kind, args) VALUES (%s, %s) RETURNING id", (kind, json.dumps(args))
            ).fetchone()
        assert row is not None
        return int(row[0])

    def outcome(self, request_id: int) -> tuple[bool, Any, str | None, str | None]:
        """(done, result, error class name, error message) of a request."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT done, result, error_class, error FROM engine_requests WHERE id = %s", (request_id,)
            ).fetchone()
        if row is None:
            return True, None, "Unavailable", "the engine request disappeared"
        done, result, error_class, error = row
        return bool(done), None if result is None else json.loads(result), error_class, error

    def claim(self, epoch: int) -> list[tuple[int, str, dict[str, Any]]]:
        """Requests not done and not claimed by this epoch: now claimed by it (oldest first)."""
        with self._conn() as conn:
            rows = conn.execute(
                "UPDATE engine_requests SET claimed_epoch = %s WHERE NOT done"
                " AND (claimed_epoch IS NULL OR claimed_epoch < %s) RETURNING id, kind, args",
                (epoch, epoch),
            ).fetchall()
        return sorted((int(r[0]), str(r[1]), json.loads(r[2])) for r in rows)

    def finish(self, request_id: int, result: Any, error: BaseException | None) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE engine_requests SET done = true, result = %s, error_class = %s, error = %s WHERE id = %s",
                (
                    None if error is not None else json.dumps(result),
                    None if error is None else type(error).__name__,
                    None if error is None else str(error),
                    request_id,
                ),
            )
