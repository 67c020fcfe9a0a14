"""The job engine's egress end to end on a real server (helpers: test_engine.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import (
    S,
    commit_error,
    create_pipeline,
    create_repo,
    make_spec,
    pfs_in,
    put,
    states,
    wait_job,
)

pytestmark = pytest.mark.timeout(60)


# --------------------------------------------------------------------------------------------
# Egress
# --------------------------------------------------------------------------------------------


def test_egress_copies_the_output_while_egressing(server: RunningServer, tmp_path: Path) -> None:
    target = tmp_path / "egress"
    create_repo(server, "images")
    create_pipeline(
        server,
        make_spec(
            "eg", 'mkdir -p /pfs/out/sub; cp "$images" /pfs/out/sub/', pfs_in("images"), egress_url=f"file://{target}"
        ),
    )
    c = put(server, "images", {"/a": b"alpha", "/b": b"bravo"})
    j = wait_job(server, "eg", c)
    assert j.state == S.JOB_SUCCESS, j.reason
    assert states(server, "eg", c) == [
        S.JOB_CREATED,
        S.JOB_STARTING,
        S.JOB_RUNNING,
        S.JOB_EGRESSING,
        S.JOB_FINISHING,
        S.JOB_SUCCESS,
    ]
    assert (target / "sub" / "a").read_bytes() == b"alpha"
    assert (target / "sub" / "b").read_bytes() == b"bravo"


def test_egress_failure_fails_the_job_with_a_clear_reason(server: RunningServer, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    create_repo(server, "images")
    create_pipeline(
        server, make_spec("eg", 'cp "$images" /pfs/out/', pfs_in("images"), egress_url=f"file://{blocker}/dir")
    )
    c = put(server, "images", {"/a": b"alpha"})
    j = wait_job(server, "eg", c)
    assert j.state == S.JOB_FAILURE
    assert j.reason.startswith(f"egress to file://{blocker}/dir failed: ")
    assert states(server, "eg", c)[-2:] == [S.JOB_EGRESSING, S.JOB_FAILURE]
    assert commit_error(server, "eg", c).startswith(f"job eg@{c} failed: egress to")
