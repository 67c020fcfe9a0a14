"""A refused datum change (store/pps.py DatumConflict) is a domain error: ABORTED with reason
DATUM_CONFLICT, never INTERNAL; and a batch written in one statement still refuses as a whole,
naming the datum whose change was refused."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.errors import Aborted
from tuskd.domain.jobs import DatumRecord, Job, JobKey
from tuskd.domain.states import DatumState
from tuskd.store.pps import DatumConflict
from tuskd.store.sqlite import SqliteStore
from tuskd.store.sqlite_pps import SqlitePpsTx
from tuskd.transport.errors import status_code_for

D = DatumState
KEY = JobKey("default", "edges", "0123456789abcdef0123456789abcdef")


def _record(datum: str, state: DatumState) -> DatumRecord:
    return DatumRecord(KEY, datum, "h-" + datum, state)


def test_a_datum_conflict_is_aborted() -> None:
    conflict = DatumConflict("datum d1 of job x is SUCCESS, not UNKNOWN")
    assert isinstance(conflict, Aborted)
    assert conflict.reason == "DATUM_CONFLICT"
    assert status_code_for(conflict) == grpc.StatusCode.ABORTED


def test_a_batch_with_one_refused_change_writes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "meta.db")
    try:
        with store.write() as tx:
            job = Job(key=KEY, pipeline_version=1, output_repo="edges", output_branch="master")
            row = SqlitePpsTx(tx).insert_job(job, "{}", 1).row
        with store.write() as tx:
            SqlitePpsTx(tx).upsert_datums(row, [ledger.finish(_record("d2", D.SUCCESS), None, "[]")], 2)
        batch = [ledger.finish(_record(d, D.SUCCESS), None, "[]") for d in ("d1", "d2", "d3")]  # d2 has a row
        refused = pytest.raises(DatumConflict, match=r"datum d2 of job edges@\w+ is SUCCESS, not UNKNOWN")
        with refused, store.write() as tx:
            SqlitePpsTx(tx).upsert_datums(row, batch, 3)
        with store.read() as tx:
            assert [d.record.id for d in SqlitePpsTx(tx).list_datums(row)] == ["d2"]
        with store.write() as tx:  # without the refused one, the others go in together
            SqlitePpsTx(tx).upsert_datums(row, [batch[0], batch[2]], 4)
        with store.read() as tx:
            assert [d.record.state for d in SqlitePpsTx(tx).list_datums(row)] == [D.SUCCESS] * 3
    finally:
        store.close()
