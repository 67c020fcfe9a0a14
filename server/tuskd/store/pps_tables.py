"""The SQL of :class:`tuskd.store.pps.PpsTx` (pipelines, jobs, job history, datums, datum
outputs), written once for both stores.

Statements use ``?`` placeholders and SQL that SQLite and PostgreSQL both speak; a store's
subclass runs them on its own transaction (``_x``, ``_many``) and supplies the few things that
differ: how a new row's id comes back (``_insert_id``), how a column is matched against a list
(``_in``: ``IN (?, ...)`` on SQLite, ``= ANY(?)`` with one array on PostgreSQL), how many ids go
in one statement, and how a boolean is stored. PostgreSQL's subclass also replaces the hot job
writes and the datum ledger's batch with fewer round trips. Rows come back the same from both.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.jobs import Counts, DatumRecord, Job, JobKey, Stats
from tuskd.domain.states import DatumState, JobState

from .dialect import Rows, Unit
from .pps import (
    DatumConflict,
    DatumRow,
    JobEvent,
    JobQuery,
    JobRow,
    OutputEntry,
    PipelineRow,
    PipelineVersionRow,
)
from .pps_unfinished import UNFINISHED_JOBS_WHERE

__all__ = ["PpsTables", "Rows"]

_JOB_COLUMNS = (
    "id, project, pipeline, job_id, pipeline_version, output_repo, output_branch, state, reason, restart, "
    "processed, skipped, failed, recovered, total, download_time, process_time, upload_time, "
    "download_bytes, upload_bytes, created_us, started_us, finished_us, seq"
)
_PIPELINE_COLUMNS = "id, project, name, version, state, stopped, reason, created_us, updated_us"
_DATUM_COLUMNS = (
    "job_row, datum_id, hash, state, attempts, reason, inputs_json, process_time, download_bytes, upload_bytes, counted"
)
# The ledger's checked write (domain/datum_ledger.py): insert a new row, or update the row only
# while it is in the state the change was made from. Plain SQL upsert syntax (SQLite >= 3.24 and
# PostgreSQL both speak it).
DATUM_UPSERT = (
    f"INSERT INTO datums ({_DATUM_COLUMNS}, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (job_row, datum_id) DO UPDATE SET hash = excluded.hash, state = excluded.state,"
    " attempts = excluded.attempts, reason = excluded.reason, inputs_json = excluded.inputs_json,"
    " process_time = excluded.process_time, download_bytes = excluded.download_bytes,"
    " upload_bytes = excluded.upload_bytes, counted = excluded.counted, updated_us = excluded.updated_us"
    " WHERE datums.state = ?"
)
# A datum's output file written again replaces the row (SQLite and PostgreSQL both speak it).
_OUTPUT_UPSERT = " ON CONFLICT (job_row, datum_id, path) DO UPDATE SET blob = excluded.blob, size = excluded.size"
_US = 1_000_000
# A carried datum (carry_skipped_datums) was SUCCESS or SKIPPED in the job it comes from.
_CARRIED_STATES = f"{int(DatumState.SUCCESS)}, {int(DatumState.SKIPPED)}"


def _us(seconds: float) -> int:
    return round(seconds * _US)


def _job_row(r: tuple[Any, ...]) -> JobRow:
    job = Job(
        key=JobKey(r[1], r[2], r[3]),
        pipeline_version=r[4],
        output_repo=r[5],
        output_branch=r[6],
        state=JobState(r[7]),
        reason=r[8],
        restart=r[9],
        counts=Counts(r[10], r[11], r[12], r[13]),
        total=r[14],
        stats=Stats(r[15], r[16], r[17], r[18], r[19]),
        created=r[20] / _US,
        started=r[21] / _US,
        finished=r[22] / _US,
    )
    return JobRow(r[0], job, r[23])


def _datum_row(r: tuple[Any, ...], key: JobKey) -> DatumRow:
    record = DatumRecord(
        job=key,
        id=r[1],
        hash=r[2],
        state=DatumState(r[3]),
        attempts=r[4],
        reason=r[5],
        stats=Stats(process_time=r[7], download_bytes=r[8], upload_bytes=r[9]),
        counted=None if r[10] is None else DatumState(r[10]),
    )
    return DatumRow(record, r[6])




def datum_upsert_params(job_row: int, c: DatumChange, now_us: int) -> tuple[Any, ...]:
    """The parameters of ``DATUM_UPSERT`` for one ledger change (no stored row is UNKNOWN: a
    change from UNKNOWN updates none)."""
    r = c.record
    return (job_row, r.id, r.hash, int(r.state), r.attempts, r.reason, c.inputs_json, r.stats.process_time,
            r.stats.download_bytes, r.stats.upload_bytes, None if r.counted is None else int(r.counted), now_us,
            int(c.before))  # fmt: skip


class PpsTables(ABC):
    """PPS tables inside the transaction ``_tx``; the subclass runs the statements."""

    _tx: Unit
    _IDS_PER_STATEMENT = 500  # list-valued parameters per statement (SQLite's variable limit)

    @abstractmethod
    def _x(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        ...

    @abstractmethod
    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        ...

    @abstractmethod
    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT of one row; the id it was given."""
        ...

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` matches one of ``values``: the condition and its parameters."""
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    def _flag(self, value: bool) -> Any:
        return int(value)

    def _among(self, column: str, values: Collection[str]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``, a list of any length, as one parameter (SQLite:
        a JSON array read by ``json_each``; PostgreSQL overrides it with ``= ANY``)."""
        return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(sorted(values))]

    @property
    def writable(self) -> bool:
        return self._tx.writable

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._tx.after_commit(callback)

    def emit(self, sink: Callable[[Sequence[Any]], None], event: Any) -> None:
        self._tx.emit(sink, event)

    # -- pipelines --------------------------------------------------------------------------

    def insert_pipeline(self, project: str, name: str, state: int, now_us: int) -> PipelineRow:
        new_id = self._insert_id(
            "INSERT INTO pipelines (project, name, version, state, created_us, updated_us) VALUES (?, ?, 0, ?, ?, ?)",
            (project, name, state, now_us, now_us),
        )
        return PipelineRow(new_id, project, name, 0, state, False, "", now_us, now_us)

    @staticmethod
    def _pipeline(r: tuple[Any, ...]) -> PipelineRow:
        return PipelineRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8])

    def get_pipeline(self, project: str, name: str) -> PipelineRow | None:
        r = self._x(
            f"SELECT {_PIPELINE_COLUMNS} FROM pipelines WHERE project = ? AND name = ?", (project, name)
        ).fetchone()
        return None if r is None else self._pipeline(r)

    def list_pipelines(self, projects: Sequence[str] = ()) -> list[PipelineRow]:
        sql = f"SELECT {_PIPELINE_COLUMNS} FROM pipelines"
        params: list[Any] = []
        if projects:
            condition, params = self._in("project", projects)
            sql += f" WHERE {condition}"
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
        sets, params = ["updated_us = ?"], [now_us]
        for column, value in (("version", version), ("state", state), ("stopped", stopped), ("reason", reason)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(self._flag(value) if isinstance(value, bool) else value)  # type: ignore[arg-type]
        self._x(f"UPDATE pipelines SET {', '.join(sets)} WHERE id = ?", [*params, pipeline_id])

    def delete_pipeline(self, pipeline_id: int) -> None:
        self._x("DELETE FROM pipelines WHERE id = ?", (pipeline_id,))

    def insert_pipeline_version(
        self, pipeline_id: int, version: int, spec_json: str, user_spec_json: str, now_us: int
    ) -> None:
        self._x(
            "INSERT INTO pipeline_versions (pipeline_id, version, spec_json, user_spec_json, created_us)"
            " VALUES (?, ?, ?, ?, ?)",
            (pipeline_id, version, spec_json, user_spec_json, now_us),
        )

    def get_pipeline_version(self, pipeline_id: int, version: int) -> PipelineVersionRow | None:
        r = self._x(
            "SELECT pipeline_id, version, spec_json, user_spec_json, created_us FROM pipeline_versions"
            " WHERE pipeline_id = ? AND version = ?",
            (pipeline_id, version),
        ).fetchone()
        return None if r is None else PipelineVersionRow(*r)

    # -- jobs -------------------------------------------------------------------------------

    def _job_values(self, job: Job) -> tuple[Any, ...]:
        c, s = job.counts, job.stats
        return (
            int(job.state), job.reason, job.restart, c.processed, c.skipped, c.failed, c.recovered, job.total,
            s.download_time, s.process_time, s.upload_time, s.download_bytes, s.upload_bytes,
            _us(job.created), _us(job.started), _us(job.finished),
        )  # fmt: skip

    def insert_job(self, job: Job, snapshot: str, now_us: int) -> JobRow:
        k = job.key
        self._x(
            "INSERT INTO job_sets (set_id, seq, created_us) VALUES (?, 0, ?) ON CONFLICT DO NOTHING", (k.id, now_us)
        )
        row = self._insert_id(
            "INSERT INTO jobs (project, pipeline, job_id, pipeline_version, output_repo, output_branch, state,"
            " reason, restart, processed, skipped, failed, recovered, total, download_time, process_time,"
            " upload_time, download_bytes, upload_bytes, created_us, started_us, finished_us, seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (k.project, k.pipeline, k.id, job.pipeline_version, job.output_repo, job.output_branch,
             *self._job_values(job)),
        )  # fmt: skip
        job_seq, _ = self._append_event(row, k.id, snapshot, now_us)
        return JobRow(row, job, job_seq)

    def _append_event(self, row: int, set_id: str, snapshot: str, now_us: int) -> tuple[int, int]:
        job_seq = self._x("UPDATE jobs SET seq = seq + 1 WHERE id = ? RETURNING seq", (row,)).fetchone()[0]
        set_seq = self._x("UPDATE job_sets SET seq = seq + 1 WHERE set_id = ? RETURNING seq", (set_id,)).fetchone()[0]
        self._x(
            "INSERT INTO job_events (job_row, set_id, job_seq, set_seq, at_us, snapshot) VALUES (?, ?, ?, ?, ?, ?)",
            (row, set_id, job_seq, set_seq, now_us, snapshot),
        )
        return int(job_seq), int(set_seq)

    def get_job(self, key: JobKey) -> JobRow | None:
        r = self._x(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE project = ? AND pipeline = ? AND job_id = ?",
            (key.project, key.pipeline, key.id),
        ).fetchone()
        return None if r is None else _job_row(r)

    def jobs_in_set(self, set_id: str) -> list[JobRow]:
        return [
            _job_row(r) for r in self._x(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ? ORDER BY id", (set_id,))
        ]

    def list_jobs(self, query: JobQuery) -> list[JobRow]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if query.project is not None:
            where.append("project = ?")
            params.append(query.project)
        if query.projects:
            condition, values = self._in("project", list(query.projects))
            where.append(condition)
            params += values
        if query.pipeline is not None:
            where.append("pipeline = ?")
            params.append(query.pipeline)
        if query.set_ids:
            condition, values = self._in("job_id", list(query.set_ids))
            where.append(condition)
            params += values
        if query.states:
            condition, values = self._in("state", [int(s) for s in query.states])
            where.append(condition)
            params += values
        if query.pipeline_version is not None:
            where.append("pipeline_version = ?")
            params.append(query.pipeline_version)
        if query.created_before_us is not None:
            where.append("created_us < ?")
            params.append(query.created_before_us)
        if query.created_after_us is not None:
            where.append("created_us > ?")
            params.append(query.created_after_us)
        if query.after_row is not None:
            where.append("id < ?" if query.newest_first else "id > ?")
            params.append(query.after_row)
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY id"
        sql += " DESC" if query.newest_first else " ASC"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return [_job_row(r) for r in self._x(sql, params)]

    def count_jobs(self) -> int:
        return int(self._x("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def save_job(self, row: int, job: Job, snapshot: str, now_us: int) -> tuple[int, int]:
        self._x(
            "UPDATE jobs SET state = ?, reason = ?, restart = ?, processed = ?, skipped = ?, failed = ?,"
            " recovered = ?, total = ?, download_time = ?, process_time = ?, upload_time = ?,"
            " download_bytes = ?, upload_bytes = ?, created_us = ?, started_us = ?, finished_us = ?"
            " WHERE id = ?",
            (*self._job_values(job), row),
        )
        return self._append_event(row, job.key.id, snapshot, now_us)

    def job_events(self, row: int, after_seq: int) -> list[JobEvent]:
        return [
            JobEvent(s, snap)
            for s, snap in self._x(
                "SELECT job_seq, snapshot FROM job_events WHERE job_row = ? AND job_seq > ? ORDER BY job_seq",
                (row, after_seq),
            )
        ]

    def set_events(self, set_id: str, after_seq: int) -> list[JobEvent]:
        return [
            JobEvent(s, snap)
            for s, snap in self._x(
                "SELECT set_seq, snapshot FROM job_events WHERE set_id = ? AND set_seq > ? ORDER BY set_seq",
                (set_id, after_seq),
            )
        ]

    def set_seq(self, set_id: str) -> int:
        r = self._x("SELECT seq FROM job_sets WHERE set_id = ?", (set_id,)).fetchone()
        return 0 if r is None else int(r[0])

    def delete_job(self, row: int) -> None:
        self._x("DELETE FROM jobs WHERE id = ?", (row,))

    def unfinished_jobs(self) -> list[JobRow]:
        # The WHERE is the partial index's own condition, so SQLite reads the index (no scan).
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {UNFINISHED_JOBS_WHERE} ORDER BY id"
        return [_job_row(r) for r in self._x(sql)]

    def unfinished_job_keys(self) -> list[JobKey]:
        sql = f"SELECT project, pipeline, job_id FROM jobs WHERE {UNFINISHED_JOBS_WHERE} ORDER BY id"
        return [JobKey(*r) for r in self._x(sql)]

    def last_successful_job(self, project: str, pipeline: str, before_row: int) -> JobRow | None:
        r = self._x(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE project = ? AND pipeline = ? AND state = ? AND id < ?"
            " ORDER BY id DESC LIMIT 1",
            (project, pipeline, int(JobState.JOB_SUCCESS), before_row),
        ).fetchone()
        return None if r is None else _job_row(r)

    # -- datums -----------------------------------------------------------------------------

    def _key_of(self, job_row: int) -> JobKey:
        r = self._x("SELECT project, pipeline, job_id FROM jobs WHERE id = ?", (job_row,)).fetchone()
        if r is None:
            raise KeyError(f"job row {job_row}")
        return JobKey(*r)

    def upsert_datums(self, job_row: int, changes: Iterable[DatumChange], now_us: int) -> None:
        for c in changes:
            if self._x(DATUM_UPSERT, datum_upsert_params(job_row, c, now_us)).rowcount != 1:
                self._refuse(job_row, c)

    def _refuse(self, job_row: int, change: DatumChange) -> None:
        """DatumConflict for ``change``, naming the state its row is really in."""
        r = change.record
        found = self._x("SELECT state FROM datums WHERE job_row = ? AND datum_id = ?", (job_row, r.id)).fetchone()
        raise DatumConflict(
            f"datum {r.id} of job {r.job} is {DatumState(found[0]).name if found else 'not recorded'}, "
            f"not {change.before.name}: its move to {r.state.name} was refused"
        )

    def get_datum(self, job_row: int, datum_id: str) -> DatumRow | None:
        r = self._x(
            f"SELECT {_DATUM_COLUMNS} FROM datums WHERE job_row = ? AND datum_id = ?", (job_row, datum_id)
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
        sql = f"SELECT {_DATUM_COLUMNS} FROM datums WHERE job_row = ?"
        params: list[Any] = [job_row]
        if states:
            condition, values = self._in("state", [int(s) for s in states])
            sql += f" AND {condition}"
            params += values
        if after_id is not None:
            sql += " AND datum_id < ?" if reverse else " AND datum_id > ?"
            params.append(after_id)
        sql += " ORDER BY datum_id" + (" DESC" if reverse else "")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_datum_row(r, key) for r in self._x(sql, params)]

    def datum_hashes(
        self, job_row: int, states: Sequence[DatumState], datum_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        sql = "SELECT datum_id, hash FROM datums WHERE job_row = ?"
        params: list[Any] = [job_row]
        if states:
            condition, values = self._in("state", [int(s) for s in states])
            sql += f" AND {condition}"
            params += values
        if datum_ids is not None:
            condition, values = self._among("datum_id", datum_ids)
            sql += f" AND {condition}"
            params += values
        return dict(self._x(sql, params).fetchall())

    def carry_skipped_datums(
        self, from_row: int, to_row: int, leave_out: Collection[str], rewrite: tuple[str, str], now_us: int
    ) -> int:
        left_out, leave = self._among("datum_id", leave_out)
        carried = f"FROM datums WHERE job_row = ? AND state IN ({_CARRIED_STATES}) AND NOT {left_out}"
        clash = self._x(
            f"SELECT datum_id FROM datums WHERE job_row = ? AND datum_id IN (SELECT datum_id {carried}) LIMIT 1",
            (to_row, from_row, *leave),
        ).fetchone()
        if clash is not None:  # the ledger's "no row yet" does not hold
            raise DatumConflict(
                f"datum {clash[0]} of job row {to_row} already has a row: it cannot be carried from job row {from_row}"
            )
        count = self._x(
            f"INSERT INTO datums ({_DATUM_COLUMNS}, updated_us)"
            f" SELECT ?, datum_id, hash, {int(DatumState.SKIPPED)}, 0, '', replace(inputs_json, ?, ?), 0, 0, 0,"
            f" NULL, ? {carried}",
            (to_row, rewrite[0], rewrite[1], now_us, from_row, *leave),
        ).rowcount
        self._x(
            "INSERT INTO datum_outputs (job_row, datum_id, path, blob, size)"
            " SELECT ?, datum_id, path, blob, size FROM datum_outputs WHERE job_row = ?"
            f" AND datum_id IN (SELECT datum_id {carried})" + _OUTPUT_UPSERT,
            (to_row, from_row, from_row, *leave),
        )
        return int(count)

    def put_datum_outputs(self, job_row: int, entries: Iterable[OutputEntry]) -> None:
        self._many(
            "INSERT INTO datum_outputs (job_row, datum_id, path, blob, size) VALUES (?, ?, ?, ?, ?)" + _OUTPUT_UPSERT,
            ((job_row, e.datum_id, e.path, e.blob, e.size) for e in entries),
        )

    def datum_outputs(self, job_row: int, datum_ids: Sequence[str] | None = None) -> list[OutputEntry]:
        if datum_ids is None:
            rows = self._x(
                "SELECT datum_id, path, blob, size FROM datum_outputs WHERE job_row = ? ORDER BY datum_id, path",
                (job_row,),
            ).fetchall()
        else:
            rows = []
            ids = list(datum_ids)
            for i in range(0, len(ids), self._IDS_PER_STATEMENT):
                condition, values = self._in("datum_id", ids[i : i + self._IDS_PER_STATEMENT])
                rows += self._x(
                    f"SELECT datum_id, path, blob, size FROM datum_outputs WHERE job_row = ? AND {condition}"
                    " ORDER BY datum_id, path",
                    [job_row, *values],
                ).fetchall()
        return [OutputEntry(*r) for r in rows]

    def copy_datum_outputs(self, from_row: int, to_row: int, datum_ids: Sequence[str]) -> None:
        ids = list(datum_ids)
        for i in range(0, len(ids), self._IDS_PER_STATEMENT):
            condition, values = self._in("datum_id", ids[i : i + self._IDS_PER_STATEMENT])
            self._x(
                "INSERT INTO datum_outputs (job_row, datum_id, path, blob, size)"
                f" SELECT ?, datum_id, path, blob, size FROM datum_outputs WHERE job_row = ? AND {condition}"
                + _OUTPUT_UPSERT,
                [to_row, from_row, *values],
            )
