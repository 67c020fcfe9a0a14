"""The datum ledger (domain/datum_ledger.py) against the one transition table, and its writes in
the real SQLite store: the checked upsert, the ``counted`` column across a reopen of the store
(what a server restart does), and migration 4 filling ``counted`` from old reason texts."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.errors import FailedPrecondition
from tuskd.domain.jobs import Counts, DatumRecord, Job, JobKey
from tuskd.domain.states import DATUM_TRANSITIONS, DatumState
from tuskd.store.migrations import MIGRATIONS, apply_migrations
from tuskd.store.pps import DatumConflict
from tuskd.store.sqlite import SqliteStore
from tuskd.store.sqlite_pps import SqlitePpsTx

D = DatumState
KEY = JobKey("default", "edges", "0123456789abcdef0123456789abcdef")


def record(state: DatumState, **fields: object) -> DatumRecord:
    return DatumRecord(KEY, "d1", "h1", state, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("current", "new"), list(itertools.product(DatumState, DatumState)))
def test_every_pair_of_the_table_through_the_ledger(current: DatumState, new: DatumState) -> None:
    start = ledger.stored(record(current), "[]")
    if new in DATUM_TRANSITIONS[current]:
        moved = ledger.move(start, new)
        assert (moved.before, moved.record.state) == (current, new)
    else:
        with pytest.raises(FailedPrecondition) as info:
            ledger.move(start, new)
        assert info.value.reason == "INVALID_DATUM_STATE_TRANSITION"


@pytest.mark.parametrize("state", list(DatumState))
def test_restart_only_from_failed_or_recovered(state: DatumState) -> None:
    stored = ledger.stored(record(state, reason="exit 1"), "[]")
    if state in (D.FAILED, D.RECOVERED):
        waiting = ledger.restart(stored)
        assert waiting.record.state == D.STARTING
        assert waiting.record.counted == state
        assert waiting.record.reason == f"restarted; was {state.name}"  # what ListDatum shows
        assert waiting.before == state and waiting.counts == Counts()
    else:
        with pytest.raises(FailedPrecondition):
            ledger.restart(stored)


@pytest.mark.parametrize("outcome", list(DatumState))
def test_finish_a_new_datum(outcome: DatumState) -> None:
    if outcome in (D.SUCCESS, D.FAILED, D.RECOVERED):
        done = ledger.finish(record(outcome), None, "[]")
        assert done.before == D.UNKNOWN and done.record.state == outcome
        assert done.counts.done == 1
    else:
        with pytest.raises(FailedPrecondition):
            ledger.finish(record(outcome), None, "[]")


def test_a_restarted_datum_adds_only_an_outcome_not_counted_yet() -> None:
    again = ledger.finish(record(D.FAILED), D.FAILED, "[]")
    assert again.before == D.STARTING and again.record.counted is None
    assert again.counts == Counts()
    better = ledger.finish(record(D.SUCCESS), D.FAILED, "[]")
    assert better.counts == Counts(processed=1)


def test_restarted_before_it_was_recorded_is_one_write_that_still_counts() -> None:
    done = ledger.finish(record(D.FAILED), None, "[]")
    waiting = ledger.restart(done)
    assert (waiting.before, waiting.record.state, waiting.record.counted) == (D.UNKNOWN, D.STARTING, D.FAILED)
    assert waiting.counts == Counts(failed=1)


@pytest.mark.parametrize("state", list(DatumState))
def test_abandon_settles_only_a_waiting_datum(state: DatumState) -> None:
    if state == D.STARTING:
        settled = ledger.abandon(record(D.STARTING, reason="restarted; was RECOVERED", counted=D.RECOVERED), "[]", "x")
        assert settled.record.state == D.RECOVERED and settled.record.counted is None
        assert settled.record.reason == "restarted; was RECOVERED; not run again: x"
        assert settled.counts == Counts()  # it was counted when it first recovered
    else:
        with pytest.raises(FailedPrecondition):
            ledger.abandon(record(state, counted=D.FAILED), "[]", "x")


def test_skip_adds_a_skipped_count() -> None:
    skipped = ledger.skip(record(D.UNKNOWN), "[]")
    assert (skipped.before, skipped.record.state, skipped.counts) == (D.UNKNOWN, D.SKIPPED, Counts(skipped=1))


# -- in the store --------------------------------------------------------------------------------


def _job_row(store: SqliteStore) -> int:
    with store.write() as tx:
        job = Job(key=KEY, pipeline_version=1, output_repo="edges", output_branch="master")
        return SqlitePpsTx(tx).insert_job(job, "{}", 1).row


def _write(store: SqliteStore, row: int, *changes: ledger.DatumChange) -> None:
    with store.write() as tx:
        SqlitePpsTx(tx).upsert_datums(row, changes, 2)


def _read(store: SqliteStore, row: int) -> DatumRecord:
    with store.read() as tx:
        found = SqlitePpsTx(tx).get_datum(row, "d1")
    assert found is not None
    return found.record


def test_counted_survives_a_restart_of_the_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "meta.db")
    row = _job_row(store)
    failed = ledger.finish(record(D.FAILED, reason="exit 1"), None, "[]")
    _write(store, row, failed)
    _write(store, row, ledger.restart(ledger.stored(_read(store, row), "[]")))
    store.close()
    store = SqliteStore(tmp_path / "meta.db")
    try:
        again = _read(store, row)
        assert (again.state, again.counted, again.reason) == (D.STARTING, D.FAILED, "restarted; was FAILED")
        # The resumed run finds what was counted in the column, and adds nothing for FAILED.
        assert ledger.finish(record(D.FAILED), again.counted, "[]").counts == Counts()
    finally:
        store.close()


def test_the_store_refuses_a_change_made_from_another_state(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "meta.db")
    try:
        row = _job_row(store)
        _write(store, row, ledger.finish(record(D.SUCCESS), None, "[]"))
        with pytest.raises(DatumConflict, match=r"datum d1 .* is SUCCESS, not UNKNOWN"):
            _write(store, row, ledger.finish(record(D.FAILED), None, "[]"))
        stale = ledger.restart(ledger.stored(record(D.FAILED), "[]"))  # the row is SUCCESS, not FAILED
        with pytest.raises(DatumConflict, match="is SUCCESS, not FAILED"):
            _write(store, row, stale)
        assert _read(store, row).state == D.SUCCESS
    finally:
        store.close()


def test_migration_4_reads_counted_out_of_old_reasons(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, [m for m in MIGRATIONS if m.version < 4])
    conn.execute(
        "INSERT INTO jobs (project, pipeline, job_id, pipeline_version, output_repo, output_branch, state,"
        " created_us, started_us, finished_us, seq) VALUES ('default', 'edges', ?, 1, 'edges', 'master', 3, 0, 0, 0, 0)",
        (KEY.id,),
    )
    rows = [
        ("a", 4, "restarted; was FAILED"),
        ("b", 4, "restarted; was RECOVERED"),
        ("c", 1, "restarted; was FAILED"),  # not waiting: nothing to carry
        ("d", 2, ""),
    ]
    conn.executemany("INSERT INTO datums (job_row, datum_id, hash, state, reason) VALUES (1, ?, 'h', ?, ?)", rows)
    conn.close()
    store = SqliteStore(path)
    try:
        with store.read() as tx:
            t = SqlitePpsTx(tx)
            found = {d.record.id: (d.record.counted, d.record.reason) for d in t.list_datums(1)}
        assert found == {
            "a": (D.FAILED, "restarted; was FAILED"),
            "b": (D.RECOVERED, "restarted; was RECOVERED"),
            "c": (None, "restarted; was FAILED"),
            "d": (None, ""),
        }
    finally:
        store.close()
