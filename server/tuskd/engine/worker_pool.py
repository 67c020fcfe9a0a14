"""Run batches of callables on a server-wide pool of worker threads, fairly.

This is the scheduling core of the local datum executor (engine/executor.py, which hands it
closures over its own slots: they never leave this process). ``run_batch`` schedules a batch of
a fixed iterable at once and returns an iterator over its results; ``open_batch`` does the same
for a batch that takes more tasks while it runs (``submit``).

Scheduling: every batch runs at most ``min(parallelism, max_workers)`` tasks at once; when a
worker frees up it serves the eligible batch with the fewest running tasks (ties: the one served
least recently), so concurrent jobs share the global cap evenly. Tasks are pulled from the
batch's iterable lazily, one at a time and only when a worker is about to run one, and a batch
never has more than twice its limit of tasks running or finished-but-unconsumed: a lazy iterable
of any length runs in bounded memory.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_CANCEL_POLL_SECONDS = 0.05  # consumers look at their cancel event this often (Events cannot notify)


class ExecutorStopped(RuntimeError):
    """The executor was stopped (or never started), so a batch's remaining tasks will not run."""


class TaskExecutor(Protocol):
    """Runs batches of callables; constructing one starts nothing, ``start`` does."""

    def start(self) -> None: ...

    def stop(self, wait: bool = True) -> None: ...

    def run_batch(
        self, key: str, tasks: Iterable[Callable[[], T]], parallelism: int, cancel: threading.Event
    ) -> Iterator[T]:
        """Schedule ``tasks``, at most ``parallelism`` at a time; yield results as tasks finish.

        An exception raised by a task (or by ``tasks`` itself) is raised to the consumer and ends
        the batch. Setting ``cancel`` drops the tasks not yet started; the results of those
        already running are still yielded. Abandoning the iterator early drops the rest too.
        """
        ...


@dataclass(eq=False)
class _Batch:
    key: str
    feeds: deque[Iterator[Callable[[], Any]]]  # submitted iterables, pulled front first
    limit: int
    cancel: threading.Event
    sealed: bool = True  # no more feeds will come: an empty ``feeds`` is the end
    running: int = 0  # includes a task being pulled from a feed
    pulling: bool = False  # iterators are not thread-safe: one puller at a time
    exhausted: bool = False  # no more tasks will be started
    closed: bool = False  # the consumer went away; results are discarded
    stopped: bool = False  # the executor stopped while tasks may have been pending
    served: int = 0  # when a worker last picked this batch (for round-robin among equals)
    results: deque[tuple[Any, BaseException | None]] = field(default_factory=deque)
    ready: threading.Condition | None = None  # the consumer waits on it (the pool's lock)

    def eligible(self) -> bool:
        return (
            not self.exhausted
            and bool(self.feeds)
            and not self.closed
            and not self.pulling
            and self.running < self.limit
            and self.running + len(self.results) < 2 * self.limit
            and not self.cancel.is_set()
        )

    def finished(self) -> bool:
        idle = self.exhausted or self.cancel.is_set() or not self.feeds
        return idle and self.running == 0 and not self.results


