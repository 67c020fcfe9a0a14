"""grpcurl (a client that knows nothing of tusk: it learns the API through server reflection)
drives ListJob, InspectJob and a live WaitJob stream with JSON requests."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, RunningServer
from tests.integration.test_job_api import FINISH, RUN, add_job, drive, succeed, wait_until

_LOCAL = REPO_ROOT / ".venv" / "bin" / "grpcurl"
GRPCURL = str(_LOCAL) if _LOCAL.exists() else shutil.which("grpcurl")

pytestmark = pytest.mark.skipif(GRPCURL is None, reason="grpcurl is not installed (make install provides it)")


def _objects(text: str) -> list[dict[str, Any]]:
    """grpcurl prints one JSON document per response message, back to back."""
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


def _grpcurl(server: RunningServer, method: str, request: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    assert GRPCURL is not None
    return subprocess.run(
        [GRPCURL, "-plaintext", "-d", json.dumps(request), server.address, f"pps_v2.API/{method}"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_job_and_inspect_job(server: RunningServer) -> None:
    done = add_job(server, "edges")
    succeed(server, done)
    running = add_job(server, "edges")
    drive(server, running, *RUN)
    listed = _grpcurl(server, "ListJob", {"pipeline": {"name": "edges"}})
    assert listed.returncode == 0, listed.stderr
    assert [d["job"]["id"] for d in _objects(listed.stdout)] == [running.id, done.id]
    # tusk's additions by their JSON names: a state filter and a page of one with its token.
    paged = _grpcurl(server, "ListJob", {"state": ["JOB_SUCCESS", "JOB_RUNNING"], "page_size": 1})
    docs = _objects(paged.stdout)
    assert [d["job"]["id"] for d in docs] == [running.id] and docs[0]["page_token"]
    nxt = _grpcurl(server, "ListJob", {"state": ["JOB_SUCCESS", "JOB_RUNNING"], "page_size": 1,
                                       "page_token": docs[0]["page_token"]})  # fmt: skip
    assert [d["job"]["id"] for d in _objects(nxt.stdout)] == [done.id]

    inspected = _grpcurl(server, "InspectJob", {"job": {"pipeline": {"name": "edges"}, "id": done.id}})
    assert inspected.returncode == 0, inspected.stderr
    (info,) = _objects(inspected.stdout)
    assert info["state"] == "JOB_SUCCESS" and info["pipeline_version"] == "1"
    assert info["output_commit"] == {
        "branch": {"repo": {"name": "edges", "type": "user"}, "name": "master"},
        "id": done.id,
    }
    missing = uuid.uuid4().hex
    failed = _grpcurl(server, "InspectJob", {"job": {"pipeline": {"name": "edges"}, "id": missing}})
    assert failed.returncode != 0
    assert "Code: NotFound" in failed.stderr and f"jobs default/edges@{missing} not found" in failed.stderr


def test_wait_job_stream(server: RunningServer, tmp_path: Path) -> None:
    key = add_job(server, "edges")
    drive(server, key, *RUN)
    assert GRPCURL is not None
    out_path = tmp_path / "stream.json"
    request = {"job": {"pipeline": {"name": "edges"}, "id": key.id}, "heartbeat_interval": "0.05s"}
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [GRPCURL, "-plaintext", "-d", json.dumps(request), server.address, "pps_v2.API/WaitJob"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(lambda: '"heartbeat"' in out_path.read_text(), timeout=20)  # quiet: heartbeats flow
            server.deps.jobs.set_total(key, 2)
            drive(server, key, *FINISH)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    messages = _objects(out_path.read_text())
    changes = [m for m in messages if not m.get("heartbeat")]
    assert [c["job_info"]["state"] for c in changes] == ["JOB_RUNNING", "JOB_RUNNING", "JOB_FINISHING", "JOB_SUCCESS"]
    assert [int(c["seq"]) for c in changes] == [3, 4, 5, 6]
    assert changes[1]["job_info"]["data_total"] == "2"
    beats = [m for m in messages if m.get("heartbeat")]
    assert beats and all(m["seq"] in ("3", "4", "5") and "job_info" not in m for m in beats)
    assert len(beats) + len(changes) == len(messages)
