"""The PPS tables on PostgreSQL: :class:`tuskd.store.pps.PpsTx` on a PostgresTx's transaction.

The statements are pps_tables.py's, shared with SQLite (``?`` turned into ``%s``); this module
supplies what PostgreSQL does differently: ``RETURNING id`` for a new row, ``= ANY(array)`` for
a list, booleans, and fewer round trips on the hot paths (a job change is one statement, the
datum ledger's batch one pipeline).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.jobs import Job

from .dialect import Rows
from .postgres_tx import PgTx, pyformat
from .pps import JobRow
from .pps_tables import DATUM_UPSERT, PpsTables, datum_upsert_params

__all__ = ["PostgresPpsTx"]


class PostgresPpsTx(PpsTables):
    """PPS tables inside one PostgresTx."""

    _IDS_PER_STATEMENT = 1 << 30  # one array parameter holds them all

    def __init__(self, tx: PgTx) -> None:
        self._tx = self._pg = tx

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._pg._x(pyformat(sql), params)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._pg._many(pyformat(sql), rows)

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._pg._one(pyformat(sql + " RETURNING id"), params))

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _flag(self, value: bool) -> Any:
        return value  # a BOOLEAN column

    def _among(self, column: str, values: Collection[str]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [sorted(values)]

    # -- jobs: the job row, both counters and the history row in one statement ----------------

    _EVENT = (
        ", s AS (UPDATE job_sets SET seq = seq + 1 WHERE set_id = ? RETURNING seq)"
        " INSERT INTO job_events (job_row, set_id, job_seq, set_seq, at_us, snapshot)"
        " SELECT j.id, ?, j.seq, s.seq, ?, ? FROM j, s RETURNING job_row, job_seq, set_seq"
    )

    def insert_job(self, job: Job, snapshot: str, now_us: int) -> JobRow:
        k = job.key
        self._x(
            "INSERT INTO job_sets (set_id, seq, created_us) VALUES (?, 0, ?) ON CONFLICT DO NOTHING", (k.id, now_us)
        )
        found = self._x(
            "WITH j AS (INSERT INTO jobs (project, pipeline, job_id, pipeline_version, output_repo, output_branch,"
            " state, reason, restart, processed, skipped, failed, recovered, total, download_time, process_time,"
            " upload_time, download_bytes, upload_bytes, created_us, started_us, finished_us, seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
            " RETURNING id, seq)" + self._EVENT,
            (k.project, k.pipeline, k.id, job.pipeline_version, job.output_repo, job.output_branch,
             *self._job_values(job), k.id, k.id, now_us, snapshot),
        ).fetchone()  # fmt: skip
        assert found is not None  # the INSERT made exactly one row
        return JobRow(int(found[0]), job, int(found[1]))

    def save_job(self, row: int, job: Job, snapshot: str, now_us: int) -> tuple[int, int]:
        found = self._x(
            "WITH j AS (UPDATE jobs SET state = ?, reason = ?, restart = ?, processed = ?, skipped = ?,"
            " failed = ?, recovered = ?, total = ?, download_time = ?, process_time = ?, upload_time = ?,"
            " download_bytes = ?, upload_bytes = ?, created_us = ?, started_us = ?, finished_us = ?,"
            " seq = seq + 1 WHERE id = ? RETURNING id, seq)" + self._EVENT,
            (*self._job_values(job), row, job.key.id, job.key.id, now_us, snapshot),
        ).fetchone()
        if found is None:
            raise KeyError(f"job row {row}")
        return int(found[1]), int(found[2])

    # -- datums: the ledger's batch in one pipeline ----------------------------------------------

    def upsert_datums(self, job_row: int, changes: Iterable[DatumChange], now_us: int) -> None:
        changes = list(changes)
        counts = self._pg._each(
            pyformat(DATUM_UPSERT) + " RETURNING 1", (datum_upsert_params(job_row, c, now_us) for c in changes)
        )
        for change, count in zip(changes, counts, strict=True):
            if count != 1:
                self._refuse(job_row, change)
