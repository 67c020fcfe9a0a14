"""JobService on a real SQLite store: changes are recorded with dense per-job and per-set seqs,
counters never go backwards, terminal is final, and watchers see every change exactly once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

import pytest

from tuskd.domain.errors import FailedPrecondition, NotFound
from tuskd.domain.jobs import Counts, JobKey, Stats
from tuskd.domain.states import JobState
from tuskd.services.events import CancelToken, EventHub, WaitCancelled
from tuskd.services.jobs import JobService, WatchTarget
from tuskd.store.base import Tx
from tuskd.store.pps import JobQuery
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_pps import SqlitePpsTx

SET = "a" * 32


@pytest.fixture
def svc(tmp_path: Path) -> JobService:
    store = SqliteStore(tmp_path / "meta.db")
    return JobService(store, lambda tx: SqlitePpsTx(cast(SqliteTx, tx)), EventHub())


def _create(svc: JobService, pipeline: str, set_id: str = SET) -> JobKey:
    key = JobKey("default", pipeline, set_id)
    with svc._store.write() as tx:  # tests drive creation the way the commit hook does
        svc.create_job(cast(Tx, tx), key, 1, pipeline, "master")
    return key


def _run_to_success(svc: JobService, key: JobKey) -> None:
    for state in (JobState.JOB_STARTING, JobState.JOB_RUNNING, JobState.JOB_FINISHING, JobState.JOB_SUCCESS):
        svc.transition(key, state)


def test_transitions_record_history_with_dense_seqs(svc: JobService) -> None:
    key = _create(svc, "edges")
    svc.transition(key, JobState.JOB_STARTING)
    svc.transition(key, JobState.JOB_RUNNING)
    svc.set_total(key, 3)
    svc.record_progress(key, Counts(processed=1), Stats(process_time=0.5, upload_bytes=10))
    svc.record_progress(key, Counts(skipped=1), Stats())
    svc.transition(key, JobState.JOB_FINISHING)
    svc.transition(key, JobState.JOB_SUCCESS)
    row = svc.get(key)
    assert row.seq == 8
    job = row.job
    assert job.state == JobState.JOB_SUCCESS
    assert (job.counts.processed, job.counts.skipped, job.total) == (1, 1, 3)
    assert job.stats.upload_bytes == 10
    assert job.created <= job.started <= job.finished
    items = list(svc.watch(WatchTarget(key=key), after_seq=0))
    assert [(i.seq, i.job.state if i.job else None) for i in items] == [(8, JobState.JOB_SUCCESS)]
    replay = list(svc.watch(WatchTarget(key=key), after_seq=3))
    assert [i.seq for i in replay] == [4, 5, 6, 7, 8]
    assert replay[1].job is not None and replay[1].job.counts.processed == 1


def test_terminal_is_final_and_counters_refuse_negative(svc: JobService) -> None:
    key = _create(svc, "edges")
    svc.transition(key, JobState.JOB_KILLED, "job stopped")
    with pytest.raises(FailedPrecondition):
        svc.transition(key, JobState.JOB_RUNNING)
    with pytest.raises(ValueError):
        svc.record_progress(key, Counts(processed=-1), Stats())
    assert svc.get(key).job.reason == "job stopped"


def test_unknown_job_and_set_are_not_found(svc: JobService) -> None:
    with pytest.raises(NotFound, match="jobs default/edges@"):
        svc.get(JobKey("default", "edges", SET))
    with pytest.raises(NotFound):
        svc.job_set(SET)
    with pytest.raises(NotFound):
        list(svc.watch(WatchTarget(set_id=SET)))


def test_set_watch_streams_each_change_until_all_terminal(svc: JobService) -> None:
    a = _create(svc, "a")
    b = _create(svc, "b")
    seen: list[tuple[int, str, JobState]] = []
    started = threading.Event()

    def watcher() -> None:
        for item in svc.watch(WatchTarget(set_id=SET), heartbeat=0.05):
            started.set()
            if item.job is not None:
                seen.append((item.seq, item.job.key.pipeline, item.job.state))

    t = threading.Thread(target=watcher)
    t.start()
    assert started.wait(5)
    _run_to_success(svc, a)
    svc.transition(b, JobState.JOB_STARTING)
    svc.transition(b, JobState.JOB_UNRUNNABLE, "upstream failed")
    t.join(10)
    assert not t.is_alive()
    seqs = [s for s, _, _ in seen]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert seen[-1][1:] == ("b", JobState.JOB_UNRUNNABLE)
    assert ("a", JobState.JOB_SUCCESS) in [(p, s) for _, p, s in seen]
    # The union of the live stream and the history is the whole history from the first seq on.
    history = [seqs[0]] + [i.seq for i in svc.watch(WatchTarget(set_id=SET), after_seq=seqs[0])]
    assert history == list(range(seqs[0], seqs[-1] + 1))
    assert set(seqs) <= set(history)


def test_wait_terminal_and_cancel(svc: JobService) -> None:
    key = _create(svc, "edges")
    token = CancelToken()
    threading.Timer(0.1, token.cancel).start()
    with pytest.raises(WaitCancelled):
        svc.wait_terminal(key, cancel=token)
    threading.Timer(0.1, lambda: _run_to_success(svc, key)).start()
    assert svc.wait_terminal(key, timeout=10).state == JobState.JOB_SUCCESS


def test_list_jobs_newest_first_with_keyset_cursor(svc: JobService) -> None:
    keys = [_create(svc, "edges", f"{i:032x}") for i in range(5)]
    rows = svc.list(JobQuery(pipeline="edges", limit=2))
    assert [r.job.key for r in rows] == [keys[4], keys[3]]
    more = svc.list(JobQuery(pipeline="edges", limit=2, after_row=rows[-1].row))
    assert [r.job.key for r in more] == [keys[2], keys[1]]
    svc.transition(keys[0], JobState.JOB_KILLED)
    killed = svc.list(JobQuery(states=[JobState.JOB_KILLED]))
    assert [r.job.key for r in killed] == [keys[0]]


def test_recent_changes_answer_only_unbroken_runs() -> None:
    from tuskd.services.jobs import RecentChanges

    recent = RecentChanges(per_target=3, max_targets=2)
    job = JobKey("default", "edges", SET)
    snap = _job_value(job)
    assert recent.since(job, 0) is None  # nothing known: the store must answer
    for seq in (1, 2, 3):
        recent.add(job, seq, snap)
    assert [s for s, _ in recent.since(job, 0) or []] == [1, 2, 3]
    assert recent.since(job, 3) == []
    recent.add(job, 4, snap)  # the run keeps the last 3: 2, 3, 4
    assert recent.since(job, 0) is None
    assert [s for s, _ in recent.since(job, 1) or []] == [2, 3, 4]
    recent.add(job, 6, snap)  # seq 5 never arrived here: only 6 is known for certain
    assert recent.since(job, 4) is None
    assert [s for s, _ in recent.since(job, 5) or []] == [6]
    recent.add("set-a", 1, snap)
    recent.add("set-b", 1, snap)  # evicts the least recently used target (the job)
    assert recent.since(job, 5) is None


def _job_value(key: JobKey) -> object:
    from tuskd.domain.jobs import Job

    return Job(key=key, pipeline_version=1, output_repo=key.pipeline, output_branch="master")


def test_watchers_served_from_memory_see_the_stored_history(svc: JobService) -> None:
    key = _create(svc, "edges")
    seen: list[list[int]] = [[] for _ in range(20)]
    ready = threading.Barrier(21)

    def follow(mine: list[int]) -> None:
        for item in svc.watch(WatchTarget(key=key), heartbeat=5):
            if not mine:
                ready.wait(5)
            if item.job is not None:
                mine.append(item.seq)

    followers = [threading.Thread(target=follow, args=(seen[i],)) for i in range(20)]
    for t in followers:
        t.start()
    ready.wait(5)  # every follower has its first message (seq 1) before anything changes
    _run_to_success(svc, key)
    for t in followers:
        t.join(10)
        assert not t.is_alive()
    stored = [1] + [i.seq for i in svc.watch(WatchTarget(key=key), after_seq=1)]
    assert stored == [1, 2, 3, 4, 5]
    # Every follower got every change, in order, exactly once.
    assert all(mine == stored for mine in seen)
