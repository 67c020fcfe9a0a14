"""The engine through the wire: a real server on port 0, the real client, real user processes.

Repos and files go through the pfs_v2 RPCs (CreateRepo, ModifyFile), pipelines through
CreatePipeline, and jobs are followed, inspected and stopped through the pps_v2 job RPCs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import wrappers_pb2

import tusk
from tests.conftest import RunningServer
from tests.integration.test_engine import ME, pid_alive, wait_for
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2

pytestmark = pytest.mark.timeout(60)


def _commit(repo: str) -> pfs_pb2.Commit:
    return pfs_pb2.Commit(branch=pfs_pb2.Branch(repo=pfs_pb2.Repo(name=repo, type="user"), name="master"))


def create_repo(client: tusk.Client, name: str) -> None:
    pfs_pb2_grpc.APIStub(client.channel).CreateRepo(
        pfs_pb2.CreateRepoRequest(repo=pfs_pb2.Repo(name=name, type="user"))
    )


def put_files(client: tusk.Client, repo: str, files: dict[str, bytes]) -> None:
    def requests() -> Iterator[pfs_pb2.ModifyFileRequest]:
        yield pfs_pb2.ModifyFileRequest(set_commit=_commit(repo))
        for path, data in files.items():
            yield pfs_pb2.ModifyFileRequest(
                add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=data))
            )

    pfs_pb2_grpc.APIStub(client.channel).ModifyFile(requests())


def head_id(client: tusk.Client, repo: str) -> str:
    info = pfs_pb2_grpc.APIStub(client.channel).InspectCommit(pfs_pb2.InspectCommitRequest(commit=_commit(repo)))
    return str(info.commit.id)


def test_seed_scenario_over_grpc(server: RunningServer, client: tusk.Client) -> None:
    create_repo(client, "images")
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "edges"},
            "transform": {"image": "pachyderm/opencv", "cmd": ["sh", "-c", 'cp "$images" /pfs/out/']},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
        }
    )
    put_files(client, "images", {"/a.png": b"alpha"})
    one = head_id(client, "images")
    [j1] = client.pps.wait_job_done(f"edges@{one}")
    put_files(client, "images", {"/b.png": b"bravo", "/c.png": b"charlie"})
    two = head_id(client, "images")
    done = client.pps.wait_job_done(two)  # the whole job set
    [j2] = [j for j in done if j.job.pipeline.name == "edges"]
    assert (j1.state, j1.data_processed, j1.data_skipped, j1.data_total) == (pps_pb2.JOB_SUCCESS, 1, 0, 1)
    assert (j2.state, j2.data_processed, j2.data_skipped, j2.data_total) == (pps_pb2.JOB_SUCCESS, 2, 1, 3)
    info = client.pps.inspect_job(f"edges@{two}")
    assert info.output_commit.id == two and info.stats.download_bytes == len(b"bravo") + len(b"charlie")


def test_stop_job_over_grpc_kills_the_processes(server: RunningServer, client: tusk.Client, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    create_repo(client, "images")
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "slow"},
            "transform": {"cmd": ["sh", "-c", f'{ME} >> "$PIDS"; sleep 60'], "env": {"PIDS": str(pids)}},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
            "datum_timeout": "50s",
        }
    )
    put_files(client, "images", {"/a": b"1"})
    commit = head_id(client, "images")
    wait_for(lambda: pids.exists() and pids.read_text().strip(), what="the datum to start")
    client.pps.stop_job(f"slow@{commit}")
    info = client.pps.inspect_job(f"slow@{commit}")
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "job stopped")
    assert [p for p in pids.read_text().split() if pid_alive(p)] == []
