"""GetLogs: a pipeline's, a job's or a datum's log lines, as pachd's workers and master log them.

What is kept: each datum's combined user output (engine/logs.py), each datum's row (state,
attempts, reason, processing time) and each job's change history. From those, every datum that
ran user code reads as pachd's worker logs it: ``beginning to run user code``, the user's lines
(``user`` set), then ``finished running user code after <duration>`` or ``errored running user
code after <duration>: <reason>``; so a job whose code printed nothing still has logs. Master lines
(``master`` set; asked for with ``master``) are the job's state changes, ``updating job info,
state: JOB_RUNNING`` and the like, with pachd's ``failing job with reason`` / ``killing job with
reason`` at the end. Following (``follow``) streams new lines until the job ends, or forever for
a pipeline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tuskd.domain.errors import InvalidArgument
from tuskd.domain.jobs import Job, JobKey, job_from_dict
from tuskd.domain.pipelines import pipeline_not_found
from tuskd.domain.states import DatumState, JobState, is_terminal
from tuskd.store.base import Store
from tuskd.store.pps import JobQuery, JobRow

from .datum_queries import DatumInputView, inputs_of, matches_filters
from .events import CancelToken, EventHub
from .jobs import JobService, job_topic, pipeline_topic

__all__ = ["JobLogs", "LogLine", "LogQuery", "LogSource", "go_duration"]

_RESCAN_SECONDS = 1.0
# Datum states whose user code ran in that job (SKIPPED ones ran in an earlier job).
_RAN = (DatumState.SUCCESS, DatumState.FAILED, DatumState.RECOVERED)


@dataclass(frozen=True)
class LogQuery:
    pipeline: tuple[str, str] | None = None  # (project, name)
    job: JobKey | None = None
    datum_id: str = ""
    data_filters: Sequence[str] = ()
    master: bool = False
    follow: bool = False
    tail: int = 0
    since: float | None = None  # seconds before now


@dataclass(frozen=True)
class LogLine:
    project: str
    pipeline: str
    job_id: str
    datum_id: str
    inputs: tuple[DatumInputView, ...]
    ts: float
    message: str
    user: bool = True
    master: bool = False


class LogSource(Protocol):
    def read_logs(
        self, project: str, pipeline: str, job_id: str | None = None, datum_id: str | None = None
    ) -> Iterator[Any]: ...


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration prints it (``1.503021ms``, ``2.1s``, ``1m4s``)."""
    ns = round(seconds * 1e9)
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.3f}".rstrip("0").rstrip(".") + "µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.6f}".rstrip("0").rstrip(".") + "ms"
    whole_minutes, rest = divmod(ns, 60_000_000_000)
    hours, minutes = divmod(whole_minutes, 60)
    secs = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


def _state_lines(job: Job, history: Sequence[Job]) -> list[tuple[float, str]]:
    """pachd-style master lines for each state the job went through."""
    out: list[tuple[float, str]] = []
    last: JobState | None = None
    for snapshot in history:
        if snapshot.state == last:
            continue
        last = snapshot.state
        when = snapshot.finished if is_terminal(snapshot.state) else snapshot.started or snapshot.created
        out.append((when or job.created, f"updating job info, state: {snapshot.state.name}"))
        if snapshot.state == JobState.JOB_FAILURE:
            out.append((when, f"failing job with reason: {snapshot.reason}"))
        elif snapshot.state == JobState.JOB_KILLED:
            out.append((when, f"killing job with reason: {snapshot.reason}"))
        elif snapshot.state == JobState.JOB_SUCCESS:
            out.append((when, "job successful, closing commits"))
    return out


