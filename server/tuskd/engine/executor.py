"""The executor seam: where a job's datums run, as plain-data tasks and results.

The job's runner opens a :class:`Batch` per set of datums, submits
:class:`~tuskd.engine.datum_work.DatumTask` values (lazily: an iterable of any length) and
reads ``(nonce, DatumResult)`` pairs in completion order; it can cancel one submission (its
process group is killed: RestartDatum then submits the datum again with a new nonce), stop
starting new ones (``drain``), kill them all (``cancel_all``) or walk away (``close``). Nothing
that crosses this seam is a closure, a lock or a local path, so a distributed executor (Dask:
datum sets per remote task) can implement it as well as :class:`LocalExecutor`, the embedded
default: a server-wide pool of worker threads (engine/worker_pool.py) that owns the workspace
(datum trees, sandbox helpers) and runs each task with engine/datum_execution.py.

Scheduling (the local one; others keep the same promises): a batch runs at most
``min(parallelism, slots)`` tasks at once; a free worker serves the eligible batch with the
fewest running tasks (ties: the one served least recently), so concurrent jobs share the pool
evenly; tasks are pulled from the submitted iterables one at a time when a worker is about to
run one, and a batch never has more than twice its limit running or finished-but-unconsumed.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tuskd.blobs.base import BlobStore
from tuskd.domain.errors import Unavailable
from tuskd.engine.datum_execution import could_not_run, execute_datum
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_work import DatumResult, DatumTask
from tuskd.engine.sandbox import Isolation, SandboxPool
from tuskd.engine.sandbox_probe import detect_isolation
from tuskd.engine.worker_pool import ExecutorStopped, OpenBatch, ThreadPoolExecutor
from tuskd.engine.workspace import JobSpace, Workspace, default_scratch_root

__all__ = ["Batch", "Executor", "ExecutorStopped", "LocalExecutor", "WorkerSetup"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSetup:
    """What every datum worker needs from the engine, given once before the first batch."""

    engine_id: str
    env: tuple[tuple[str, str], ...] = ()
    """Set in every user process (and sandbox helper) for the server's life: the engine's
    marker (a restart after a crash finds what it started by it), the read-only data dir."""
    isolation: Isolation | None = None
    """None: each worker detects what its machine supports."""


class Batch(Protocol):
    """One set of a job's datums on an executor; iterate it for ``(nonce, DatumResult)``."""

    def submit(self, tasks: Iterable[DatumTask], *, first: bool = False) -> bool:
        """Queue ``tasks`` (pulled lazily, in order, after those submitted before; ``first``:
        before them). False when the batch takes no more (drained, cancelled or closed)."""
        ...

    def __iter__(self) -> Iterator[tuple[str, DatumResult]]:
        """Results in completion order, CANCELLED ones included; ends once every submitted task
        has a result (submit more before asking for the next one) or, after ``drain``, once the
        running ones do. An error of the executor itself (ExecutorStopped) is raised, and so is
        the blob store's Unavailable (an outage is not the datum's failure)."""
        ...

    def cancel(self, nonce: str) -> bool:
        """Cancel one submission: True when it was started and has no result yet (its process
        group is killed and its result comes as CANCELLED); False when it is unknown, not
        pulled from its iterable yet, or finished."""
        ...

    def drain(self) -> None:
        """Start nothing more; the running tasks finish and their results still come."""
        ...

    def cancel_all(self) -> None:
        """Drain and cancel every running task (their results come as CANCELLED)."""
        ...

    def close(self) -> None:
        """Abandon the batch: tasks not started are dropped, running ones finish unseen."""
        ...


class Executor(Protocol):
    """Runs batches of datum tasks; constructing one starts nothing, ``start`` does."""

    @property
    def slots(self) -> int:
        """How many datums can run at once over the whole executor (the cap on parallelism)."""
        ...

    def start(self) -> None: ...

    def prepare(self, setup: WorkerSetup) -> None:
        """Set the workers up for the engine (before its first batch; again after a restart of
        the engine): leftovers of an earlier server are removed."""
        ...

    def open_batch(self, key: str, parallelism: int) -> Batch:
        """A new, empty batch running at most ``parallelism`` of its tasks at once."""
        ...

    def stop(self, wait: bool = True) -> None:
        """Drop every task not started; running ones finish (``wait``: wait for them)."""
        ...


