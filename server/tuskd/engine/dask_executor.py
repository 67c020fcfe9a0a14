"""The Dask executor: a job's datums run as datum sets on ``tusk worker`` processes of a Dask
cluster (``--executor dask://host:port`` or ``tls://...``; docs/jobs.md, docs/operations.md).

Scheduling is the local executor's (engine/worker_pool.py), with one dispatcher thread per
cluster slot: batches share the slots fairly, tasks are pulled lazily, and a batch never has
more than twice its limit of datums pulled and not yet consumed. A dispatcher thread takes a
**datum set** (consecutive tasks of one batch), submits it as one Dask task and waits for its
results; the worker runs the set's datums one after another in one of its slots
(engine/dask_worker.py).

Set size: a set holds one datum until the batch has measured its datums, then
``ceil(dispatch / (FRACTION * datum))`` of them (the dispatch cost, measured per set as its round
trip minus its datums' own time, stays under ``FRACTION`` of the work), at most ``MAX_SET`` and
at most its share of the batch's free window (free datums // limit: with every slot busy, about
two datums a set, which halves the dispatch cost of tiny datums; the window is the executor
contract's, twice the limit in datums). Datums that take much longer than a round trip go one
per set, so a set never holds back parallelism.

Every Dask key carries a fresh nonce (Dask merges tasks of equal keys), and a future is released
as soon as its result is read (Dask recomputes results it still holds when their worker dies).
A worker that dies mid-set: the scheduler runs the set again on another worker (the datums run
twice at most partly: at-least-once; outputs are content-addressed and the runner records one
result per nonce). Cancel reaches the workers through ``Client.run`` (dask_worker.cancel_datums).
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Final

from distributed import Client

from tuskd.domain.errors import FailedPrecondition
from tuskd.engine.dask_common import DaskTarget, version_resource
from tuskd.engine.dask_worker import cancel_datums, run_datum_set
from tuskd.engine.datum_execution import could_not_run
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_work import DatumResult, DatumTask
from tuskd.engine.executor import WorkerSetup
from tuskd.engine.worker_pool import ExecutorStopped, OpenBatch, ThreadPoolExecutor
from tuskd.version import tusk_version

__all__ = ["DaskBatch", "DaskExecutor"]

log = logging.getLogger(__name__)

FRACTION: Final = 0.25
MAX_SET: Final = 64
_WAIT_POLL: Final = 0.2


def _datum_seconds(result: DatumResult) -> float:
    return sum(run.ended - run.started for run in result.runs) + result.stats.download_time + result.stats.upload_time


class _Sizer:
    """How many datums the next set of a batch takes (see the module docstring)."""

    def __init__(self) -> None:
        self.datum: float | None = None  # mean seconds of one datum (moving average)
        self.dispatch: float | None = None  # mean seconds a set spends outside its datums

    def measure(self, wall: float, results: list[DatumResult]) -> None:
        work = [_datum_seconds(r) for r in results if r.runs]
        if not work:
            return
        overhead = max(wall - sum(work), 0.0)
        mean = sum(work) / len(work)
        self.datum = mean if self.datum is None else 0.8 * self.datum + 0.2 * mean
        self.dispatch = overhead if self.dispatch is None else 0.8 * self.dispatch + 0.2 * overhead

    def size(self, room: int, limit: int) -> int:
        """``room``: datums the batch's window has free; a set takes at most its share of them
        (``room // limit``), so every slot can have a set."""
        if self.datum is None or self.dispatch is None:
            return 1
        wanted = math.ceil(self.dispatch / (FRACTION * max(self.datum, 1e-4)))
        return max(1, min(wanted, MAX_SET, room // limit))


class DaskBatch:
    """A batch whose datum sets run on the cluster."""

    def __init__(self, executor: DaskExecutor, pool: ThreadPoolExecutor, key: str, parallelism: int) -> None:
        self._executor = executor
        self._limit = min(parallelism, pool.max_workers)
        self._drained = threading.Event()
        self._mu = threading.Lock()
        self._live: set[str] = set()  # nonces pulled into a set whose results have not come
        self._in_flight = 0  # datums pulled and not yet consumed
        self._killed = False
        self._closed = False
        self._sizer = _Sizer()
        self._batch: OpenBatch[list[tuple[str, DatumResult]] | None] = pool.open_batch(key, parallelism, self._drained)

    def submit(self, tasks: Iterable[DatumTask], *, first: bool = False) -> bool:
        return self._batch.submit(self._sets(iter(tasks)), first=first)

    def _sets(self, tasks: Iterator[DatumTask]) -> Iterator[functools.partial[list[tuple[str, DatumResult]] | None]]:
        """Datum sets as the dispatcher threads pull them (one set per pull)."""
        for head in tasks:
            with self._mu:
                size = self._sizer.size(2 * self._limit - self._in_flight, self._limit)
            group = [head]
            while len(group) < size:
                more = next(tasks, None)
                if more is None:
                    break
                group.append(more)
            with self._mu:
                self._in_flight += len(group)
                self._live.update(t.nonce for t in group)
            yield functools.partial(self._run_set, group)

    def _run_set(self, group: list[DatumTask]) -> list[tuple[str, DatumResult]] | None:
        with self._mu:
            closed, killed = self._closed, self._killed
        if closed:
            return None
        if killed:
            results = [
                DatumResult(t.datum_id, t.nonce, DatumOutcome.CANCELLED, "stopped before it started") for t in group
            ]
        else:
            started = time.monotonic()
            results = self._executor.run_set(group)
            self._sizer.measure(time.monotonic() - started, results)
        with self._mu:
            self._live.difference_update(t.nonce for t in group)
        return [(r.nonce, r) for r in results]

    def __iter__(self) -> Iterator[tuple[str, DatumResult]]:
        try:
            for items in self._batch:
                for item in items or ():
                    with self._mu:
                        self._in_flight -= 1
                    yield item
        finally:
            self.close()

    def cancel(self, nonce: str) -> bool:
        with self._mu:
            live = nonce in self._live
        if live:
            self._executor.cancel([nonce])
        return live

    def drain(self) -> None:
        self._drained.set()

    def cancel_all(self) -> None:
        self._drained.set()
        with self._mu:
            self._killed = True
            nonces = sorted(self._live)
        if nonces:
            self._executor.cancel(nonces)

    def close(self) -> None:
        with self._mu:
            self._closed = True
        self._batch.close()


class DaskExecutor:
    """Datum sets on a Dask cluster of ``tusk worker`` processes (see the module docstring)."""

    def __init__(self, target: DaskTarget) -> None:
        self.target = target
        self._client: Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._setup: WorkerSetup | None = None
        self._resource = version_resource()

    @property
    def slots(self) -> int:
        if self._pool is not None:
            return self._pool.max_workers
        return self.target.slots or 1

    def start(self) -> None:
        try:
            self._client = Client(
                self.target.address,
                security=self.target.security(),
                timeout=max(self.target.wait, 5.0),
                set_as_default=False,
            )
        except OSError as exc:
            raise FailedPrecondition(
                f"--executor {self.target.address}: cannot reach the Dask scheduler ({exc})", reason="DASK_UNREACHABLE"
            ) from None
        slots = self.target.slots or self._wait_for_workers()
        self._pool = ThreadPoolExecutor(slots)
        self._pool.start()
        log.info("Dask executor on %s: %d slots", self.target.address, slots)

    def workers(self) -> tuple[int, list[str]]:
        """Slots of the workers of this version, and the other workers (address: versions)."""
        assert self._client is not None
        info: dict[str, Any] = self._client.scheduler_info(n_workers=-1)
        slots, others = 0, []
        for address, worker in info.get("workers", {}).items():
            resources = worker.get("resources") or {}
            if self._resource in resources:
                slots += int(resources[self._resource])
            else:
                versions = sorted(r.removeprefix("tusk-") for r in resources if r.startswith("tusk-")) or ["none"]
                others.append(f"{address} (tusk {', '.join(versions)})")
        return slots, others

    def _wait_for_workers(self) -> int:
        deadline = time.monotonic() + self.target.wait
        while True:
            slots, others = self.workers()
            if slots:
                for other in others:
                    log.warning(
                        "worker %s is not of this server's version %s: it gets no datums", other, tusk_version()
                    )
                return slots
            if time.monotonic() >= deadline:
                refused = f"; refused workers of other versions: {', '.join(others)}" if others else ""
                raise FailedPrecondition(
                    f"--executor {self.target.address}: no tusk worker of version {tusk_version()} joined the "
                    f"scheduler within {self.target.wait:g}s{refused}",
                    reason="NO_DASK_WORKERS",
                )
            time.sleep(_WAIT_POLL)

    def prepare(self, setup: WorkerSetup) -> None:
        # Workers detect their own isolation; a new engine ID makes them start afresh.
        self._setup = WorkerSetup(setup.engine_id, setup.env, None)

    def open_batch(self, key: str, parallelism: int) -> DaskBatch:
        if self._pool is None or self._setup is None:
            raise ExecutorStopped("the executor was not started and prepared for an engine")
        return DaskBatch(self, self._pool, key, parallelism)

    def run_set(self, group: list[DatumTask]) -> list[DatumResult]:
        """Run one datum set on the cluster and wait for it; the future is released at once."""
        client, setup = self._client, self._setup
        if client is None or setup is None:
            raise ExecutorStopped("the executor is not running")
        key = f"tusk-set-{group[0].job_id}-{secrets.token_hex(8)}"  # a nonce per submission
        future = client.submit(run_datum_set, setup, group, key=key, pure=False, resources={self._resource: 1})
        try:
            results: list[DatumResult] = future.result()
        except Exception as exc:  # the set died with its workers too often, or the cluster went away
            log.warning("datum set %s failed on the cluster: %s", key, exc)
            results = [could_not_run(task, exc) for task in group]
        finally:
            future.release()
            del future
        return results

    def cancel(self, nonces: list[str]) -> None:
        """Kill these submissions' process groups wherever they run (or keep them from starting)."""
        if self._client is None:
            return
        try:
            self._client.run(cancel_datums, nonces, on_error="ignore")
        except Exception:
            log.exception("could not reach the workers to cancel %d datums", len(nonces))

    def stop(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.stop(wait)
        if self._client is not None:
            self._client.close()
