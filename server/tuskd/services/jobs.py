"""Jobs as a service: create, change, read, list and watch jobs, with a durable change history.

Every change of a job is one write transaction that stores the job and appends a snapshot to
its change history, numbered per job and per job set (``seq``), and emits a :class:`JobChanged`
on that unit of work. After COMMIT the store delivers those events in commit order: the change
is remembered in memory (:class:`RecentChanges`), then watchers are woken through the event hub
and read what changed, so a change is never seen before it is durable, never missed (subscribe
first, then read) and never seen after a later one.

The engine (engine/) drives jobs through this service; the transport reads through it. The
state rules live in domain.jobs / domain.states, not here.
"""

from __future__ import annotations

import builtins
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.errors import NotFound
from tuskd.domain.jobs import (
    Counts,
    Job,
    JobKey,
    Stats,
    add_counts,
    job_from_dict,
    job_not_found,
    job_to_dict,
    transition,
)
from tuskd.domain.states import JobState, is_terminal
from tuskd.engine.ports import ANY_JOB_TOPIC, JOB_LIFECYCLE_TOPIC  # topics the engine listens on
from tuskd.store.base import Store, Tx
from tuskd.store.pps import JobQuery, JobRow, OutputEntry, PpsTx

from .events import CancelToken, EventHub
from .job_views import JobViews, jobs_removed_topic

PpsTables = Callable[[Tx], PpsTx]


def job_topic(key: JobKey) -> str:
    return f"job/{key.project}/{key.pipeline}@{key.id}"


def set_topic(set_id: str) -> str:
    return f"jobset/{set_id}"


def pipeline_topic(project: str, pipeline: str) -> str:
    return f"pipeline-jobs/{project}/{pipeline}"


def snapshot(job: Job) -> str:
    return json.dumps(job_to_dict(job), separators=(",", ":"))


def from_snapshot(text: str) -> Job:
    return job_from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class JobChanged:
    """An outbox event: ``job`` was recorded as change ``seq`` of its job and ``set_seq`` of its
    job set; ``created`` for the first, ``terminal`` for one that reached a terminal state."""

    job: Job
    seq: int
    set_seq: int
    created: bool = False

    @property
    def terminal(self) -> bool:
        return is_terminal(self.job.state)

    @property
    def topics(self) -> tuple[str, ...]:
        """The wait topics this change wakes (also sent to other servers on a shared database)."""
        key = self.job.key
        topics = (job_topic(key), set_topic(key.id), pipeline_topic(key.project, key.pipeline), ANY_JOB_TOPIC)
        return (*topics, JOB_LIFECYCLE_TOPIC) if self.created or self.terminal else topics


@dataclass(frozen=True, slots=True)
class JobsRemoved:
    """An outbox event: ``keys`` (one job: DeleteJob), or every job of ``pipeline`` (project,
    name: a deleted pipeline), no longer exist."""

    keys: tuple[JobKey, ...] = ()
    pipeline: tuple[str, str] | None = None

    @property
    def topics(self) -> tuple[str, ...]:
        """What waiters here and other servers on a shared database are told."""
        named: list[str] = []
        for key in self.keys:
            named += [job_topic(key), set_topic(key.id), pipeline_topic(key.project, key.pipeline), ANY_JOB_TOPIC]
        if self.pipeline is not None:
            named.append(jobs_removed_topic(*self.pipeline))
        return tuple(dict.fromkeys(named))


@dataclass(frozen=True)
class WatchTarget:
    """One job (``key``) or a whole job set (``set_id``)."""

    key: JobKey | None = None
    set_id: str | None = None

    def __str__(self) -> str:
        return str(self.key) if self.key else f"job set {self.set_id}"


@dataclass(frozen=True)
class WatchItem:
    seq: int
    job: Job | None  # None for a heartbeat


class RecentChanges:
    """The latest changes of recently active jobs and job sets, in memory.

    Watchers read new changes here instead of from the store, so a change followed by a
    thousand WaitJob streams costs a thousand dictionary lookups, not a thousand SQLite reads.
    Only an unbroken run of seqs is kept per target; whatever it cannot answer for certain (a
    gap, an evicted target, a restart) is read from the store, which stays the truth.
    """

    def __init__(self, per_target: int = 64, max_targets: int = 4096) -> None:
        self._lock = threading.Lock()
        self._per_target = per_target
        self._max_targets = max_targets
        self._runs: OrderedDict[object, deque[tuple[int, Job]]] = OrderedDict()

    def add(self, target: object, seq: int, job: Job) -> None:
        with self._lock:
            run = self._runs.get(target)
            if run is None:
                run = deque(maxlen=self._per_target)
                self._runs[target] = run
                if len(self._runs) > self._max_targets:
                    self._runs.popitem(last=False)
            elif run and run[-1][0] + 1 != seq:
                run.clear()  # a change was not seen here: start a new unbroken run
            self._runs.move_to_end(target)
            run.append((seq, job))

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()

    def since(self, target: object, after_seq: int) -> builtins.list[tuple[int, Job]] | None:
        """Every known change after ``after_seq``, or None when the run does not reach back."""
        with self._lock:
            run = self._runs.get(target)
            if not run or run[0][0] > after_seq + 1:
                return None
            return [item for item in run if item[0] > after_seq]


