"""The job RPCs through a real server and the real client: InspectJob (the seed's JSON shape),
ListJob (filters, history, paging, jq), job sets, SubscribeJob, StopJob and DeleteJob.

Jobs are recorded the way the trigger and the engine record them (JobService.create_job inside a
store write, then transition/record_progress), on the server's own SQLite store. Their pipelines
are recorded as stopped, so the server's job engine leaves these jobs to the test.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from google.protobuf import json_format

import tusk
from tests.conftest import RunningServer
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.jobs import Counts, JobKey, Stats
from tuskd.domain.pfs import BranchKey, CommitRef, RepoKey
from tuskd.domain.states import JobState
from tuskd.store.pps import JobQuery

SEED_SPEC = {
    "pipeline": {"name": "edges"},
    "transform": {"image": "pachyderm/opencv", "cmd": ["python3", "/edges.py"]},
    "input": {"pfs": {"name": "images", "repo": "images", "repo_type": "user", "branch": "master", "glob": "/*"}},
    "salt": "27bbe39ccae54cc2976e3f960a2e1f94",
    "datum_tries": 3,
}

# --------------------------------------------------------------------------------------------
# Helpers (shared with test_wait_job and test_cli_jobs)
# --------------------------------------------------------------------------------------------


def add_pipeline(
    server: RunningServer, name: str, version: int = 1, spec: dict[str, object] | None = None, project: str = "default"
) -> None:
    """Record a stopped pipeline at ``version`` with its spec (CreatePipelineRequest JSON, the
    pipeline service's storage shape). Stopped: the engine runs none of its jobs and PFS commits
    make none, so the test drives them."""
    now_us = int(time.time() * 1e6)
    spec = spec or {
        "pipeline": {"name": name},
        "transform": {"cmd": ["true"]},
        "input": {"pfs": {"name": "in", "repo": "in", "branch": "master", "glob": "/*"}},
        "datum_tries": 3,
    }
    spec_json = json.dumps(spec)
    with server.deps.store.write() as tx:
        t = server.deps.jobs.tables(tx)
        row = t.get_pipeline(project, name) or t.insert_pipeline(project, name, 5, now_us)
        t.update_pipeline(row.id, now_us, version=version, stopped=True)
        if t.get_pipeline_version(row.id, version) is None:
            t.insert_pipeline_version(row.id, version, spec_json, spec_json, now_us)


def add_job(
    server: RunningServer, pipeline: str, set_id: str | None = None, version: int = 1, project: str = "default"
) -> JobKey:
    """A CREATED job of ``pipeline`` (recorded as a stopped pipeline first if it is new)."""
    key = JobKey(project, pipeline, set_id or uuid.uuid4().hex)
    with server.deps.store.write() as tx:
        known = server.deps.jobs.tables(tx).get_pipeline(project, pipeline) is not None
    if not known:
        add_pipeline(server, pipeline, version, project=project)
    with server.deps.store.write() as tx:
        server.deps.jobs.create_job(tx, key, version, pipeline, "master")
    return key


def drive(server: RunningServer, key: JobKey, *states: JobState, reason: str | None = None) -> None:
    for state in states:
        server.deps.jobs.transition(key, state, reason if state == states[-1] else None)


RUN = (JobState.JOB_STARTING, JobState.JOB_RUNNING)
FINISH = (JobState.JOB_FINISHING, JobState.JOB_SUCCESS)


def succeed(server: RunningServer, key: JobKey) -> None:
    drive(server, key, *RUN, *FINISH)


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def ids(infos: Iterator[pps_pb2.JobInfo] | list[pps_pb2.JobInfo]) -> list[str]:
    return [f"{i.job.pipeline.name}@{i.job.id}" for i in infos]


def name(key: JobKey) -> str:
    return f"{key.pipeline}@{key.id}"


def seed_dag(server: RunningServer, *downstream: str) -> str:
    """Repos ``images`` -> ``edges`` (-> each of ``downstream`` in a chain) with PFS provenance, one
    file put into images; returns the global ID of that commit set."""
    pfs = server.deps.pfs
    chain = ["images", "edges", *downstream]
    for repo in chain:
        pfs.create_repo(RepoKey.of(repo))
    for up, down in itertools.pairwise(chain):
        pfs.create_branch(BranchKey(RepoKey.of(down), "master"), provenance=[BranchKey(RepoKey.of(up), "master")])
    info = pfs.put_file(CommitRef(RepoKey.of("images"), "master"), "/a.png", [b"png"])
    return info.commit.id


# --------------------------------------------------------------------------------------------
# InspectJob
# --------------------------------------------------------------------------------------------


def test_inspect_job_raw_json_has_the_seed_shape(server: RunningServer, client: tusk.Client) -> None:
    set_id = seed_dag(server)
    add_pipeline(server, "images-unused")  # another pipeline does not disturb anything
    add_pipeline(server, "edges", spec=SEED_SPEC)
    key = add_job(server, "edges", set_id)
    drive(server, key, *RUN)
    server.deps.jobs.set_total(key, 3)
    server.deps.jobs.record_progress(
        key,
        Counts(processed=2, skipped=1),
        Stats(download_time=0.113263653, process_time=1.020472976, upload_time=0.010323995,
              download_bytes=185424, upload_bytes=114041),
    )  # fmt: skip
    drive(server, key, *FINISH)

    info = client.pps.inspect_job(f"edges@{set_id}", details=True)
    raw = json_format.MessageToJson(info, preserving_proto_field_name=True, indent=2)
    data = json.loads(raw)
    ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3,9})?Z$")
    for field in ("created", "started", "finished"):
        assert ts.match(data.pop(field)), field
    assert data == {
        "job": {"pipeline": {"name": "edges"}, "id": set_id},
        "pipeline_version": "1",
        "output_commit": {"branch": {"repo": {"name": "edges", "type": "user"}, "name": "master"}, "id": set_id},
        "data_processed": "2",
        "data_skipped": "1",
        "data_total": "3",
        "stats": {
            "download_time": "0.113263653s",
            "process_time": "1.020472976s",
            "upload_time": "0.010323995s",
            "download_bytes": "185424",
            "upload_bytes": "114041",
        },
        "state": "JOB_SUCCESS",
        "details": {
            "transform": {"image": "pachyderm/opencv", "cmd": ["python3", "/edges.py"]},
            "input": {
                "pfs": {
                    "name": "images",
                    "repo": "images",
                    "repo_type": "user",
                    "branch": "master",
                    "commit": set_id,
                    "glob": "/*",
                }
            },
            "salt": "27bbe39ccae54cc2976e3f960a2e1f94",
            "datum_tries": "3",
        },
    }
    # Keys in the seed's order, two-space indent.
    assert list(json.loads(raw)) == [
        "job", "pipeline_version", "output_commit", "data_processed", "data_skipped", "data_total",
        "stats", "state", "created", "started", "finished", "details",
    ]  # fmt: skip
    assert raw.startswith('{\n  "job": {\n    "pipeline": {\n      "name": "edges"\n    },')
    # ListJob fills the same details per job.
    (listed,) = client.pps.list_job("edges", details=True)
    assert listed.details == info.details
    # Without details: no details key at all; a running job has no finished time.
    assert not client.pps.inspect_job(f"edges@{set_id}").HasField("details")
    other = add_job(server, "edges")
    drive(server, other, *RUN)
    running = client.pps.inspect_job(name(other))
    assert running.HasField("started") and not running.HasField("finished")
    assert running.state == pps_pb2.JOB_RUNNING


def test_inspect_job_errors(server: RunningServer, client: tusk.Client) -> None:
    missing = uuid.uuid4().hex
    with pytest.raises(errors.NotFound, match=f"^jobs default/edges@{missing} not found$"):
        client.pps.inspect_job(f"edges@{missing}")
    with pytest.raises(errors.InvalidArgument, match="not a valid ID"):
        client.pps.inspect_job("edges@not-an-id")
    with pytest.raises(errors.InvalidArgument, match="pipeline"):
        client.pps.inspect_job(pps_pb2.Job(id=missing))


def test_inspect_job_wait_blocks_until_terminal(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "edges")
    threading.Timer(0.2, lambda: drive(server, key, *RUN, JobState.JOB_FAILURE, reason="datum 1 failed")).start()
    started = time.monotonic()
    info = client.pps.inspect_job(name(key), wait=True, timeout=10)
    assert time.monotonic() - started >= 0.15
    assert (info.state, info.reason) == (pps_pb2.JOB_FAILURE, "datum 1 failed")


def test_inspect_job_wait_frees_its_thread_on_deadline(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "edges")
    hub = server.deps.hub
    before = hub.subscriber_count()
    with pytest.raises(errors.DeadlineExceeded):
        client.pps.inspect_job(name(key), wait=True, timeout=0.3)
    wait_until(lambda: hub.subscriber_count() == before, timeout=2)


# --------------------------------------------------------------------------------------------
# ListJob
# --------------------------------------------------------------------------------------------


def test_list_job_filters(server: RunningServer, client: tusk.Client) -> None:
    add_pipeline(server, "a")
    add_pipeline(server, "b")
    a1, b1, a2 = add_job(server, "a"), add_job(server, "b"), add_job(server, "a")
    succeed(server, a1)
    drive(server, b1, *RUN)
    assert ids(client.pps.list_job()) == [name(a2), name(b1), name(a1)]
    assert ids(client.pps.list_job("a")) == [name(a2), name(a1)]
    assert ids(client.pps.list_job(reverse=True)) == [name(a1), name(b1), name(a2)]
    assert ids(client.pps.list_job(number=2)) == [name(a2), name(b1)]
    assert ids(client.pps.list_job(states=[pps_pb2.JOB_RUNNING, pps_pb2.JOB_SUCCESS])) == [name(b1), name(a1)]
    assert ids(client.pps.list_job("a", states=[pps_pb2.JOB_CREATED])) == [name(a2)]
    assert ids(client.pps.list_job(projects=["default"])) == [name(a2), name(b1), name(a1)]
    assert ids(client.pps.list_job(projects=["other"])) == []
    with pytest.raises(errors.NotFound, match='pipeline "default/nope" not found'):
        list(client.pps.list_job("nope"))
    with pytest.raises(errors.InvalidArgument, match="number"):
        list(client.pps.list_job(number=-1))
    with pytest.raises(errors.InvalidArgument, match="history"):
        list(client.pps.list_job(history=-2))


def test_list_job_history_counts_pipeline_versions(server: RunningServer, client: tusk.Client) -> None:
    add_pipeline(server, "p", version=1)
    v1 = add_job(server, "p", version=1)
    add_pipeline(server, "p", version=2)
    v2 = add_job(server, "p", version=2)
    add_pipeline(server, "p", version=3)
    v3 = add_job(server, "p", version=3)
    assert ids(client.pps.list_job("p")) == [name(v3)]
    assert ids(client.pps.list_job("p", history=1)) == [name(v3), name(v2)]
    assert ids(client.pps.list_job("p", history=-1)) == [name(v3), name(v2), name(v1)]
    # Without a pipeline, each pipeline's own current version counts.
    add_pipeline(server, "q", version=1)
    q1 = add_job(server, "q", version=1)
    assert ids(client.pps.list_job()) == [name(q1), name(v3)]
    assert ids(client.pps.list_job(history=-1)) == [name(q1), name(v3), name(v2), name(v1)]


def test_list_job_pages_with_opaque_tokens(server: RunningServer, client: tusk.Client) -> None:
    add_pipeline(server, "p")
    keys = [add_job(server, "p") for _ in range(25)]
    newest_first = [name(k) for k in reversed(keys)]
    pages: list[list[str]] = []
    token = ""
    while True:
        page = list(client.pps.list_job("p", page_size=10, page_token=token))
        if not page:
            break
        assert all(info.page_token for info in page)
        pages.append(ids(page))
        token = page[-1].page_token
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [j for p in pages for j in p] == newest_first
    assert ids(client.pps.list_job_all(page_size=7, pipeline="p")) == newest_first
    # Without page_size there are no tokens.
    assert not any(i.page_token for i in client.pps.list_job("p"))
    first = list(client.pps.list_job("p", page_size=3))
    with pytest.raises(errors.InvalidArgument, match="different filters"):
        list(client.pps.list_job("p", page_size=3, page_token=first[-1].page_token, states=[pps_pb2.JOB_RUNNING]))
    with pytest.raises(errors.InvalidArgument, match="malformed"):
        list(client.pps.list_job("p", page_size=3, page_token="garbage!"))
    with pytest.raises(errors.InvalidArgument, match="page_size"):
        list(client.pps.list_job("p", page_size=-1))


def test_list_job_pagination_marker(server: RunningServer, client: tusk.Client) -> None:
    add_pipeline(server, "p")
    keys = []
    for _ in range(4):
        keys.append(add_job(server, "p"))
        time.sleep(0.002)
    infos = list(client.pps.list_job("p"))
    marker = infos[1].created  # the third-newest job
    assert ids(client.pps.list_job("p", pagination_marker=marker)) == [name(keys[1]), name(keys[0])]
    assert ids(client.pps.list_job("p", pagination_marker=marker, reverse=True)) == [name(keys[3])]


def test_list_job_jq_filter(server: RunningServer, client: tusk.Client) -> None:
    pytest.importorskip("jq", reason="jqFilter needs the jq package (a server dependency to be declared)")
    add_pipeline(server, "p")
    done, running = add_job(server, "p"), add_job(server, "p")
    succeed(server, done)
    drive(server, running, *RUN)
    assert ids(client.pps.list_job(jq_filter='.state == "JOB_SUCCESS"')) == [name(done)]
    assert ids(client.pps.list_job(jq_filter='select(.job.pipeline.name == "p") | .started')) == ids(
        client.pps.list_job()
    )
    assert ids(client.pps.list_job(jq_filter=".finished")) == [name(done)]
    assert ids(client.pps.list_job(jq_filter="empty")) == []
    with pytest.raises(errors.InvalidArgument, match="does not compile"):
        list(client.pps.list_job(jq_filter=".["))


def test_list_job_input_commit(server: RunningServer, client: tusk.Client) -> None:
    first = seed_dag(server)
    add_pipeline(server, "edges")
    in_first = add_job(server, "edges", first)
    second = server.deps.pfs.put_file(CommitRef(RepoKey.of("images"), "master"), "/b.png", [b"b"]).commit.id
    in_second = add_job(server, "edges", second)
    assert ids(client.pps.list_job(input_commits=[f"images@{first}"])) == [name(in_first)]
    assert ids(client.pps.list_job(input_commits=[f"images@{second}"])) == [name(in_second)]
    assert ids(client.pps.list_job(input_commits=["images@master"])) == [name(in_second)]
    assert ids(client.pps.list_job(input_commits=[f"images@{first}", f"images@{second}"])) == []
    with pytest.raises(errors.NotFound):
        list(client.pps.list_job(input_commits=[f"images@{uuid.uuid4().hex}"]))


def test_list_job_page_cost_does_not_grow_with_history(server: RunningServer, client: tusk.Client) -> None:
    """A page of 50 reads the same over 1,000 or 10,000 finished jobs (keyset + index): on
    SQLite the page's statement runs about as many VM instructions at 10,000 jobs as at 1,000
    (counted, not timed; the timing is bench/case_history_scale.py's). Both stores: the page is
    the 50 newest jobs of the pipeline in the state asked for, in order."""
    add_pipeline(server, "p")
    add_pipeline(server, "q")
    jobs = server.deps.jobs
    made: list[JobKey] = []

    def fill(n: int) -> None:
        with server.deps.store.write() as tx:
            for i in range(n):
                key = JobKey("default", "pq"[i % 2], uuid.uuid4().hex)
                jobs.create_job(tx, key, 1, key.pipeline, "master")
                jobs.transition(key, JobState.JOB_KILLED, "history", tx=tx)
                made.append(key)

    def page_steps() -> int | None:
        """VM instructions of the page's statement (SQLite), or None on another store."""
        query = JobQuery(pipeline="p", states=[JobState.JOB_KILLED], limit=50)
        with server.deps.store.write() as tx:
            connection = getattr(tx, "connection", None)
            if not isinstance(connection, sqlite3.Connection):
                return None
            steps = [0]

            def count() -> int:
                steps[0] += 1
                return 0

            connection.set_progress_handler(count, 1)
            try:
                rows = jobs.tables(tx).list_jobs(query)
            finally:
                connection.set_progress_handler(None, 1)
        assert len(rows) == 50
        return steps[0]

    def newest_page() -> list[str]:
        page = list(client.pps.list_job("p", page_size=50, states=[pps_pb2.JOB_KILLED]))
        return [info.job.id for info in page]

    fill(1_000)
    small = page_steps()
    assert newest_page() == [k.id for k in reversed(made) if k.pipeline == "p"][:50]
    fill(9_000)
    large = page_steps()
    assert newest_page() == [k.id for k in reversed(made) if k.pipeline == "p"][:50]
    if small is not None and large is not None:
        assert large < small * 1.5, (small, large)


# --------------------------------------------------------------------------------------------
# A failed run (a fixture shared with test_job_api_datums and test_cli_jobs)
# --------------------------------------------------------------------------------------------

SCRIPT = 'for f in /pfs/images/*; do echo "saw $f"; case "$f" in *bad*) exit 3;; esac; cp "$f" /pfs/out/; done'


@pytest.fixture
def failed_run(server: RunningServer, client: tusk.Client) -> pps_pb2.JobInfo:
    """``edges`` over images {a, b, bad}: two datums succeed, ``/bad.txt`` fails (exit 3)."""
    pfs = server.deps.pfs
    pfs.create_repo(RepoKey.of("images"))
    with pfs.begin_modify(CommitRef(RepoKey.of("images"), "master")) as session:
        for name_ in ("a", "b", "bad"):
            session.add_file(f"/{name_}.txt", [name_.encode()])
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "edges"},
            "transform": {"cmd": ["sh", "-c", SCRIPT]},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
            "datum_tries": 1,
        }
    )
    job = next(client.pps.list_job("edges"))
    return client.pps.inspect_job(f"edges@{job.job.id}", wait=True, timeout=30)
