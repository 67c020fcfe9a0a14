"""Job changes reach watchers in commit order, even when two writers commit concurrently.

The bug this pins (issue 13): a write's after-commit work ran after the write lock was released,
so a later commit's publication could overtake an earlier one's. The in-memory change cache then
kept only the earlier change, a WaitJob watcher got it and slept until the next heartbeat (5 s),
missing the later change meanwhile. Writers are held up between COMMIT and the rest of their
after-commit work with an Event (a fault-injection seam: the thread is stalled exactly where a
busy machine could preempt it); nothing here sleeps to make an assertion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import cast

import pytest

from tuskd.domain.jobs import JobKey
from tuskd.domain.states import JobState
from tuskd.services.events import EventHub
from tuskd.services.jobs import JobService, WatchItem, WatchTarget
from tuskd.store.base import Tx
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_pps import SqlitePpsTx

SET = "b" * 32
WAIT = 10.0  # a bound for a hang, never reached when the code is right


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "meta.db")
    yield s
    s.close()


def _jobs(store: SqliteStore, hub: EventHub | None = None) -> JobService:
    return JobService(store, lambda tx: SqlitePpsTx(cast(SqliteTx, tx)), hub or EventHub())


def _create(svc: JobService, store: SqliteStore, pipeline: str) -> JobKey:
    key = JobKey("default", pipeline, SET)
    with store.write() as tx:
        svc.create_job(cast(Tx, tx), key, 1, pipeline, "master")
    return key


def _seqs(items: Sequence[WatchItem]) -> list[int | None]:
    """Each item's seq, None for a heartbeat."""
    return [item.seq if item.job is not None else None for item in items]


def _next_in_thread(watcher: Iterator[WatchItem]) -> WatchItem:
    """``next(watcher)``, failing (not hanging) if it blocks past the hang bound."""
    got: list[WatchItem] = []
    thread = threading.Thread(target=lambda: got.append(next(watcher)), daemon=True)
    thread.start()
    thread.join(WAIT)
    assert got, "the watcher produced nothing"
    return got[0]


def test_watcher_gets_both_changes_in_order_when_the_first_writer_is_held_after_commit(
    store: SqliteStore,
) -> None:
    svc = _jobs(store)
    first = _create(svc, store, "first")
    second = _create(svc, store, "second")  # job set seqs 1 and 2
    # A long heartbeat: a watcher that misses a change would sit here for the whole of it.
    watcher = svc.watch(WatchTarget(set_id=SET), heartbeat=WAIT)
    assert _seqs([next(watcher), next(watcher)]) == [1, 2]

    committed = threading.Event()
    release = threading.Event()

    def held_after_commit() -> None:
        committed.set()
        release.wait(WAIT)

    def first_writer() -> None:
        with store.write() as tx:
            tx.after_commit(held_after_commit)  # registered before the change's own publication
            svc.transition(first, JobState.JOB_STARTING, tx=cast(Tx, tx))

    writer = threading.Thread(target=first_writer, daemon=True)
    writer.start()
    assert committed.wait(WAIT)  # seq 3 is durable; its writer is stalled after COMMIT
    svc.transition(second, JobState.JOB_STARTING)  # seq 4, committed and returned meanwhile
    release.set()
    writer.join(WAIT)
    assert not writer.is_alive()

    items = [_next_in_thread(watcher), _next_in_thread(watcher)]
    assert _seqs(items) == [3, 4]
    assert [i.job.key.pipeline for i in items if i.job] == ["first", "second"]


class _GatedHub(EventHub):
    """A real hub whose first publication of ``topic`` stalls until released (fault injection)."""

    def __init__(self, topic: str) -> None:
        super().__init__()
        self._topic = topic
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.published: list[tuple[str, ...]] = []

    def publish(self, *topics: str) -> None:
        if self.armed and self._topic in topics and not self.entered.is_set():
            self.entered.set()
            self.release.wait(WAIT)
        self.published.append(topics)
        super().publish(*topics)


def _wait_until(check: Callable[[], bool]) -> None:
    done = threading.Event()
    while not check():
        done.wait(0.005)  # polling a condition, not timing an assertion


def test_a_later_commit_is_published_only_after_the_earlier_one(store: SqliteStore) -> None:
    hub = _GatedHub("pipeline-jobs/default/first")
    svc = _jobs(store, hub)
    first = _create(svc, store, "first")
    second = _create(svc, store, "second")
    hub.published.clear()
    hub.armed = True

    a = threading.Thread(target=lambda: svc.transition(first, JobState.JOB_STARTING), daemon=True)
    a.start()
    assert hub.entered.wait(WAIT)  # seq 3 committed; its publication is stalled
    b = threading.Thread(target=lambda: svc.transition(second, JobState.JOB_STARTING), daemon=True)
    b.start()
    _wait_until(lambda: store.outbox_waiting() == 1)  # seq 4 committed, waiting for its turn
    hub.release.set()
    a.join(WAIT)
    b.join(WAIT)
    pipelines = [t[2] for t in hub.published]
    assert pipelines == ["pipeline-jobs/default/first", "pipeline-jobs/default/second"]
    items = list(_take(svc.watch(WatchTarget(set_id=SET), after_seq=2, heartbeat=WAIT), 2))
    assert _seqs(items) == [3, 4]


def _take(it: Iterator[WatchItem], n: int) -> Iterator[WatchItem]:
    for _ in range(n):
        yield next(it)