class ThreadPoolExecutor(TaskExecutor):
    """The embedded default: ``max_workers`` threads shared by every batch of the server."""

    def __init__(self, max_workers: int) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self._max_workers = max_workers
        # One lock, two kinds of waiters: idle workers wait on ``_cond``, each batch's consumer
        # on the batch's ``ready``. A datum's end wakes its consumer only, and a worker is woken
        # only when there may be work for it: each needless wake-up is a thread switch and a
        # GIL hand-over on the datum's critical path.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._batches: list[_Batch] = []
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopping = False
        self._ticks = itertools.count(1)

    @property
    def max_workers(self) -> int:
        return self._max_workers

    def start(self) -> None:
        with self._cond:
            if self._started:
                raise RuntimeError("executor already started")
            self._started = True
            for n in range(self._max_workers):
                thread = threading.Thread(target=self._work, name=f"tusk-executor-{n}", daemon=True)
                self._threads.append(thread)
                thread.start()
        log.info("executor started with %d workers", self._max_workers)

    def stop(self, wait: bool = True) -> None:
        """Drop every task not yet started, let running ones finish, and (if ``wait``) join."""
        with self._cond:
            self._stopping = True
            for batch in self._batches:
                if not batch.exhausted and batch.feeds:
                    batch.exhausted = True
                    batch.stopped = True
                self._wake_consumer(batch)
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()
        log.info("executor stopped")

    def run_batch(
        self, key: str, tasks: Iterable[Callable[[], T]], parallelism: int, cancel: threading.Event
    ) -> Iterator[T]:
        """Schedule the batch now; the returned iterator yields results in completion order.

        Close the iterator (or drop it) to abandon the batch: tasks not yet started are dropped.
        """
        return self._open(key, deque([iter(tasks)]), parallelism, cancel, sealed=True)

    def open_batch(self, key: str, parallelism: int, cancel: threading.Event) -> OpenBatch[T]:
        """A batch that starts empty and takes tasks through ``submit`` while it runs. Its
        iterator ends once every task submitted so far has run and been consumed (or after
        ``cancel``, once the running ones have): submit more before asking for the next result."""
        batch: OpenBatch[T] = self._open(key, deque(), parallelism, cancel, sealed=False)
        return batch

    def _open(
        self, key: str, feeds: deque[Iterator[Callable[[], Any]]], parallelism: int, cancel: threading.Event,
        *, sealed: bool,
    ) -> OpenBatch[Any]:  # fmt: skip
        if parallelism < 1:
            raise ValueError(f"parallelism must be at least 1, got {parallelism}")
        limit = min(parallelism, self._max_workers)
        batch = _Batch(key=key, feeds=feeds, limit=limit, cancel=cancel, sealed=sealed)
        batch.ready = threading.Condition(self._lock)
        with self._cond:
            if not self._started or self._stopping:
                raise ExecutorStopped("the executor is not running")
            self._batches.append(batch)
            self._cond.notify_all()
        return OpenBatch(self, batch)

    def _submit(self, batch: _Batch, tasks: Iterable[Callable[[], Any]], first: bool) -> bool:
        with self._cond:
            if self._stopping or batch.exhausted or batch.closed or batch.cancel.is_set():
                return False
            if first:
                batch.feeds.appendleft(iter(tasks))
            else:
                batch.feeds.append(iter(tasks))
            self._cond.notify_all()
            self._wake_consumer(batch)
        return True

    @staticmethod
    def _wake_consumer(batch: _Batch) -> None:
        """Wake whoever waits for ``batch``'s results (call with the pool's lock held)."""
        assert batch.ready is not None
        batch.ready.notify_all()

    def _next_result(self, batch: _Batch) -> Any:
        assert batch.ready is not None
        with self._lock:
            while not batch.results:
                if batch.closed:
                    raise StopIteration
                if batch.finished():
                    if batch.stopped and not batch.cancel.is_set():
                        raise ExecutorStopped(f"executor stopped before batch {batch.key} finished")
                    raise StopIteration
                batch.ready.wait(_CANCEL_POLL_SECONDS)
            full = batch.running + len(batch.results) >= 2 * batch.limit
            value, error = batch.results.popleft()
            if full:
                self._cond.notify_all()  # the batch's window has room again
        if error is not None:
            raise error
        return value

    def _leave(self, batch: _Batch) -> None:
        with self._cond:
            batch.closed = True
            batch.exhausted = True
            batch.results.clear()
            if batch in self._batches:
                self._batches.remove(batch)
            self._cond.notify_all()
            self._wake_consumer(batch)

    def _pick(self) -> _Batch | None:
        best: _Batch | None = None
        for batch in self._batches:
            if batch.eligible() and (best is None or (batch.running, batch.served) < (best.running, best.served)):
                best = batch
        return best

    def _work(self) -> None:
        while True:
            with self._cond:
                batch = None if self._stopping else self._pick()
                while batch is None:
                    if self._stopping:
                        return
                    self._cond.wait()
                    batch = None if self._stopping else self._pick()
                batch.pulling = True
                batch.running += 1
                batch.served = next(self._ticks)
                feed = batch.feeds[0]
            task: Callable[[], Any] | None = None
            pull_error: BaseException | None = None
            try:
                task = next(feed)
            except StopIteration:
                pass
            except BaseException as exc:  # delivered to the consumer, like a task's own error
                pull_error = exc
            with self._cond:
                batch.pulling = False
                self._cond.notify()  # an idle worker may pull from this batch now
                if task is None or batch.cancel.is_set() or batch.closed or batch.exhausted:
                    batch.running -= 1
                    self._wake_consumer(batch)  # the batch may be finished now
                    if task is None:
                        if pull_error is not None:
                            batch.exhausted = True
                            if not batch.closed:
                                batch.results.append((None, pull_error))
                        elif feed in batch.feeds:
                            batch.feeds.remove(feed)
                            if not batch.feeds and batch.sealed:
                                batch.exhausted = True
                    continue
            outcome: tuple[Any, BaseException | None]
            try:
                outcome = (task(), None)
            except BaseException as exc:  # delivered to the consumer of the batch
                outcome = (None, exc)
            del task
            with self._cond:
                batch.running -= 1
                if not batch.closed:
                    batch.results.append(outcome)
                self._wake_consumer(batch)
                # This worker picks again right away; an idle one is woken in case the pick
                # goes elsewhere (a no-op when none waits).
                self._cond.notify()


class OpenBatch(Iterator[T]):
    """Results of one batch; leaving it (end, error, close or garbage collection) unschedules it."""

    def __init__(self, executor: ThreadPoolExecutor, batch: _Batch) -> None:
        self._executor = executor
        self._batch = batch
        # Holds the executor and the batch, not this iterator, so dropping the iterator runs it.
        self._leave = weakref.finalize(self, executor._leave, batch)

    def __iter__(self) -> OpenBatch[T]:
        return self

    def submit(self, tasks: Iterable[Callable[[], T]], *, first: bool = False) -> bool:
        """Queue more tasks (pulled lazily, after those submitted before; with ``first``, before
        them); False when the batch takes no more (cancelled, closed or stopped)."""
        return self._executor._submit(self._batch, tasks, first)

    def __next__(self) -> T:
        try:
            value: T = self._executor._next_result(self._batch)
        except BaseException:
            self._leave()
            raise
        return value

    def close(self) -> None:
        """Abandon the batch: tasks not yet started are dropped, running ones finish unseen."""
        self._leave()
