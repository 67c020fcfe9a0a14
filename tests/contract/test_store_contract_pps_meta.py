"""The store contract, PPS and metadata part: pipelines, jobs and their history, datums, datum
outputs, projects, metadata maps, settings and open transactions; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.jobs import Counts, DatumRecord, Job, JobKey, Stats
from tuskd.domain.pfs import RepoKey
from tuskd.domain.states import DatumState, JobState
from tuskd.store.meta import MetaKind
from tuskd.store.pps import JobQuery, OutputEntry

from .conftest import Backend


def job(
    pipeline: str, set_id: str, state: JobState = JobState.JOB_CREATED, project: str = "default", **kw: object
) -> Job:
    return Job(JobKey(project, pipeline, set_id), 1, pipeline, "master", state, **kw)  # type: ignore[arg-type]


def datum(
    key: JobKey, datum_id: str, state: DatumState, hash: str = "h", before: DatumState = DatumState.UNKNOWN
) -> DatumChange:
    record = DatumRecord(key, datum_id, hash, state, 1, "", Stats(process_time=0.5, download_bytes=3))
    return DatumChange(before, record, "[]")


# -- pipelines ----------------------------------------------------------------------------------


def test_pipelines_and_versions(backend: Backend) -> None:
    with backend.store.write() as tx:
        pps = backend.pps(tx)
        b = pps.insert_pipeline("default", "b", 1, 10)
        a = pps.insert_pipeline("default", "a", 1, 11)
        lab = pps.insert_pipeline("lab", "a", 1, 12)
        pps.update_pipeline(a.id, 20, version=2, stopped=True, reason="paused")
        pps.update_pipeline(b.id, 21, state=3)
        pps.update_pipeline(a.id, 22, stopped=False)
        pps.insert_pipeline_version(a.id, 2, '{"v": 2}', "user", 20)
        with pytest.raises(backend.integrity_error), backend.store.write(join=tx) as inner:
            backend.pps(inner).insert_pipeline("default", "a", 1, 13)
    with backend.store.read() as tx:
        pps = backend.pps(tx)
        got = pps.get_pipeline("default", "a")
        assert got is not None
        assert (got.version, got.stopped, got.reason, got.updated_us, got.created_us) == (2, False, "paused", 22, 11)
        got_b = pps.get_pipeline("default", "b")
        assert got_b is not None and got_b.state == 3 and got_b.stopped is False
        assert pps.get_pipeline("default", "zzz") is None
        assert [(p.project, p.name) for p in pps.list_pipelines()] == [("default", "a"), ("default", "b"), ("lab", "a")]
        assert [p.id for p in pps.list_pipelines(["lab"])] == [lab.id]
        version = pps.get_pipeline_version(a.id, 2)
        assert version is not None and (version.spec_json, version.user_spec_json) == ('{"v": 2}', "user")
        assert pps.get_pipeline_version(a.id, 1) is None
    with backend.store.write() as tx:
        backend.pps(tx).delete_pipeline(a.id)
        assert backend.pps(tx).get_pipeline_version(a.id, 2) is None


# -- jobs ---------------------------------------------------------------------------------------


def test_jobs_rows_history_and_listing(backend: Backend) -> None:
    with backend.store.write() as tx:
        pps = backend.pps(tx)
        first = pps.insert_job(job("edges", "s1", created=1.5), "snap-e1", 1)
        second = pps.insert_job(job("montage", "s1"), "snap-m1", 2)
        third = pps.insert_job(job("edges", "s2", project="lab"), "snap-e2", 3)
        assert first.seq == 1 and first.row < second.row < third.row
        done = job(
            "edges", "s1", JobState.JOB_SUCCESS, reason="ok", restart=2, counts=Counts(3, 1, 0, 1), total=5,
            stats=Stats(1.25, 2.5, 0.75, 10, 20), created=1.5, started=2.0, finished=3.25,
        )  # fmt: skip
        assert pps.save_job(first.row, done, "snap-e1-done", 4) == (2, 3)  # job seq 2, set seq 3
        with pytest.raises(backend.integrity_error), backend.store.write(join=tx) as inner:
            backend.pps(inner).insert_job(job("edges", "s1"), "dup", 5)
    with backend.store.read() as tx:
        pps = backend.pps(tx)
        got = pps.get_job(JobKey("default", "edges", "s1"))
        assert got is not None and got.job == done and got.seq == 2 and got.row == first.row
        assert pps.get_job(JobKey("default", "edges", "nope")) is None
        assert [r.row for r in pps.jobs_in_set("s1")] == [first.row, second.row]
        assert [(e.seq, e.snapshot) for e in pps.job_events(first.row, 0)] == [(1, "snap-e1"), (2, "snap-e1-done")]
        assert [e.seq for e in pps.job_events(first.row, 1)] == [2]
        assert [e.snapshot for e in pps.set_events("s1", 1)] == ["snap-m1", "snap-e1-done"]
        assert pps.set_seq("s1") == 3 and pps.set_seq("s2") == 1 and pps.set_seq("none") == 0
        assert pps.count_jobs() == 3
        rows = lambda **kw: [r.row for r in pps.list_jobs(JobQuery(**kw))]  # noqa: E731
        assert rows() == [third.row, second.row, first.row]
        assert rows(newest_first=False) == [first.row, second.row, third.row]
        assert rows(project="default") == [second.row, first.row]
        assert rows(projects=["lab", "x"]) == [third.row]
        assert rows(pipeline="edges") == [third.row, first.row]
        assert rows(set_ids=["s2", "zz"]) == [third.row]
        assert rows(states=[JobState.JOB_SUCCESS, JobState.JOB_KILLED]) == [first.row]
        assert rows(pipeline_version=1, limit=2) == [third.row, second.row]
        assert rows(after_row=third.row, limit=1) == [second.row]
        assert rows(after_row=first.row, newest_first=False) == [second.row, third.row]
        assert rows(created_after_us=1_000_000, created_before_us=2_000_000) == [first.row]
        assert [r.row for r in pps.unfinished_jobs()] == [second.row, third.row]
        last = pps.last_successful_job("default", "edges", third.row + 1)
        assert last is not None and last.row == first.row
        assert pps.last_successful_job("default", "edges", first.row) is None
    with backend.store.write() as tx:
        backend.pps(tx).delete_job(second.row)
        assert [r.row for r in backend.pps(tx).jobs_in_set("s1")] == [first.row]
        assert backend.pps(tx).job_events(second.row, 0) == []


# -- datums and their outputs -------------------------------------------------------------------


def test_datums_upsert_list_and_hashes(backend: Backend) -> None:
    with backend.store.write() as tx:
        pps = backend.pps(tx)
        row = pps.insert_job(job("edges", "s1"), "snap", 1).row
        key = JobKey("default", "edges", "s1")
        ids = ["b", "a", "B", "a-1", "a/1", "\u00e9"]
        pps.upsert_datums(row, [datum(key, d, DatumState.STARTING) for d in ids], 5)
        started = DatumState.STARTING
        pps.upsert_datums(
            row,
            [
                datum(key, "a", DatumState.SUCCESS, "ha", before=started),
                datum(key, "b", DatumState.FAILED, before=started),
            ],
            6,
        )
    order = sorted(ids, key=lambda d: d.encode())
    with backend.store.read() as tx:
        pps = backend.pps(tx)
        got = pps.get_datum(row, "a")
        assert got is not None
        assert got.record == DatumRecord(
            key, "a", "ha", DatumState.SUCCESS, 1, "", Stats(process_time=0.5, download_bytes=3)
        )
        assert got.inputs_json == "[]"
        assert pps.get_datum(row, "zz") is None
        assert [d.record.id for d in pps.list_datums(row)] == order
        assert [d.record.id for d in pps.list_datums(row, reverse=True)] == order[::-1]
        assert [d.record.id for d in pps.list_datums(row, after_id="a", limit=2)] == [p for p in order if p > "a"][:2]
        assert [d.record.id for d in pps.list_datums(row, after_id="a", reverse=True)] == [p for p in order if p < "a"][
            ::-1
        ]
        assert [d.record.id for d in pps.list_datums(row, [DatumState.SUCCESS, DatumState.FAILED])] == ["a", "b"]
        assert pps.datum_hashes(row, [DatumState.SUCCESS]) == {"a": "ha"}
        assert len(pps.datum_hashes(row, [])) == len(ids)
        with pytest.raises(KeyError):
            pps.list_datums(99999)


def test_datum_outputs_put_read_and_copy(backend: Backend) -> None:
    with backend.store.write() as tx:
        pps = backend.pps(tx)
        old = pps.insert_job(job("edges", "s1"), "snap", 1).row
        new = pps.insert_job(job("edges", "s2"), "snap", 2).row
        pps.put_datum_outputs(old, [OutputEntry("d2", "/z", "b1", 1), OutputEntry("d1", "/b", "b2", 2),
                                    OutputEntry("d1", "/a", "b3", 3)])  # fmt: skip
        pps.put_datum_outputs(old, [OutputEntry("d1", "/a", "b4", 4)])  # replaces
        pps.put_datum_outputs(new, [OutputEntry("d1", "/a", "stale", 9)])
        pps.copy_datum_outputs(old, new, ["d1", "missing"])
        pps.copy_datum_outputs(old, new, [])
    with backend.store.read() as tx:
        pps = backend.pps(tx)
        assert pps.datum_outputs(old) == [
            OutputEntry("d1", "/a", "b4", 4), OutputEntry("d1", "/b", "b2", 2), OutputEntry("d2", "/z", "b1", 1),
        ]  # fmt: skip
        assert pps.datum_outputs(old, ["d2"]) == [OutputEntry("d2", "/z", "b1", 1)]
        assert pps.datum_outputs(old, []) == []
        assert pps.datum_outputs(new) == [OutputEntry("d1", "/a", "b4", 4), OutputEntry("d1", "/b", "b2", 2)]


# -- projects, metadata maps, settings, transactions ----------------------------------------------


def test_projects(backend: Backend) -> None:
    with backend.store.write() as tx:
        meta = backend.meta(tx)
        assert [p.name for p in meta.list_projects()] == ["default"]  # made by the migration
        meta.insert_project("lab", "desc", 5)
        meta.insert_project("Lab2", "", 6)
        meta.update_project("lab", "new desc")
        meta.set_project_metadata("lab", {"b": "2", "a": "1"})
        meta.set_project_defaults("lab", '{"x": 1}')
        with pytest.raises(backend.integrity_error), backend.store.write(join=tx) as inner:
            backend.meta(inner).insert_project("lab", "", 7)
    with backend.store.read() as tx:
        meta = backend.meta(tx)
        got = meta.get_project("lab")
        assert got is not None
        assert (got.description, got.created_us, dict(got.metadata), got.defaults) == (
            "new desc", 5, {"a": "1", "b": "2"}, '{"x": 1}',
        )  # fmt: skip
        assert meta.get_project("nope") is None
        assert [p.name for p in meta.list_projects()] == ["Lab2", "default", "lab"]  # byte order
    with backend.store.write() as tx:
        backend.meta(tx).delete_project("Lab2")
        assert backend.meta(tx).get_project("Lab2") is None


def test_metadata_maps_live_as_long_as_their_owner(backend: Backend) -> None:
    with backend.store.write() as tx:
        meta = backend.meta(tx)
        repo = tx.insert_repo(RepoKey("default", "r", "user"), "", 1)
        branch = tx.insert_branch(repo.id, "master", None, 1)
        pipeline = backend.pps(tx).insert_pipeline("default", "p", 1, 1)
        meta.set_metadata(MetaKind.REPO, repo.id, {"k": "v"})
        meta.set_metadata(MetaKind.BRANCH, branch.id, {"k": "b"})
        meta.set_metadata(MetaKind.PIPELINE, pipeline.id, {"k": "p"})
        meta.set_metadata(MetaKind.REPO, repo.id, {"k": "v2", "\u00e9": "x"})  # replaces the whole map
        assert meta.metadata(MetaKind.REPO, repo.id) == {"k": "v2", "\u00e9": "x"}
        assert meta.metadata(MetaKind.COMMIT, repo.id) == {}
        meta.set_metadata(MetaKind.PIPELINE, pipeline.id, {})  # an empty map is no map
        assert meta.metadata(MetaKind.PIPELINE, pipeline.id) == {}
        tx.delete_repo(repo.id)  # the repo's and (cascaded) its branch's maps go with it
        assert meta.metadata(MetaKind.REPO, repo.id) == {}
        assert meta.metadata(MetaKind.BRANCH, branch.id) == {}


def test_settings_and_open_transactions(backend: Backend) -> None:
    with backend.store.write() as tx:
        meta = backend.meta(tx)
        assert meta.setting("cluster_id") is None
        meta.set_setting("cluster_id", "one")
        meta.set_setting("cluster_id", "two")
        assert meta.insert_transaction("t2", 20).requests == b""
        meta.insert_transaction("t1", 10)
        meta.update_transaction("t1", 3, b"\x00\xffreq", b"resp\x00")
    with backend.store.read() as tx:
        meta = backend.meta(tx)
        assert meta.setting("cluster_id") == "two"
        got = meta.get_transaction("t1")
        assert got is not None and (got.version, got.requests, got.responses) == (3, b"\x00\xffreq", b"resp\x00")
        assert meta.get_transaction("nope") is None
        assert [t.id for t in meta.list_transactions()] == ["t1", "t2"]
    with backend.store.write() as tx:
        backend.meta(tx).delete_transaction("t1")
        assert [t.id for t in backend.meta(tx).list_transactions()] == ["t2"]
        backend.meta(tx).delete_transactions()
        assert backend.meta(tx).list_transactions() == []
