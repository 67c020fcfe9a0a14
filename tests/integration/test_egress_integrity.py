"""Pipeline egress reads each output through the blob store, so content that no longer matches
its hash is never copied out: the job fails naming the damaged blob instead."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tuskd.domain.inputs import Input, PfsInput
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineSpec, Transform
from tuskd.domain.states import JobState

pytestmark = pytest.mark.timeout(60)


def _put(server: RunningServer, path: str, data: bytes) -> str:
    return server.deps.pfs.put_file(CommitRef(RepoKey.of("words"), branch="master"), path, [data]).commit.id


def test_egress_refuses_a_damaged_output_blob(server: RunningServer, tmp_path: Path) -> None:
    target = tmp_path / "egress"
    server.deps.pfs.create_repo(RepoKey.of("words"))
    server.deps.pipelines.create(
        PipelineSpec(
            name="eg",
            transform=Transform(cmd=("sh", "-c", 'cp "$words" /pfs/out/')),
            input=Input(pfs=PfsInput(repo="words", glob="/*")),
            egress_url=f"file://{target}",
        )
    )
    first = _put(server, "/a", b"alpha")
    done = server.deps.jobs.wait_terminal(JobKey("default", "eg", first), timeout=30)
    assert done.state == JobState.JOB_SUCCESS, done.reason
    # The blob of /a (input and output alike) is damaged on disk; the next job skips datum /a
    # and reuses its output, then egresses it.
    blob = server.deps.blobs.path(hashlib.sha256(b"alpha").hexdigest())  # type: ignore[attr-defined]
    os.chmod(blob, 0o644)
    blob.write_bytes(b"ALPHA")
    (target / "a").unlink()
    second = _put(server, "/b", b"bravo")
    done = server.deps.jobs.wait_terminal(JobKey("default", "eg", second), timeout=30)
    assert done.state == JobState.JOB_FAILURE
    assert done.reason.startswith(f"egress to file://{target} failed: blob {blob.name} is corrupt")
    assert not (target / "a").exists()  # nothing damaged was copied out
    assert not [p.name for p in target.iterdir() if p.name.startswith(".tusk-egress-")]  # no temp file left