class _Running:
    """The submissions of one local batch pulled by a worker and not finished yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, threading.Event] = {}
        self.killed = False

    def begin(self, nonce: str) -> threading.Event:
        event = threading.Event()
        with self.lock:
            self.events[nonce] = event
            if self.killed:
                event.set()
        return event

    def end(self, nonce: str) -> None:
        with self.lock:
            self.events.pop(nonce, None)

    def cancel(self, nonce: str) -> bool:
        with self.lock:
            event = self.events.get(nonce)
        if event is None:
            return False
        event.set()
        return True

    def cancel_all(self) -> None:
        with self.lock:
            self.killed = True
            events = list(self.events.values())
        for event in events:
            event.set()


class LocalBatch:
    """A batch on the local pool; its datums borrow slots of one job space (retired with it)."""

    def __init__(self, executor: LocalExecutor, key: str, parallelism: int, space: JobSpace) -> None:
        self._blobs = executor.blobs
        self._space = space
        self._drained = threading.Event()
        self._running = _Running()
        self._live = 0  # tasks started and not finished (the space closes after the last)
        self._closed = False
        self._mu = threading.Lock()
        self._batch: OpenBatch[tuple[str, DatumResult] | None] = executor.pool.open_batch(
            key, parallelism, self._drained
        )

    def submit(self, tasks: Iterable[DatumTask], *, first: bool = False) -> bool:
        return self._batch.submit((functools.partial(self._run, task) for task in tasks), first=first)

    def __iter__(self) -> Iterator[tuple[str, DatumResult]]:
        try:
            for item in self._batch:
                if item is not None:
                    yield item
        finally:
            self.close()

    def cancel(self, nonce: str) -> bool:
        return self._running.cancel(nonce)

    def drain(self) -> None:
        self._drained.set()

    def cancel_all(self) -> None:
        self._drained.set()
        self._running.cancel_all()

    def close(self) -> None:
        self._batch.close()
        with self._mu:
            first = not self._closed
            self._closed = True
            idle = self._live == 0
        if first and idle:
            self._close_space()

    def _close_space(self) -> None:
        self._space.retire()  # tidied off the job's path (engine/slot_pool.py)

    def _run(self, task: DatumTask) -> tuple[str, DatumResult] | None:
        with self._mu:
            if self._closed:
                return None
            self._live += 1
        cancel = self._running.begin(task.nonce)
        try:
            if cancel.is_set():
                result = DatumResult(task.datum_id, task.nonce, DatumOutcome.CANCELLED, "stopped before it started")
            else:
                try:
                    with self._space.slot() as slot:
                        result = execute_datum(task, self._blobs, slot, cancel)
                except Unavailable:
                    raise  # the blob store is out, not the datum: the job runner retries
                except Exception as exc:
                    log.exception("datum %s of job %s@%s could not run", task.datum_id, task.pipeline, task.job_id)
                    result = could_not_run(task, exc)
            return task.nonce, result
        finally:
            self._running.end(task.nonce)
            with self._mu:
                self._live -= 1
                last = self._closed and self._live == 0
            if last:
                self._close_space()


class LocalExecutor:
    """The embedded default: ``max_workers`` threads shared by every batch of the server, and
    the workspace (datum trees under ``work_root``, one sandbox helper kept per worker)."""

    def __init__(self, max_workers: int, blobs: BlobStore, work_root: Path) -> None:
        self.pool = ThreadPoolExecutor(max_workers)
        self.blobs = blobs
        self._work_root = work_root
        self._workspace: Workspace | None = None
        self._names = itertools.count(1)

    @property
    def slots(self) -> int:
        return self.pool.max_workers

    def start(self) -> None:
        self.pool.start()

    def prepare(self, setup: WorkerSetup) -> None:
        isolation = setup.isolation or detect_isolation()
        if self._workspace is not None:
            self._workspace.close()
        # Hard links into blobs are safe only behind read-only mounts (see workspace.py).
        self._workspace = Workspace(
            self._work_root,
            self.blobs,
            link=isolation is Isolation.NAMESPACE,
            scratch_root=default_scratch_root(setup.engine_id),
            # One namespace helper per worker, kept for the server's life.
            sandboxes=SandboxPool(isolation=isolation, env=dict(setup.env), max_idle=self.slots),
            keep=self.slots,
        )
        self._workspace.reset()

    def open_batch(self, key: str, parallelism: int) -> LocalBatch:
        if self._workspace is None:
            raise ExecutorStopped("the executor was not prepared for an engine")
        name = f"{key.replace('/', '.').replace('@', '.')}.{next(self._names)}"
        return LocalBatch(self, key, parallelism, self._workspace.open_job(name))

    def stop(self, wait: bool = True) -> None:
        self.pool.stop(wait)
        if wait and self._workspace is not None:
            self._workspace.close()
