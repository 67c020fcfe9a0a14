"""The store's bulk skip (``carry_skipped_datums``) on a real SQLite file: what it carries, what it
leaves, and that it refuses to write over a row (the ledger's "no row yet")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.jobs import DatumRecord, Job, JobKey, Stats
from tuskd.domain.states import DatumState
from tuskd.store.pps import DatumConflict, OutputEntry
from tuskd.store.sqlite import SqliteStore
from tuskd.store.sqlite_pps import SqlitePpsTx

OLD = '"commit":"' + "a" * 32 + '"'
NEW = '"commit":"' + "b" * 32 + '"'


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "meta.db")
    yield s
    s.close()


def _job(t: SqlitePpsTx, job_id: str) -> int:
    return t.insert_job(Job(JobKey("default", "p", job_id), 1, "p", "master"), "{}", 0).row


def _row(key: JobKey, datum_id: str, state: DatumState) -> ledger.DatumChange:
    record = DatumRecord(key, datum_id, f"hash-{datum_id}", state, 2, "why", Stats(process_time=1.5))
    return ledger.DatumChange(DatumState.UNKNOWN, record, f'[{{"path":"/{datum_id}",{OLD}}}]')


def test_carries_success_and_skipped_rows_with_their_outputs(store: SqliteStore) -> None:
    with store.write() as tx:
        t = SqlitePpsTx(tx)
        before, after = _job(t, "1"), _job(t, "2")
        key = JobKey("default", "p", "1")
        t.upsert_datums(
            before,
            [
                _row(key, "a", DatumState.SUCCESS),
                _row(key, "b", DatumState.SKIPPED),
                _row(key, "c", DatumState.SUCCESS),
                _row(key, "r", DatumState.RECOVERED),
            ],
            0,
        )
        t.put_datum_outputs(before, [OutputEntry("a", "/a", "blob-a", 1), OutputEntry("c", "/c", "blob-c", 1)])
        assert t.carry_skipped_datums(before, after, {"c"}, (OLD, NEW), 7) == 2
        rows = {d.record.id: d for d in t.list_datums(after)}
        assert sorted(rows) == ["a", "b"]
        a = rows["a"].record
        # Exactly what the ledger's skip writes: same ID and hash, nothing of the run it came from.
        assert (a.state, a.hash, a.attempts, a.reason, a.stats, a.counted) == (
            DatumState.SKIPPED, "hash-a", 0, "", Stats(), None,
        )  # fmt: skip
        assert rows["a"].inputs_json == f'[{{"path":"/a",{NEW}}}]'
        assert t.datum_outputs(after) == [OutputEntry("a", "/a", "blob-a", 1)]


def test_refuses_a_datum_that_already_has_a_row(store: SqliteStore) -> None:
    with pytest.raises(DatumConflict), store.write() as tx:
        t = SqlitePpsTx(tx)
        before, after = _job(t, "1"), _job(t, "2")
        t.upsert_datums(before, [_row(JobKey("default", "p", "1"), "a", DatumState.SUCCESS)], 0)
        t.upsert_datums(after, [_row(JobKey("default", "p", "2"), "a", DatumState.SUCCESS)], 0)
        t.carry_skipped_datums(before, after, set(), (OLD, NEW), 7)


def test_hashes_of_some_datums(store: SqliteStore) -> None:
    with store.write() as tx:
        t = SqlitePpsTx(tx)
        row = _job(t, "1")
        key = JobKey("default", "p", "1")
        t.upsert_datums(row, [_row(key, i, DatumState.SUCCESS) for i in "abc"], 0)
        assert t.datum_hashes(row, [DatumState.SUCCESS], ["a", "c", "z"]) == {"a": "hash-a", "c": "hash-c"}
        assert t.datum_hashes(row, [DatumState.SUCCESS], []) == {}
