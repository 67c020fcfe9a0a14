"""A Node.js client (@grpc/grpc-js + @grpc/proto-loader loading protos/) lists jobs and follows a
WaitJob stream to the end against a real tusk server."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import tusk
from tusk.proto.pfs_v2 import pfs_pb2

NODE_DIR = Path(__file__).parent / "node"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists():
        pytest.skip("run `make test` (it runs npm ci in tests/compat/node) to install @grpc/grpc-js")
    return node


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_node_lists_jobs_and_follows_waitjob(server: object, client: tusk.Client) -> None:
    node = _node()
    address = server.address  # type: ignore[attr-defined]
    client.pfs.stub.CreateRepo(pfs_pb2.CreateRepoRequest(repo=pfs_pb2.Repo(name="images")))
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "edges"},
            "transform": {"cmd": ["sh", "-c", "sleep 0.5; cp -r /pfs/images/. /pfs/out/"]},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
        }
    )
    first = next(iter(client.pps.list_job(pipeline="edges")))
    client.pps.inspect_job(f"edges@{first.job.id}", wait=True)
    client.pfs.stub.ModifyFile(
        iter(
            [
                pfs_pb2.ModifyFileRequest(
                    set_commit=pfs_pb2.Commit(branch=pfs_pb2.Branch(repo=pfs_pb2.Repo(name="images"), name="master"))
                ),
                pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path="/a.txt", raw={"value": b"hello"})),
            ]
        )
    )
    deadline = time.monotonic() + 30
    while True:
        jobs = list(client.pps.list_job(pipeline="edges"))
        if len(jobs) == 2:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job_id = jobs[0].job.id

    waited = subprocess.run(
        [node, str(NODE_DIR / "client.js"), address, "wait-job", "edges", job_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert waited.returncode == 0, waited.stdout + waited.stderr
    messages = [m for m in _lines(waited.stdout) if not m.get("heartbeat")]
    seqs = [int(m["seq"]) for m in messages]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert messages[-1]["job_info"]["state"] == "JOB_SUCCESS"  # type: ignore[index]

    listed = subprocess.run(
        [node, str(NODE_DIR / "client.js"), address, "list-jobs", "edges"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    infos = _lines(listed.stdout)
    assert [i["job"]["id"] for i in infos] == [j.job.id for j in jobs]  # type: ignore[index]
    assert infos[0]["state"] == "JOB_SUCCESS"
    assert infos[0]["data_processed"] == "1"  # int64 as a string, like protojson
