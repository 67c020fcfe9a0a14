"""The store contract, units of work and the datum ledger, on SQLite and on PostgreSQL.

Events emitted in a write reach their sinks after COMMIT, in commit order, before the after-
commit actions, never on rollback; a datum change is refused (DatumConflict) unless the row is in
the state it was made from; ``counted`` round-trips; migrations 4 and 5 behave alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.jobs import DatumRecord, Job, JobKey, Stats
from tuskd.domain.pfs import RepoKey
from tuskd.domain.states import DatumState, JobState
from tuskd.store.pps import DatumConflict

from .conftest import Backend

KEY = JobKey("default", "edges", "s1")
WAIT = 10.0


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def _outbox_waiting(backend: Backend) -> int:
    waiting: Callable[[], int] = backend.store.outbox_waiting  # type: ignore[attr-defined]
    return waiting()


# -- units of work ------------------------------------------------------------------------------


def test_events_follow_commit_then_actions_and_rollbacks_drop_theirs(backend: Backend) -> None:
    log: list[str] = []

    def sink(events: Sequence[Any]) -> None:
        log.append("deliver " + ",".join(events))

    with pytest.raises(RuntimeError), backend.store.write() as tx:
        tx.emit(sink, "lost")
        raise RuntimeError("rolled back")
    with backend.store.write() as tx:
        tx.after_commit(lambda: log.append("action"))
        tx.emit(sink, "a")
        with pytest.raises(RuntimeError), backend.store.write(join=tx) as inner:  # a savepoint
            inner.emit(sink, "inner")
            inner.after_commit(lambda: log.append("inner action"))
            raise RuntimeError("savepoint rolled back")
        tx.emit(sink, "b")
        tx.insert_repo(RepoKey.of("r"), "", 0)
        assert log == []  # nothing leaves before COMMIT
    assert log == ["deliver a,b", "action"]


def test_a_later_commit_is_delivered_only_after_the_earlier_one(backend: Backend) -> None:
    delivered: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def slow_sink(events: Sequence[Any]) -> None:
        entered.set()
        assert release.wait(WAIT)
        delivered.extend(events)

    def first() -> None:
        with backend.store.write() as tx:
            tx.insert_repo(RepoKey.of("first"), "", 0)
            tx.emit(slow_sink, "first")

    def second() -> None:
        with backend.store.write() as tx:
            tx.insert_repo(RepoKey.of("second"), "", 0)
            tx.emit(delivered.extend, "second")

    a = threading.Thread(target=first, daemon=True)
    a.start()
    assert entered.wait(WAIT)  # the first commit is in, its delivery stalled
    b = threading.Thread(target=second, daemon=True)
    b.start()
    _wait_until(lambda: _outbox_waiting(backend) == 1)  # the second committed, waiting for its turn
    assert delivered == []
    release.set()
    a.join(WAIT)
    b.join(WAIT)
    assert delivered == ["first", "second"]


def test_a_write_whose_commit_fails_does_not_hold_up_later_deliveries(pg_url: str) -> None:
    # PostgreSQL only: its ticket is taken before COMMIT (SQLite's after it), so a COMMIT that
    # fails must give its ticket up. A deferred constraint makes the COMMIT itself fail.
    import psycopg

    from tuskd.store.postgres import PostgresStore

    store = PostgresStore(pg_url, max_connections=2)
    delivered: list[str] = []
    try:
        with pytest.raises(psycopg.IntegrityError), store.write() as tx:
            tx.emit(delivered.extend, "never")
            tx.connection.execute("CREATE TEMP TABLE boom (x INT UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP")
            tx.connection.execute("INSERT INTO boom VALUES (1), (1)")  # checked only at COMMIT

        def later() -> None:
            with store.write() as tx:
                tx.emit(delivered.extend, "next")

        t = threading.Thread(target=later, daemon=True)
        t.start()
        t.join(WAIT)
        assert not t.is_alive(), "the next write waits for the failed commit's ticket"
        assert delivered == ["next"]
        assert store.outbox_waiting() == 0
    finally:
        store.close()


# -- the datum ledger ---------------------------------------------------------------------------


def _job_row(backend: Backend) -> int:
    with backend.store.write() as tx:
        return backend.pps(tx).insert_job(Job(KEY, 1, "edges", "master", JobState.JOB_RUNNING), "snap", 1).row


def _record(state: DatumState, reason: str = "") -> DatumRecord:
    return DatumRecord(KEY, "d1", "h", state, 1, reason, Stats())


def _write(backend: Backend, row: int, change: ledger.DatumChange) -> None:
    with backend.store.write() as tx:
        backend.pps(tx).upsert_datums(row, [change], 1)


def _read(backend: Backend, row: int) -> DatumRecord:
    with backend.store.read() as tx:
        got = backend.pps(tx).get_datum(row, "d1")
    assert got is not None
    return got.record


def test_a_change_made_from_another_state_is_refused_and_nothing_is_written(backend: Backend) -> None:
    row = _job_row(backend)
    _write(backend, row, ledger.finish(_record(DatumState.SUCCESS), None, "[]"))
    with pytest.raises(DatumConflict, match=r"datum d1 .* is SUCCESS, not UNKNOWN"):
        _write(backend, row, ledger.finish(_record(DatumState.FAILED), None, "[]"))
    stale = ledger.restart(ledger.stored(_record(DatumState.FAILED), "[]"))  # the row is SUCCESS
    with pytest.raises(DatumConflict, match="is SUCCESS, not FAILED"):
        _write(backend, row, stale)
    # In one batch, the good change before the refused one is rolled back with it.
    other = DatumRecord(KEY, "d0", "h", DatumState.SUCCESS, 1, "", Stats())
    with pytest.raises(DatumConflict), backend.store.write() as tx:
        backend.pps(tx).upsert_datums(row, [ledger.finish(other, None, "[]"), stale], 1)
    with backend.store.read() as tx:
        assert backend.pps(tx).get_datum(row, "d0") is None
    assert _read(backend, row).state == DatumState.SUCCESS


def test_counted_round_trips(backend: Backend) -> None:
    row = _job_row(backend)
    _write(backend, row, ledger.finish(_record(DatumState.FAILED, reason="exit 1"), None, "[]"))
    _write(backend, row, ledger.restart(ledger.stored(_read(backend, row), "[]")))
    again = _read(backend, row)
    assert (again.state, again.counted, again.reason) == (
        DatumState.STARTING,
        DatumState.FAILED,
        "restarted; was FAILED",
    )


def test_unfinished_jobs_are_read_through_the_partial_index(backend: Backend) -> None:
    rows = []
    with backend.store.write() as tx:
        pps = backend.pps(tx)
        for i, state in enumerate((JobState.JOB_SUCCESS, JobState.JOB_RUNNING, JobState.JOB_KILLED)):
            rows.append(
                pps.insert_job(Job(JobKey("default", "edges", f"s{i}"), 1, "edges", "master", state), "", i).row
            )
    with backend.store.read() as tx:
        assert [j.row for j in backend.pps(tx).unfinished_jobs()] == [rows[1]]
        assert backend.pps(tx).unfinished_job_keys() == [JobKey("default", "edges", "s1")]
    if backend.name == "postgresql":
        from tuskd.store.pps_unfinished import UNFINISHED_JOBS_WHERE

        with backend.store.read() as tx:
            conn = tx.connection  # type: ignore[attr-defined]
            conn.execute("SET LOCAL enable_seqscan = off")  # a tiny table: the planner would scan it
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT id FROM jobs WHERE {UNFINISHED_JOBS_WHERE}"))
        assert "jobs_unfinished" in plan, plan


def test_migration_4_on_postgresql_reads_counted_out_of_old_reasons(pg_server: Any) -> None:
    import psycopg

    from tuskd.store.postgres import PostgresStore, PostgresTx
    from tuskd.store.postgres_migrations import PG_MIGRATIONS, apply_pg_migrations
    from tuskd.store.postgres_pps import PostgresPpsTx

    name = pg_server.create_empty_database(f"m4_{threading.get_ident()}")
    url = pg_server.url(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            apply_pg_migrations(conn, [m for m in PG_MIGRATIONS if m.version < 4])
            conn.execute(
                "INSERT INTO jobs (project, pipeline, job_id, pipeline_version, output_repo, output_branch, state,"
                " created_us) VALUES ('default', 'edges', %s, 1, 'edges', 'master', 3, 0)",
                (KEY.id,),
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO datums (job_row, datum_id, hash, state, reason) VALUES (1, %s, 'h', %s, %s)",
                    [
                        ("a", 4, "restarted; was FAILED"),
                        ("b", 4, "restarted; was RECOVERED: exit 2"),
                        ("c", 1, "restarted; was FAILED"),  # not waiting: nothing to carry
                        ("d", 2, ""),
                    ],
                )
        store = PostgresStore(url)
        try:
            with store.read() as tx:
                t = PostgresPpsTx(tx if isinstance(tx, PostgresTx) else None)  # type: ignore[arg-type]
                found = {d.record.id: (d.record.counted, d.record.reason) for d in t.list_datums(1)}
        finally:
            store.close()
        assert found == {
            "a": (DatumState.FAILED, "restarted; was FAILED"),
            "b": (DatumState.RECOVERED, "restarted; was RECOVERED: exit 2"),
            "c": (None, "restarted; was FAILED"),
            "d": (None, ""),
        }
    finally:
        pg_server.drop_database(name)
