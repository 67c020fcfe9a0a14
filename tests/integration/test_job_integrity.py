"""A job ends SUCCESS only with every datum recorded and its outputs in the output commit, and
every job of a dropped or squashed commit set ends (KILLED, naming the call), so waits return.

Real server on port 0, real user processes; user code blocks on a host flag file (outside
/pfs) where a test needs a job to stay where it is.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import tusk
from tests.conftest import RunningServer, stop_server
from tests.reliability.common import head, marked_processes, pipeline_spec, put_files, tree, wait_for
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.jobs import JobKey

pytestmark = pytest.mark.timeout(60)


def datum_id_of(client: tusk.Client, job: str, path: str) -> str:
    for d in client.pps.list_datum(job):
        if d.data[0].file.path == path:
            return str(d.datum.id)
    raise AssertionError(f"no datum of {job} reads {path}")


# -- no false SUCCESS ---------------------------------------------------------------------------


def test_output_name_that_is_not_utf8_fails_its_datum_and_the_others_keep_their_output(
    client: tusk.Client,
) -> None:
    """The bad datum ends first, while the others still run: recording it used to fail, the
    retry ran no datum, and the job ended SUCCESS with restart 1 and no output at all."""
    client.pfs.create_repo("in")
    script = (
        'n=$(basename "$in"); '
        'if [ "$n" = f0 ]; then printf x > "/pfs/out/$(printf "bad\\377")"; else sleep 0.5; fi; '
        'cp "$in" "/pfs/out/$n"'
    )
    client.pps.create_pipeline(pipeline_spec("names", "in", script, parallelism_spec={"constant": 2}))
    files = {f"/f{i}": f"content {i}\n".encode() for i in range(5)}
    commit = put_files(client, "in", files)
    job = f"names@{commit}"
    [info] = client.pps.wait_job_done(job)
    bad = datum_id_of(client, job, "/f0")
    assert info.state == pps_pb2.JOB_FAILURE
    # Output collection refuses the name before reading it (engine/outputs.py); the job's own
    # check of storable names (datum_tasks._unstorable) stands behind it.
    assert info.reason.startswith(f"datum {bad} failed: output name /bad\\xff is not valid UTF-8"), info.reason
    assert (info.restart, info.data_processed, info.data_failed, info.data_total) == (0, 4, 1, 5)
    states = {d.data[0].file.path: d.state for d in client.pps.list_datum(job)}
    assert states == {"/f0": pps_pb2.FAILED, **{p: pps_pb2.SUCCESS for p in files if p != "/f0"}}
    assert "not valid UTF-8" in client.pfs.inspect_commit(job).error


def test_an_output_blob_missing_at_finishing_fails_the_job_naming_it(server: RunningServer, tmp_path: Path) -> None:
    """The FINISHING check: an output of a recorded datum whose content is gone is a FAILURE
    naming the file, never a SUCCESS whose commit points at nothing."""
    go = tmp_path / "go"
    with server.client() as client:
        client.pfs.create_repo("in")
        script = f'n=$(basename "$in"); [ "$n" = a ] || while [ ! -e {go} ]; do sleep 0.02; done; cp "$in" /pfs/out/$n'
        client.pps.create_pipeline(pipeline_spec("lossy", "in", script, parallelism_spec={"constant": 2}))
        commit = put_files(client, "in", {"/a": b"lost content\n", "/b": b"kept\n"})
        job = f"lossy@{commit}"
        wait_for(lambda: any(d.state == pps_pb2.SUCCESS for d in client.pps.list_datum(job)), what="datum a recorded")
        blob = server.deps.blobs.put_bytes(b"lost content\n")  # the same content: the same blob
        server.deps.blobs.path(blob.hash).unlink()
        go.touch()
        [info] = client.pps.wait_job_done(job)
        assert info.state == pps_pb2.JOB_FAILURE
        a = datum_id_of(client, job, "/a")
        assert info.reason == (
            f"output check failed at FINISHING: output /a of datum {a} has no content (blob {blob.hash} is missing)"
        )
        assert client.pfs.inspect_commit(job).error.endswith(info.reason)


# -- dropped and squashed commit sets ---------------------------------------------------------------


def _blocked_pipeline(client: tusk.Client, go: Path, marker: str) -> None:
    """``p`` reads ``in``; each datum waits for ``go`` (so the first job keeps running)."""
    client.pfs.create_repo("in")
    script = f'while [ ! -e {go} ]; do sleep 0.02; done; cp "$in" /pfs/out/'
    client.pps.create_pipeline(pipeline_spec("p", "in", script, {"MARK": marker}))


def test_drop_commit_set_kills_its_waiting_job_and_waits_return(client: tusk.Client, tmp_path: Path) -> None:
    go, marker = tmp_path / "go", f"tusk-drop-{uuid.uuid4().hex}"
    _blocked_pipeline(client, go, marker)
    first = put_files(client, "in", {"/a": b"a\n"})
    wait_for(lambda: marked_processes(marker), what="the first job's datum to run")
    second = put_files(client, "in", {"/b": b"b\n"})  # its job waits behind the first one
    assert client.pps.inspect_job(f"p@{second}").state == pps_pb2.JOB_CREATED

    client.pfs.drop_commit_set(second)
    info = client.pps.inspect_job(f"p@{second}", wait=True, timeout=20)
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, f"commit set {second} was dropped")
    assert [i.state for i in client.pps.wait_job_done(second)] == [pps_pb2.JOB_KILLED]

    go.touch()  # the first job is not touched and ends as usual
    [done] = client.pps.wait_job_done(f"p@{first}")
    assert done.state == pps_pb2.JOB_SUCCESS
    assert head(client, "p") == first
    assert tree(client, f"p@{first}") == {"/a": b"a\n"}


def test_drop_commit_set_of_a_running_job_kills_it_and_its_processes(client: tusk.Client, tmp_path: Path) -> None:
    go, marker = tmp_path / "go", f"tusk-drop-{uuid.uuid4().hex}"
    _blocked_pipeline(client, go, marker)
    commit = put_files(client, "in", {"/a": b"a\n"})
    wait_for(lambda: marked_processes(marker), what="the job's datum to run")
    client.pfs.drop_commit_set(commit)
    # The call returns once the job is KILLED and its user code is gone.
    assert marked_processes(marker) == []
    info = client.pps.inspect_job(f"p@{commit}", wait=True, timeout=20)
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, f"commit set {commit} was dropped")


def test_squash_commit_set_kills_its_job_and_the_next_job_runs(client: tusk.Client, tmp_path: Path) -> None:
    go, marker = tmp_path / "go", f"tusk-squash-{uuid.uuid4().hex}"
    _blocked_pipeline(client, go, marker)
    first = put_files(client, "in", {"/a": b"a\n"})
    wait_for(lambda: marked_processes(marker), what="the first job's datum to run")
    second = put_files(client, "in", {"/b": b"b\n"})
    third = put_files(client, "in", {"/c": b"c\n"})

    client.pfs.squash_commit_set(second)
    info = client.pps.inspect_job(f"p@{second}", wait=True, timeout=20)
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, f"commit set {second} was squashed")
    go.touch()
    assert [i.state for i in client.pps.wait_job_done(f"p@{third}")] == [pps_pb2.JOB_SUCCESS]
    assert tree(client, f"p@{third}") == {"/a": b"a\n", "/b": b"b\n", "/c": b"c\n"}
    assert client.pps.inspect_job(f"p@{first}").state == pps_pb2.JOB_SUCCESS


def test_jobs_whose_output_commit_is_gone_are_killed_at_dispatch_and_at_start(make_server: object) -> None:
    """What a crash in the middle of an older server's drop could leave: unfinished jobs with no
    output commit. The engine ends them (at dispatch, and at start for a stopped pipeline's job)
    instead of leaving them CREATED forever."""
    first: RunningServer = make_server()  # type: ignore[operator]
    with first.client() as client:
        client.pfs.create_repo("in")
        client.pps.create_pipeline(pipeline_spec("p", "in", "cp -r /pfs/in/. /pfs/out/"))
        client.pps.create_pipeline(pipeline_spec("q", "in", "cp -r /pfs/in/. /pfs/out/"))
        client.pps.stop_pipeline("q")
        running, stopped = JobKey("default", "p", uuid.uuid4().hex), JobKey("default", "q", uuid.uuid4().hex)
        with first.deps.store.write() as tx:
            first.deps.jobs.create_job(tx, running, 1, "p", "master")
            first.deps.jobs.create_job(tx, stopped, 1, "q", "master")
        info = client.pps.inspect_job(f"p@{running.id}", wait=True, timeout=20)
        assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, f"output commit p@{running.id} no longer exists")
        assert client.pps.inspect_job(f"q@{stopped.id}").state == pps_pb2.JOB_CREATED
    stop_server(first)
    again: RunningServer = make_server()  # type: ignore[operator]
    with again.client() as client:
        info = client.pps.inspect_job(f"q@{stopped.id}", wait=True, timeout=20)
        assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, f"output commit q@{stopped.id} no longer exists")
