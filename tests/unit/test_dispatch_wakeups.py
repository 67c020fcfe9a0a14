"""What the job dispatcher reads and what wakes it: unfinished jobs come from a partial index (no
table scan), and only job creation and terminal states wake it (not progress records)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from tuskd.domain.jobs import Counts, JobKey, Stats
from tuskd.domain.states import TERMINAL_JOB_STATES, JobState
from tuskd.services.events import EventHub
from tuskd.services.jobs import JOB_LIFECYCLE_TOPIC, JobService
from tuskd.store.base import Tx
from tuskd.store.pps_unfinished import UNFINISHED_JOBS_WHERE
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_pps import SqlitePpsTx

SET = "c" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "meta.db")
    yield s
    s.close()


def _svc(store: SqliteStore, hub: EventHub) -> JobService:
    return JobService(store, lambda tx: SqlitePpsTx(cast(SqliteTx, tx)), hub)


def _create(svc: JobService, store: SqliteStore, pipeline: str, set_id: str = SET) -> JobKey:
    key = JobKey("default", pipeline, set_id)
    with store.write() as tx:
        svc.create_job(cast(Tx, tx), key, 1, pipeline, "master")
    return key


def test_the_index_condition_names_exactly_the_terminal_states() -> None:
    numbers = sorted(int(s) for s in TERMINAL_JOB_STATES)
    assert f"state NOT IN ({', '.join(map(str, numbers))})" == UNFINISHED_JOBS_WHERE


@pytest.mark.parametrize("keys_only", [False, True], ids=["unfinished_jobs", "unfinished_job_keys"])
def test_unfinished_jobs_are_read_through_the_partial_index(store: SqliteStore, keys_only: bool) -> None:
    svc = _svc(store, EventHub())
    done = [_create(svc, store, f"p{i}", set_id=f"{i:032x}") for i in range(50)]
    for key in done:
        svc.transition(key, JobState.JOB_KILLED, "stopped")
    open_key = _create(svc, store, "open")
    statements: list[str] = []
    with store.write() as tx:  # the writer connection: its trace shows the statement run
        conn = tx.connection
        conn.set_trace_callback(statements.append)
        try:
            pps = SqlitePpsTx(tx)
            keys = pps.unfinished_job_keys() if keys_only else [r.job.key for r in pps.unfinished_jobs()]
        finally:
            conn.set_trace_callback(None)
        plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + statements[-1])]
    assert keys == [open_key]
    assert any("USING INDEX jobs_unfinished" in step for step in plan), plan
    assert not any(step.startswith("SCAN jobs") and "INDEX" not in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # ids come in order from the index


def test_the_index_holds_only_unfinished_jobs(store: SqliteStore) -> None:
    svc = _svc(store, EventHub())
    finished = _create(svc, store, "finished")
    _create(svc, store, "open")
    svc.transition(finished, JobState.JOB_UNRUNNABLE, "no inputs")
    conn = sqlite3.connect(store.path)
    try:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM jobs INDEXED BY jobs_unfinished WHERE " + UNFINISHED_JOBS_WHERE
        ).fetchone()
    finally:
        conn.close()
    assert count == 1


def test_only_creation_and_terminal_states_wake_the_dispatcher_topic(store: SqliteStore) -> None:
    hub = EventHub()
    svc = _svc(store, hub)
    with hub.subscribe(JOB_LIFECYCLE_TOPIC) as sub:
        key = _create(svc, store, "edges")
        assert sub.wait(0)  # already flagged: no waiting happens
        svc.transition(key, JobState.JOB_STARTING)
        svc.transition(key, JobState.JOB_RUNNING)
        svc.set_total(key, 2)
        svc.record_progress(key, Counts(processed=1), Stats(process_time=0.1))
        svc.transition(key, JobState.JOB_FINISHING)
        assert not sub.wait(0)
        svc.transition(key, JobState.JOB_SUCCESS)
        assert sub.wait(0)