class JobLogs:
    def __init__(
        self,
        store: Store,
        jobs: JobService,
        hub: EventHub,
        source: LogSource | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._hub = hub
        self._source = source
        self._clock = clock

    def logs(self, query: LogQuery, cancel: CancelToken | None = None) -> Iterator[LogLine]:
        if query.tail < 0:
            raise InvalidArgument("tail must not be negative", field="tail")
        if query.since is not None and query.since < 0:
            raise InvalidArgument("since must not be negative", field="since")
        if query.job is not None:
            self._jobs.get(query.job)  # NotFound for an unknown job
            project, pipeline = query.job.project, query.job.pipeline
        elif query.pipeline is not None:
            project, pipeline = query.pipeline
            with self._store.read() as tx:
                if self._jobs.tables(tx).get_pipeline(project, pipeline) is None:
                    raise pipeline_not_found(project, pipeline)
        else:
            raise InvalidArgument("GetLogs needs a pipeline, a job or a datum", field="pipeline")
        if query.datum_id and query.job is None:
            raise InvalidArgument("a datum's logs need its job", field="datum")
        return self._stream(project, pipeline, query, cancel)

    def _stream(self, project: str, pipeline: str, query: LogQuery, cancel: CancelToken | None) -> Iterator[LogLine]:
        topic = job_topic(query.job) if query.job is not None else pipeline_topic(project, pipeline)
        seen: dict[tuple[str, ...], object] = {}
        with self._hub.subscribe(topic, cancel=cancel) as sub:
            lines = self._read(project, pipeline, query, seen)
            yield from (lines[-query.tail :] if query.tail else lines)
            while query.follow:
                finished = query.job is not None and is_terminal(self._jobs.get(query.job).job.state)
                sub.check()
                if not finished:
                    sub.wait(_RESCAN_SECONDS)
                    sub.check()
                yield from self._read(project, pipeline, query, seen)
                if finished:
                    return

    def _job_rows(self, project: str, pipeline: str, query: LogQuery) -> list[JobRow]:
        if query.job is not None:
            return [self._jobs.get(query.job)]
        with self._store.read() as tx:
            rows = self._jobs.tables(tx).list_jobs(JobQuery(project=project, pipeline=pipeline))
        return sorted(rows, key=lambda r: r.row)

    def _read(
        self, project: str, pipeline: str, query: LogQuery, seen: dict[tuple[str, ...], object]
    ) -> list[LogLine]:
        cutoff = None if query.since is None else self._clock() - query.since
        lines: list[LogLine] = []
        for job_row in self._job_rows(project, pipeline, query):
            batch = self._master(job_row, seen) if query.master else self._worker(job_row, query, seen)
            lines += [line for line in batch if cutoff is None or line.ts >= cutoff]
        lines.sort(key=lambda line: line.ts)
        return lines

    def _master(self, job_row: JobRow, seen: dict[tuple[str, ...], object]) -> list[LogLine]:
        key = job_row.job.key
        mark = ("master", key.id)
        done = int(seen.get(mark, 0))  # type: ignore[call-overload]
        with self._store.read() as tx:
            events = self._jobs.tables(tx).job_events(job_row.row, 0)
        history = [job_from_dict(json.loads(e.snapshot)) for e in events]
        entries = _state_lines(job_row.job, history)
        seen[mark] = len(entries)
        return [
            LogLine(key.project, key.pipeline, key.id, "", (), ts, text, user=False, master=True)
            for ts, text in entries[done:]
        ]

    def _worker(self, job_row: JobRow, query: LogQuery, seen: dict[tuple[str, ...], object]) -> list[LogLine]:
        job, key = job_row.job, job_row.job.key
        with self._store.read() as tx:
            t = self._jobs.tables(tx)
            if query.datum_id:
                one = t.get_datum(job_row.row, query.datum_id)
                datums = [one] if one is not None else []
            else:
                datums = t.list_datums(job_row.row)
        out: list[LogLine] = []
        for datum in datums:
            record = datum.record
            if record.state not in _RAN:
                continue
            inputs = inputs_of(datum.inputs_json)
            if query.data_filters and not matches_filters(query.data_filters, inputs):
                continue
            kept = None
            if self._source is not None:
                kept = next(iter(self._source.read_logs(key.project, key.pipeline, key.id, record.id)), None)
            written = kept.written if kept is not None else (job.finished or job.started or job.created)
            mark = ("datum", key.id, record.id)
            version = (record.state, record.attempts, written)
            if seen.get(mark) == version:
                continue
            seen[mark] = version
            took = go_duration(record.stats.process_time)
            texts = [("beginning to run user code", False)]
            texts += [(text, True) for text in (kept.lines() if kept is not None else ())]
            if record.state == DatumState.SUCCESS:
                texts.append((f"finished running user code after {took}", False))
            else:
                texts.append((f"errored running user code after {took}: {record.reason or 'failed'}", False))
            out += [
                LogLine(key.project, key.pipeline, key.id, record.id, inputs, written, text, user=user)
                for text, user in texts
            ]
        return out