class JobService:
    def __init__(
        self,
        store: Store,
        tables: PpsTables,
        hub: EventHub,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._tables = tables
        self._hub = hub
        self._clock = clock
        self._recent = RecentChanges()
        self.views = JobViews(self.get)  # the read model, fed by _deliver and remote_changed

    # -- plumbing ---------------------------------------------------------------------------

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    def _publish_after(self, tx: Tx, job: Job, job_seq: int, set_seq: int, *, created: bool = False) -> None:
        tx.emit(self._deliver, JobChanged(job, job_seq, set_seq, created))

    def _deliver(self, events: Sequence[Any]) -> None:
        """The outbox sink of job changes and removals (in commit order): remember, then wake."""
        topics: dict[str, None] = {}
        try:  # remembered before the wake-up, so a woken watcher (and its client) finds the change here
            for event in events:
                if isinstance(event, JobsRemoved):
                    for key in event.keys:
                        self.views.removed(key)
                    if event.pipeline is not None:
                        self.views.pipeline_removed(*event.pipeline)
                    continue
                job = event.job
                self.views.changed(job, event.seq)
                self._recent.add(job.key, event.seq, job)
                self._recent.add(job.key.id, event.set_seq, job)
        except BaseException:
            self.views.clear()  # never leave a view older than a committed change
            raise
        finally:
            for event in events:
                topics.update(dict.fromkeys(event.topics))
            self._hub.publish(*topics)

    def removed(self, tx: Tx, keys: Sequence[JobKey] = (), pipeline: tuple[str, str] | None = None) -> None:
        """Inside the caller's write: these jobs (or every job of ``pipeline``) are being deleted;
        after COMMIT the read model forgets them and waiters (here and on other servers) wake."""
        tx.emit(self._deliver, JobsRemoved(tuple(keys), pipeline))

    def remote_changed(self, topics: Sequence[str] | None = None) -> None:
        """Another server on the database changed jobs under ``topics`` (None: anything may have
        changed): forget the changes remembered here (they may have gaps now), so woken watchers
        read the store, and drop the read model's entries of the jobs named."""
        self._recent.clear()
        self.views.remote(topics)

    def tables(self, tx: Tx) -> PpsTx:
        return self._tables(tx)

    # -- creation ---------------------------------------------------------------------------

    def create_job(self, tx: Tx, key: JobKey, pipeline_version: int, output_repo: str, output_branch: str) -> JobRow:
        """Record a new CREATED job inside the caller's write transaction."""
        now = self._clock()
        job = Job(
            key=key,
            pipeline_version=pipeline_version,
            output_repo=output_repo,
            output_branch=output_branch,
            state=JobState.JOB_CREATED,
            created=now,
        )
        t = self._tables(tx)
        row = t.insert_job(job, snapshot(job), self._now_us())
        self._publish_after(tx, job, row.seq, t.set_seq(key.id), created=True)
        return row

    # -- changes ----------------------------------------------------------------------------

    def change(
        self,
        key: JobKey,
        fn: Callable[[Job], Job],
        *,
        datums: Iterable[DatumChange] = (),
        outputs: Iterable[OutputEntry] = (),
        tx: Tx | None = None,
    ) -> Job:
        """Apply ``fn`` to the stored job and record the result as one change (one history entry).

        Datum rows and outputs given here are written in the same transaction. When ``fn``
        returns the job unchanged and there are no datums, nothing is recorded.
        """
        if tx is None:
            with self._store.write() as own:
                return self._change(own, key, fn, datums, outputs)
        return self._change(tx, key, fn, datums, outputs)

    def _change(
        self,
        tx: Tx,
        key: JobKey,
        fn: Callable[[Job], Job],
        datums: Iterable[DatumChange],
        outputs: Iterable[OutputEntry],
    ) -> Job:
        t = self._tables(tx)
        row = t.get_job(key)
        if row is None:
            raise job_not_found(key)
        new = fn(row.job)
        now_us = self._now_us()
        datum_list = list(datums)
        if datum_list:
            t.upsert_datums(row.row, datum_list, now_us)
        t.put_datum_outputs(row.row, outputs)
        if new != row.job:
            job_seq, set_seq = t.save_job(row.row, new, snapshot(new), now_us)
            self._publish_after(tx, new, job_seq, set_seq)
        return new

    def transition(self, key: JobKey, new: JobState, reason: str | None = None, *, tx: Tx | None = None) -> Job:
        """Move the job to ``new`` (FailedPrecondition if the state table forbids it)."""
        return self.change(key, lambda j: transition(j, new, self._clock(), reason), tx=tx)

    def record_progress(
        self,
        key: JobKey,
        counts: Counts,
        stats: Stats,
        datums: Iterable[DatumChange] = (),
        outputs: Iterable[OutputEntry] = (),
    ) -> Job:
        """Add finished datums' counts and stats (never backwards) and store their rows."""
        return self.change(key, lambda j: add_counts(j, counts, stats), datums=datums, outputs=outputs)

    def set_total(self, key: JobKey, total: int) -> Job:
        return self.change(key, lambda j: replace(j, total=total))

    # -- reads ------------------------------------------------------------------------------

    def get(self, key: JobKey, *, tx: Tx | None = None) -> JobRow:
        """The job's row (``tx``: read through the caller's transaction)."""
        if tx is not None:
            row = self._tables(tx).get_job(key)
        else:
            with self._store.read(snapshot=False) as own:  # one SELECT: atomic on its own
                row = self._tables(own).get_job(key)
        if row is None:
            raise job_not_found(key)
        return row

    def job_set(self, set_id: str) -> builtins.list[JobRow]:
        with self._store.read() as tx:
            rows = self._tables(tx).jobs_in_set(set_id)
        if not rows:
            raise NotFound(f"job set {set_id} not found", job_set=set_id)
        return rows

    def list(self, query: JobQuery) -> builtins.list[JobRow]:
        with self._store.read() as tx:
            return self._tables(tx).list_jobs(query)

    def unfinished(self) -> builtins.list[JobRow]:
        with self._store.read() as tx:
            return self._tables(tx).unfinished_jobs()

    # -- waiting ----------------------------------------------------------------------------

    def wait_terminal(self, key: JobKey, cancel: CancelToken | None = None, timeout: float | None = None) -> Job:
        """Block until the job is terminal (registers before reading, so no change is missed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._hub.subscribe(job_topic(key), cancel=cancel) as sub:
            while True:
                job = self.get(key).job
                if is_terminal(job.state):
                    return job
                sub.check()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return job
                sub.wait(remaining)

    def _history(
        self, target: WatchTarget, after_seq: int
    ) -> tuple[builtins.list[tuple[int, Job]], dict[JobKey, JobState]]:
        """From the store: the changes after ``after_seq`` (or, for 0, each job's current state)
        and the current state of every job the target covers."""
        with self._store.read() as tx:
            t = self._tables(tx)
            if target.key is not None:
                row = t.get_job(target.key)
                if row is None:
                    raise job_not_found(target.key)
                states = {row.job.key: row.job.state}
                if after_seq == 0:
                    return [(row.seq, row.job)], states
                events = t.job_events(row.row, after_seq)
                return [(e.seq, from_snapshot(e.snapshot)) for e in events], states
            assert target.set_id is not None
            rows = t.jobs_in_set(target.set_id)
            if not rows:
                raise NotFound(f"job set {target.set_id} not found", job_set=target.set_id)
            states = {r.job.key: r.job.state for r in rows}
            events = t.set_events(target.set_id, after_seq)
        items = [(e.seq, from_snapshot(e.snapshot)) for e in events]
        if after_seq == 0:
            # Start with each job's latest change (the current state), in history order.
            latest: dict[JobKey, tuple[int, Job]] = {}
            for seq, job in items:
                latest[job.key] = (seq, job)
            items = sorted(latest.values(), key=lambda item: item[0])
        return items, states

    def current_seq(self, target: WatchTarget) -> int:
        with self._store.read() as tx:
            t = self._tables(tx)
            if target.key is not None:
                row = t.get_job(target.key)
                if row is None:
                    raise job_not_found(target.key)
                return row.seq
            assert target.set_id is not None
            return t.set_seq(target.set_id)

    def watch(
        self,
        target: WatchTarget,
        after_seq: int = 0,
        *,
        heartbeat: float = 5.0,
        cancel: CancelToken | None = None,
    ) -> Iterator[WatchItem]:
        """Yield the current state (or every change after ``after_seq``), then each change as it is
        recorded, with heartbeats in quiet periods; end after every covered job is terminal."""
        topic = job_topic(target.key) if target.key is not None else set_topic(target.set_id or "")
        recent_key: object = target.key if target.key is not None else target.set_id
        with self._hub.subscribe(topic, cancel=cancel) as sub:
            last = after_seq
            items, states = self._history(target, last)
            while True:
                for seq, job in items:
                    last = seq
                    states[job.key] = job.state
                    yield WatchItem(seq, job)
                if all(is_terminal(state) for state in states.values()):
                    return
                sub.check()
                woke = sub.wait(heartbeat)
                sub.check()
                if not woke:
                    yield WatchItem(last, None)
                cached = self._recent.since(recent_key, last) if woke else None
                if cached is not None:
                    items = cached
                else:  # a quiet period or a gap in memory: the store has the whole history
                    items, fresh = self._history(target, last)
                    states.update(fresh)


def pipelines_of(rows: Sequence[JobRow]) -> list[str]:
    return sorted({r.job.key.pipeline for r in rows})
