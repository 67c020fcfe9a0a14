"""The read model of jobs: each job's rendered answer (its JobInfo, as bytes), made once per change.

InspectJob, ListJob, WaitJob, InspectJobSet and SubscribeJob answer with the same rendering of a
job (the transport's ``render(job, details) -> bytes``: convert to a JobInfo, serialize). This
module keeps that rendering per job and ``details`` flag in a bounded LRU, so a job that does not
change is converted and serialized once, however many calls ask for it, and an InspectJob of a
remembered job reads neither the store nor the converter.

One source of change keeps it current: the job service's after-commit delivery of its events
(services/jobs.py), in commit order, before any waiter is woken:

* a change made in this process (:meth:`changed`) replaces the entry with the new job, so the
  next read renders the new value without reading the store;
* a job removed here (DeleteJob, a deleted pipeline's jobs) is dropped;
* a change another server of the same PostgreSQL database made arrives as the wait topics of its
  NOTIFY (:meth:`remote`): the entry of each named job is dropped, as are the jobs of a deleted
  pipeline; ``None`` (notifications were lost, or a payload too long) drops everything.

A read that misses reads the job from the store, renders it, and keeps the result only if no
entry appeared and nothing was dropped meanwhile (an *epoch* counts drops): a read that raced a
change never stores the value from before it. So a client that learnt of a change from any RPC
(answered after that delivery) never gets the older answer here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Final

from tuskd.domain.jobs import Job, JobKey
from tuskd.store.pps import JobRow

__all__ = ["JOBS_REMOVED_PREFIX", "JobViews", "Render", "jobs_removed_topic"]

Render = Callable[[Job, bool], bytes]
"""The transport's rendering of a job (``details``: with its pipeline version's spec): every
caller passes the same one, so a rendering made for one RPC serves the others."""

DEFAULT_MAX_JOBS: Final = 4096
JOB_PREFIX: Final = "job/"  # services/jobs.py job_topic: job/<project>/<pipeline>@<id>
JOBS_REMOVED_PREFIX: Final = "jobs-removed/"


def jobs_removed_topic(project: str, pipeline: str) -> str:
    """The topic a pipeline deletion sends other servers: every job of that pipeline is gone."""
    return f"{JOBS_REMOVED_PREFIX}{project}/{pipeline}"


class _Entry:
    """One job as last known here, with its renderings (index 0: no details, 1: details)."""

    __slots__ = ("job", "seq", "views")

    def __init__(self, job: Job, seq: int) -> None:
        self.job = job
        self.seq = seq
        self.views: list[bytes | None] = [None, None]


class JobViews:
    """The LRU read model; see the module docstring. Thread-safe."""

    def __init__(self, read: Callable[[JobKey], JobRow], max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        """``read``: the job's row from the store (NotFound for an unknown job)."""
        if max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")
        self._read = read
        self._max = max_jobs
        self._lock = threading.Lock()
        self._entries: OrderedDict[JobKey, _Entry] = OrderedDict()
        self._epoch = 0  # counts drops (evictions, removals, remote changes) for racing fills

    # -- reads ------------------------------------------------------------------------------

    def view(self, key: JobKey, details: bool, render: Render) -> bytes:
        """The rendering of the job's current state (NotFound if there is no such job)."""
        index = 1 if details else 0
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                cached = entry.views[index]
                if cached is not None:
                    return cached
            epoch = self._epoch
        if entry is None:
            row = self._read(key)
            job, seq = row.job, row.seq
        else:
            job, seq = entry.job, entry.seq
        out = render(job, details)
        with self._lock:
            current = self._entries.get(key)
            if entry is not None:  # a change replaces the entry: a replaced one is no longer read
                entry.views[index] = out
            elif current is None and self._epoch == epoch:  # nothing changed since the read
                fresh = _Entry(job, seq)
                fresh.views[index] = out
                self._put(key, fresh)
        return out

    def rendering(self, job: Job, details: bool, render: Render, seq: int = 0) -> bytes:
        """The rendering of ``job`` as a listing or a wait read it: the remembered one when the
        entry holds this very change (``seq``, when the reader knows it; else the same value),
        else rendered now and not remembered (a long listing must not push out the jobs being
        inspected)."""
        index = 1 if details else 0
        with self._lock:
            entry = self._entries.get(job.key)
            same = entry is not None and (entry.seq == seq if seq else entry.job == job)
            cached = entry.views[index] if entry is not None and same else None
        if cached is not None:
            return cached
        out = render(job, details)
        if entry is not None and same:
            with self._lock:
                entry.views[index] = out  # (a replaced entry is no longer read)
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    # -- changes (called by the job service's event delivery, in commit order) -------------

    def changed(self, job: Job, seq: int) -> None:
        """``job`` was committed as its change ``seq`` in this process."""
        with self._lock:
            current = self._entries.get(job.key)
            if current is not None and current.seq >= seq:
                return
            self._put(job.key, _Entry(job, seq))

    def removed(self, key: JobKey) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.pop(key, None)

    def pipeline_removed(self, project: str, pipeline: str) -> None:
        with self._lock:
            self._epoch += 1
            for key in [k for k in self._entries if k.project == project and k.pipeline == pipeline]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def remote(self, topics: Sequence[str] | None) -> None:
        """Another server committed changes under ``topics`` (None: anything may have changed)."""
        if topics is None:
            self.clear()
            return
        for topic in topics:
            if topic.startswith(JOB_PREFIX):
                key = _job_of(topic[len(JOB_PREFIX) :])
                if key is None:  # not a name this server makes: be safe
                    self.clear()
                    return
                self.removed(key)
            elif topic.startswith(JOBS_REMOVED_PREFIX):
                project, _, pipeline = topic[len(JOBS_REMOVED_PREFIX) :].partition("/")
                self.pipeline_removed(project, pipeline)

    # -- plumbing ---------------------------------------------------------------------------

    def _put(self, key: JobKey, entry: _Entry) -> None:
        """Insert or replace (the lock held), evicting the least recently used past the bound."""
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
            self._epoch += 1


def _job_of(name: str) -> JobKey | None:
    """The job a ``job/<project>/<pipeline>@<id>`` topic names (``name`` without the prefix)."""
    project, _, rest = name.partition("/")
    pipeline, _, job_id = rest.rpartition("@")
    if not project or not pipeline or not job_id:
        return None
    return JobKey(project, pipeline, job_id)
