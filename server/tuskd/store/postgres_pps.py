"""The PPS tables on PostgreSQL: :class:`tuskd.store.pps.PpsTx` on a PostgresTx's transaction.

The row layouts (column lists and row converters) are shared with the SQLite implementation,
so both stores return identical rows; the queries are PostgreSQL's (``RETURNING``, ``ON
CONFLICT``, ``= ANY(array)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.states import DatumState, JobState

from .postgres_tx import PgTables, pyformat
from .pps import DatumConflict, DatumRow, JobEvent, JobQuery, JobRow, OutputEntry, PipelineRow, PipelineVersionRow
from .pps_unfinished import UNFINISHED_JOBS_WHERE
from .sqlite_pps import (
    _DATUM_COLUMNS,
    _DATUM_UPSERT,
    _JOB_COLUMNS,
    _PIPELINE_COLUMNS,
    _datum_row,
    _job_row,
    _us,
)

__all__ = ["PostgresPpsTx"]


def _job_values(job: Job) -> tuple[Any, ...]:
    c, s = job.counts, job.stats
    return (
        int(job.state), job.reason, job.restart, c.processed, c.skipped, c.failed, c.recovered, job.total,
        s.download_time, s.process_time, s.upload_time, s.download_bytes, s.upload_bytes,
        _us(job.created), _us(job.started), _us(job.finished),
    )  # fmt: skip


class PostgresPpsTx(PgTables):
    """PPS tables inside one PostgresTx."""

    # -- pipelines --------------------------------------------------------------------------

    def insert_pipeline(self, project: str, name: str, state: int, now_us: int) -> PipelineRow:
        new_id = self._tx._one(
            "INSERT INTO pipelines (project, name, version, state, created_us, updated_us)"
            " VALUES (%s, %s, 0, %s, %s, %s) RETURNING id",
            (project, name, state, now_us, now_us),
        )
        return PipelineRow(new_id, project, name, 0, state, False, "", now_us, now_us)

    @staticmethod
    def _pipeline(r: Sequence[Any]) -> PipelineRow:
        return PipelineRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8])

    def get_pipeline(self, project: str, name: str) -> PipelineRow | None:
        r = self._x(
            f"SELECT {_PIPELINE_COLUMNS} FROM pipelines WHERE project = %s AND name = %s", (project, name)
        ).fetchone()
        return None if r is None else self._pipeline(r)

    def list_pipelines(self, projects: Sequence[str] = ()) -> list[PipelineRow]:
        sql = f"SELECT {_PIPELINE_COLUMNS} FROM pipelines"
        params: list[Any] = []
        if projects:
            sql += " WHERE project = ANY(%s)"
            params.append(list(projects))
        return [self._pipeline(r) for r in self._x(sql + " ORDER BY project, name", params)]

    def update_pipeline(
        self,
        pipeline_id: int,
        now_us: int,
        *,
        version: int | None = None,
        state: int | None = None,
        stopped: bool | None = None,
        reason: str | None = None,
    ) -> None:
        sets, params = ["updated_us = %s"], [now_us]
        for column, value in (("version", version), ("state", state), ("stopped", stopped), ("reason", reason)):
            if value is not None:
                sets.append(f"{column} = %s")
                params.append(value)  # type: ignore[arg-type]
        self._x(f"UPDATE pipelines SET {', '.join(sets)} WHERE id = %s", [*params, pipeline_id])

    def delete_pipeline(self, pipeline_id: int) -> None:
        self._x("DELETE FROM pipelines WHERE id = %s", (pipeline_id,))

    def insert_pipeline_version(
        self, pipeline_id: int, version: int, spec_json: str, user_spec_json: str, now_us: int
    ) -> None:
        self._x(
            "INSERT INTO pipeline_versions (pipeline_id, version, spec_json, user_spec_json, created_us)"
            " VALUES (%s, %s, %s, %s, %s)",
            (pipeline_id, version, spec_json, user_spec_json, now_us),
        )

    def get_pipeline_version(self, pipeline_id: int, version: int) -> PipelineVersionRow | None:
        r = self._x(
            "SELECT pipeline_id, version, spec_json, user_spec_json, created_us FROM pipeline_versions"
            " WHERE pipeline_id = %s AND version = %s",
            (pipeline_id, version),
        ).fetchone()
        return None if r is None else PipelineVersionRow(*r)

    # -- jobs -------------------------------------------------------------------------------

    # A job change is one statement (the job row, both counters and the history row), not one
    # round trip each: job writes are the engine's hot path.
    _EVENT = (
        ", s AS (UPDATE job_sets SET seq = seq + 1 WHERE set_id = %s RETURNING seq)"
        " INSERT INTO job_events (job_row, set_id, job_seq, set_seq, at_us, snapshot)"
        " SELECT j.id, %s, j.seq, s.seq, %s, %s FROM j, s RETURNING job_row, job_seq, set_seq"
    )

    def insert_job(self, job: Job, snapshot: str, now_us: int) -> JobRow:
        k = job.key
        self._x(
            "INSERT INTO job_sets (set_id, seq, created_us) VALUES (%s, 0, %s) ON CONFLICT DO NOTHING", (k.id, now_us)
        )
        found = self._x(
            "WITH j AS (INSERT INTO jobs (project, pipeline, job_id, pipeline_version, output_repo, output_branch,"
            " state, reason, restart, processed, skipped, failed, recovered, total, download_time, process_time,"
            " upload_time, download_bytes, upload_bytes, created_us, started_us, finished_us, seq)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1)"
            " RETURNING id, seq)" + self._EVENT,
            (k.project, k.pipeline, k.id, job.pipeline_version, job.output_repo, job.output_branch,
             *_job_values(job), k.id, k.id, now_us, snapshot),
        ).fetchone()  # fmt: skip
        assert found is not None  # the INSERT made exactly one row
        return JobRow(int(found[0]), job, int(found[1]))

    def save_job(self, row: int, job: Job, snapshot: str, now_us: int) -> tuple[int, int]:
        found = self._x(
            "WITH j AS (UPDATE jobs SET state = %s, reason = %s, restart = %s, processed = %s, skipped = %s,"
            " failed = %s, recovered = %s, total = %s, download_time = %s, process_time = %s, upload_time = %s,"
            " download_bytes = %s, upload_bytes = %s, created_us = %s, started_us = %s, finished_us = %s,"
            " seq = seq + 1 WHERE id = %s RETURNING id, seq)" + self._EVENT,
            (*_job_values(job), row, job.key.id, job.key.id, now_us, snapshot),
        ).fetchone()
        if found is None:
            raise KeyError(f"job row {row}")
        return int(found[1]), int(found[2])

    def get_job(self, key: JobKey) -> JobRow | None:
        r = self._x(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE project = %s AND pipeline = %s AND job_id = %s",
            (key.project, key.pipeline, key.id),
        ).fetchone()
        return None if r is None else _job_row(r)

    def jobs_in_set(self, set_id: str) -> list[JobRow]:
        rows = self._x(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = %s ORDER BY id", (set_id,))
        return [_job_row(r) for r in rows]

    def list_jobs(self, query: JobQuery) -> list[JobRow]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        for clause, value in (
            ("project = %s", query.project),
            ("project = ANY(%s)", list(query.projects) or None),
            ("pipeline = %s", query.pipeline),
            ("job_id = ANY(%s)", list(query.set_ids) or None),
            ("state = ANY(%s)", [int(s) for s in query.states] or None),
            ("pipeline_version = %s", query.pipeline_version),
            ("created_us < %s", query.created_before_us),
            ("created_us > %s", query.created_after_us),
            ("id < %s" if query.newest_first else "id > %s", query.after_row),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY id"
        sql += " DESC" if query.newest_first else " ASC"
        if query.limit is not None:
            sql += " LIMIT %s"
            params.append(query.limit)
        return [_job_row(r) for r in self._x(sql, params)]

    def count_jobs(self) -> int:
        return int(self._tx._one("SELECT COUNT(*) FROM jobs"))

    def job_events(self, row: int, after_seq: int) -> list[JobEvent]:
        rows = self._x(
            "SELECT job_seq, snapshot FROM job_events WHERE job_row = %s AND job_seq > %s ORDER BY job_seq",
            (row, after_seq),
        )
        return [JobEvent(s, snap) for s, snap in rows]

    def set_events(self, set_id: str, after_seq: int) -> list[JobEvent]:
        rows = self._x(
            "SELECT set_seq, snapshot FROM job_events WHERE set_id = %s AND set_seq > %s ORDER BY set_seq",
            (set_id, after_seq),
        )
        return [JobEvent(s, snap) for s, snap in rows]

    def set_seq(self, set_id: str) -> int:
        return int(self._tx._one("SELECT seq FROM job_sets WHERE set_id = %s", (set_id,)) or 0)

    def delete_job(self, row: int) -> None:
        self._x("DELETE FROM jobs WHERE id = %s", (row,))

    def unfinished_jobs(self) -> list[JobRow]:
        # The partial index's own condition, so the planner can read the index (no scan).
        rows = self._x(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {UNFINISHED_JOBS_WHERE} ORDER BY id")
        return [_job_row(r) for r in rows]

    def last_successful_job(self, project: str, pipeline: str, before_row: int) -> JobRow | None:
        r = self._x(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE project = %s AND pipeline = %s AND state = %s AND id < %s"
            " ORDER BY id DESC LIMIT 1",
            (project, pipeline, int(JobState.JOB_SUCCESS), before_row),
        ).fetchone()
        return None if r is None else _job_row(r)

    # -- datums -----------------------------------------------------------------------------

    def _key_of(self, job_row: int) -> JobKey:
        r = self._x("SELECT project, pipeline, job_id FROM jobs WHERE id = %s", (job_row,)).fetchone()
        if r is None:
            raise KeyError(f"job row {job_row}")
        return JobKey(*r)

    def upsert_datums(self, job_row: int, changes: Iterable[DatumChange], now_us: int) -> None:
        changes = list(changes)
        counts = self._tx._each(
            pyformat(_DATUM_UPSERT) + " RETURNING 1",
            (
                (job_row, r.id, r.hash, int(r.state), r.attempts, r.reason, c.inputs_json, r.stats.process_time,
                 r.stats.download_bytes, r.stats.upload_bytes, None if r.counted is None else int(r.counted),
                 now_us, int(c.before))  # no stored row is UNKNOWN: a change from UNKNOWN updates none
                for c in changes
                for r in (c.record,)
            ),
        )  # fmt: skip
        for change, count in zip(changes, counts, strict=True):
            if count != 1:
                r = change.record
                found = self._x(
                    "SELECT state FROM datums WHERE job_row = %s AND datum_id = %s", (job_row, r.id)
                ).fetchone()
                raise DatumConflict(
                    f"datum {r.id} of job {r.job} is {DatumState(found[0]).name if found else 'not recorded'}, "
                    f"not {change.before.name}: its move to {r.state.name} was refused"
                )

    def get_datum(self, job_row: int, datum_id: str) -> DatumRow | None:
        r = self._x(
            f"SELECT {_DATUM_COLUMNS} FROM datums WHERE job_row = %s AND datum_id = %s", (job_row, datum_id)
        ).fetchone()
        return None if r is None else _datum_row(r, self._key_of(job_row))

    def list_datums(
        self,
        job_row: int,
        states: Sequence[DatumState] = (),
        after_id: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[DatumRow]:
        key = self._key_of(job_row)
        sql = f"SELECT {_DATUM_COLUMNS} FROM datums WHERE job_row = %s"
        params: list[Any] = [job_row]
        if states:
            sql += " AND state = ANY(%s)"
            params.append([int(s) for s in states])
        if after_id is not None:
            sql += " AND datum_id < %s" if reverse else " AND datum_id > %s"
            params.append(after_id)
        sql += " ORDER BY datum_id" + (" DESC" if reverse else "")
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_datum_row(r, key) for r in self._x(sql, params)]

    def datum_hashes(self, job_row: int, states: Sequence[DatumState]) -> dict[str, str]:
        sql = "SELECT datum_id, hash FROM datums WHERE job_row = %s"
        params: list[Any] = [job_row]
        if states:
            sql += " AND state = ANY(%s)"
            params.append([int(s) for s in states])
        return dict(self._x(sql, params).fetchall())

    def put_datum_outputs(self, job_row: int, entries: Iterable[OutputEntry]) -> None:
        self._tx._many(
            "INSERT INTO datum_outputs (job_row, datum_id, path, blob, size) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (job_row, datum_id, path) DO UPDATE SET blob = EXCLUDED.blob, size = EXCLUDED.size",
            ((job_row, e.datum_id, e.path, e.blob, e.size) for e in entries),
        )

    def datum_outputs(self, job_row: int, datum_ids: Sequence[str] | None = None) -> list[OutputEntry]:
        sql = "SELECT datum_id, path, blob, size FROM datum_outputs WHERE job_row = %s"
        params: list[Any] = [job_row]
        if datum_ids is not None:
            sql += " AND datum_id = ANY(%s)"
            params.append(list(datum_ids))
        return [OutputEntry(*r) for r in self._x(sql + " ORDER BY datum_id, path", params)]

    def copy_datum_outputs(self, from_row: int, to_row: int, datum_ids: Sequence[str]) -> None:
        if not datum_ids:
            return
        self._x(
            "INSERT INTO datum_outputs (job_row, datum_id, path, blob, size)"
            " SELECT %s, datum_id, path, blob, size FROM datum_outputs WHERE job_row = %s AND datum_id = ANY(%s)"
            " ON CONFLICT (job_row, datum_id, path) DO UPDATE SET blob = EXCLUDED.blob, size = EXCLUDED.size",
            (to_row, from_row, list(datum_ids)),
        )
