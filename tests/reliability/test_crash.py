"""SIGKILL of a real ``tusk serve`` process, then a restart on the same data directory.

Three moments: a job RUNNING (datums done, datums in flight, daemons they left), a job
FINISHING (writing its output commit), and a 200 MiB ModifyFile upload half sent. After the
restart every acknowledged write is there, the job resumes (``restart`` + 1) and ends with the
output an uninterrupted run gives, datums recorded before the kill do not run again, the
half-done upload left nothing visible, and no user process from before the kill is alive.

Datums append their ID to a host file outside /pfs to count runs, and carry a unique marker in
their environment (``transform.env``) by which ``/proc`` finds every process they started.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import wrappers_pb2

from tests.conftest import ServerProcess
from tests.integration.test_engine import pid_alive
from tests.reliability.common import (
    alive,
    crash,
    head,
    marked_processes,
    pipeline_spec,
    process_tree,
    put_files,
    tree,
    wait_for,
)
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.states import DatumState
from tuskd.store.sqlite import SqliteStore
from tuskd.store.sqlite_pps import SqlitePpsTx

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

MiB = 1 << 20


def stored_job(data_dir: Path, key: JobKey) -> tuple[Job, dict[str, DatumState]]:
    """The job and its recorded datums, read from the metadata store of a stopped server."""
    store = SqliteStore(data_dir / "metadata.db")
    try:
        with store.read() as tx:
            t = SqlitePpsTx(tx)
            row = t.get_job(key)
            assert row is not None
            return row.job, {d.record.id: d.record.state for d in t.list_datums(row.row)}
    finally:
        store.close()


# Upper-cases its input into /pfs/out/<name>, after leaving a setsid daemon behind and sleeping
# $SLOW seconds (the window in which the server is killed).
UPPER = (
    'echo "$PACH_DATUM_ID" >> "$RAN"; setsid sleep 1000 & sleep "$SLOW"; '
    'tr a-z A-Z < "$images" > "/pfs/out/$(basename "$images")"'
)


def test_sigkill_while_running(tmp_path: Path, server_process: Callable[..., ServerProcess]) -> None:
    data_dir = tmp_path / "data"
    marker = f"tusk-crash-{uuid.uuid4().hex}"
    ran = tmp_path / "ran"
    files = {f"/img{i:02d}": f"image number {i}\n".encode() for i in range(10)}

    first = server_process(data_dir=data_dir)
    with first.client() as c:
        # Acknowledged writes of every kind: a finished commit, pipelines, a stopped pipeline,
        # a stopped job.
        c.pfs.create_repo("notes")
        notes = put_files(c, "notes", {"/readme": b"kept across the crash\n"})
        c.pps.create_pipeline(pipeline_spec("paused", "notes", "cp -r /pfs/notes/. /pfs/out/", {"MARK": marker}))
        c.pps.stop_pipeline("paused")
        started = tmp_path / "victim-started"
        c.pps.create_pipeline(pipeline_spec("victim", "notes", f'touch "{started}"; sleep 1000', {"MARK": marker}))
        wait_for(started.exists, what="the victim job to start")
        [victim] = c.pps.list_job("victim")
        c.pps.stop_job(f"victim@{victim.job.id}")

        c.pfs.create_repo("images")
        env = {"RAN": str(ran), "MARK": marker, "SLOW": "0.5"}
        c.pps.create_pipeline(pipeline_spec("edges", "images", UPPER, env, parallelism_spec={"constant": 2}))
        commit = put_files(c, "images", files)
        job = f"edges@{commit}"

        def recorded() -> int:
            return sum(d.state == pps_pb2.SUCCESS for d in c.pps.list_datum(job))

        wait_for(lambda: recorded() >= 3, what="three datums recorded")
    wait_for(lambda: len(ran.read_text().split()) > 4, what="more datums in flight")
    # Every process the server had started (datums, sandbox helpers), to check none outlives it.
    tree_before = process_tree(first.proc.pid)
    crash(first)

    key = JobKey("default", "edges", commit)
    before, datums_before = stored_job(data_dir, key)
    done_before = {d for d, s in datums_before.items() if s == DatumState.SUCCESS}
    assert before.state.name == "JOB_RUNNING" and before.restart == 0
    assert 3 <= len(done_before) < len(files)
    # Datum processes (and the setsid daemons they left) may outlive the server for a moment.
    leftovers = marked_processes(marker)

    second = server_process(data_dir=data_dir)
    # Killed before the server answers its first call, daemons that left the group included
    # (the resumed job's new datums carry the marker too: look at the old processes only).
    assert [p for p in leftovers if pid_alive(p)] == []
    assert [p for p in tree_before if alive(*p)] == [], "a process of the killed server survived its restart"
    with second.client() as c:
        [info] = c.pps.wait_job_done(job)
        assert (info.state, info.restart) == (pps_pb2.JOB_SUCCESS, 1)
        assert (info.data_processed, info.data_skipped, info.data_failed, info.data_total) == (len(files), 0, 0, 10)
        runs = collections.Counter(ran.read_text().split())
        assert set(runs) == {d.datum.id for d in c.pps.list_datum(job)}
        assert {d: runs[d] for d in done_before} == dict.fromkeys(done_before, 1), "a finished datum ran again"

        # The same output as an uninterrupted run of the same code on the same commit.
        c.pps.create_pipeline(pipeline_spec("reference", "images", UPPER, {**env, "SLOW": "0", "RAN": "/dev/null"}))
        wait_for(lambda: list(c.pps.list_job("reference")), what="the reference job")
        [ref] = c.pps.wait_job_done(f"reference@{next(iter(c.pps.list_job('reference'))).job.id}")
        assert ref.state == pps_pb2.JOB_SUCCESS
        output = tree(c, f"edges@{commit}")
        assert output == tree(c, f"reference@{ref.job.id}")
        assert output == {p: d.upper() for p, d in files.items()}

        # Every acknowledged write survived.
        assert c.pfs.inspect_commit(f"notes@{notes}").finished.seconds > 0
        assert c.pfs.get_file_bytes(f"notes@{notes}", "/readme") == b"kept across the crash\n"
        pipelines = {p.pipeline.name: p for p in c.pps.list_pipeline()}
        assert set(pipelines) == {"paused", "victim", "edges", "reference"}
        assert pipelines["paused"].stopped and not pipelines["edges"].stopped
        killed = c.pps.inspect_job(f"victim@{victim.job.id}")
        assert (killed.state, killed.reason) == (pps_pb2.JOB_KILLED, "job stopped")
        assert head(c, "images") == commit
    assert marked_processes(marker) == []


def test_sigkill_while_finishing(tmp_path: Path, server_process: Callable[..., ServerProcess]) -> None:
    """Two datums write the same 600 paths: FINISHING concatenates them into new blobs and
    writes them to the output commit, which takes long enough to be killed in the middle."""
    data_dir = tmp_path / "data"
    marker = f"tusk-crash-{uuid.uuid4().hex}"
    ran = tmp_path / "ran"
    count = 600
    script = (
        'echo "$PACH_DATUM_ID" >> "$RAN"; name=$(basename "$parts"); i=0; '
        f'while [ $i -lt {count} ]; do echo "$name $i" > /pfs/out/f$i; i=$((i+1)); done'
    )
    first = server_process(data_dir=data_dir)
    with first.client() as c:
        c.pfs.create_repo("parts")
        c.pps.create_pipeline(pipeline_spec("many", "parts", script, {"RAN": str(ran), "MARK": marker}))
        commit = put_files(c, "parts", {"/a": b"", "/b": b""})
        for response in c.pps.wait_job(f"many@{commit}"):
            if response.job_info.state == pps_pb2.JOB_FINISHING:
                crash(first)
                break
            assert response.job_info.state not in (pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE)
    key = JobKey("default", "many", commit)
    before, datums = stored_job(data_dir, key)
    assert before.state.name == "JOB_FINISHING", f"killed too late: {before.state.name}"
    assert before.restart == 0 and set(datums.values()) == {DatumState.SUCCESS}

    second = server_process(data_dir=data_dir)
    with second.client() as c:
        [info] = c.pps.wait_job_done(f"many@{commit}")
        assert (info.state, info.restart, info.data_processed) == (pps_pb2.JOB_SUCCESS, 1, 2)
        # No datum ran again: FINISHING is redone from the recorded outputs.
        assert sorted(ran.read_text().split()) == sorted(datums)
        # Paths several datums wrote are concatenated in datum-ID order.
        by_id = {d.datum.id: d.data[0].file.path.lstrip("/") for d in c.pps.list_datum(f"many@{commit}")}
        names = [by_id[d] for d in sorted(by_id)]
        output = tree(c, f"many@{commit}")
        assert output == {f"/f{i}": "".join(f"{n} {i}\n" for n in names).encode() for i in range(count)}
        assert c.pfs.inspect_commit(f"many@{commit}").finished.seconds > 0


class _Upload:
    """A ModifyFile stream of a small file then ``size`` bytes to ``/big``, sent from a thread."""

    def __init__(self, address: str, size: int) -> None:
        self.sent = 0
        self.size = size
        self.channel = grpc.insecure_channel(address)
        self.future = pfs_pb2_grpc.APIStub(self.channel).ModifyFile.future(self._requests())

    def _requests(self) -> Iterator[pfs_pb2.ModifyFileRequest]:
        master = pfs_pb2.Commit(branch=pfs_pb2.Branch(repo=pfs_pb2.Repo(name="data", type="user"), name="master"))
        yield pfs_pb2.ModifyFileRequest(set_commit=master)
        small = pfs_pb2.AddFile(path="/small.txt", raw=wrappers_pb2.BytesValue(value=b"part of the upload\n"))
        yield pfs_pb2.ModifyFileRequest(add_file=small)
        chunk = b"z" * MiB
        while self.sent < self.size:
            yield pfs_pb2.ModifyFileRequest(
                add_file=pfs_pb2.AddFile(path="/big", raw=wrappers_pb2.BytesValue(value=chunk))
            )
            self.sent += len(chunk)

    def close(self) -> None:
        self.future.cancel()
        self.channel.close()


def test_sigkill_mid_upload_leaves_nothing(tmp_path: Path, server_process: Callable[..., ServerProcess]) -> None:
    data_dir = tmp_path / "data"
    first = server_process(data_dir=data_dir)
    with first.client() as c:
        c.pfs.create_repo("data")
        before = put_files(c, "data", {"/kept.txt": b"acknowledged\n"})
    temp_dir = data_dir / "blobs" / "tmp"

    def received() -> int:
        return sum(p.stat().st_size for p in temp_dir.iterdir())

    upload = _Upload(first.address, 200 * MiB)
    try:
        wait_for(lambda: received() >= 80 * MiB, timeout=60, what="80 MiB of the upload on the server")
        crash(first)
        with pytest.raises(grpc.RpcError):
            upload.future.result(timeout=30)
        assert upload.sent < 200 * MiB
    finally:
        upload.close()
    half = received()
    assert 80 * MiB <= half < 200 * MiB

    second = server_process(data_dir=data_dir)
    with second.client() as c:
        assert head(c, "data") == before
        info = c.pfs.inspect_commit("data@master")
        assert info.finished.seconds > 0
        assert tree(c, f"data@{before}") == {"/kept.txt": b"acknowledged\n"}
        assert [ci.commit.id for ci in c.pfs.list_commit("data")] == [before]
        assert [b.branch.name for b in c.pfs.list_branch("data")] == ["master"]
    # Nor does it keep the disk: the partial upload's temp file is gone after the restart.
    assert list(temp_dir.iterdir()) == []
