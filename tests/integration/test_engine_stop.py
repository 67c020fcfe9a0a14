"""Stopping jobs end to end on a real server: DAG cascades, StopJob, timeouts, pipeline
updates, stops and deletes (helpers: test_engine.py)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import (
    BG,
    ME,
    S,
    commit_error,
    create_pipeline,
    create_repo,
    files,
    job,
    jobs_of,
    make_spec,
    pfs_in,
    pid_alive,
    put,
    states,
    wait_all,
    wait_for,
    wait_job,
)
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, RepoKey
from tuskd.domain.pipelines import PipelineKey

pytestmark = pytest.mark.timeout(60)


# --------------------------------------------------------------------------------------------
# DAGs, stopping, timeouts
# --------------------------------------------------------------------------------------------


def test_unrunnable_cascades_down_a_dag_sharing_one_id(server: RunningServer) -> None:
    create_repo(server, "raw")
    create_pipeline(
        server, make_spec("a", 'case "$raw" in *bad*) exit 3;; esac; cp "$raw" /pfs/out/', pfs_in("raw"), datum_tries=1)
    )
    create_pipeline(server, make_spec("b", "cp -r /pfs/a/. /pfs/out/", pfs_in("a", "/")))
    create_pipeline(server, make_spec("c", "cp -r /pfs/b/. /pfs/out/", pfs_in("b", "/")))
    good = put(server, "raw", {"/ok": b"fine"})
    for name in ("a", "b", "c"):
        assert wait_job(server, name, good).state == S.JOB_SUCCESS
    assert files(server, "c", good) == {"/ok": b"fine"}

    bad = put(server, "raw", {"/bad": b"x"})
    a, b, c = (wait_job(server, name, bad) for name in ("a", "b", "c"))
    assert a.state == S.JOB_FAILURE
    assert b.state == S.JOB_UNRUNNABLE and c.state == S.JOB_UNRUNNABLE
    assert a.key.id == b.key.id == c.key.id == bad
    assert b.reason == f"input commit a@{bad} failed: job a@{bad} failed: {a.reason}"
    assert c.reason.startswith(f"input commit b@{bad} failed: job b@{bad} is unrunnable: input commit a@{bad}")
    assert states(server, "b", bad)[-1] == S.JOB_UNRUNNABLE
    assert S.JOB_RUNNING not in states(server, "c", bad)
    assert commit_error(server, "c", bad).startswith(f"job c@{bad} is unrunnable")
    # The DAG recovers with the next good commit; the failed job's outputs never leak.
    fixed = put(server, "raw", {"/more": b"more"}, delete=["/bad"])
    assert wait_job(server, "c", fixed).state == S.JOB_SUCCESS
    assert files(server, "c", fixed) == {"/ok": b"fine", "/more": b"more"}


def test_stop_job_returns_when_killed_and_processes_are_gone(server: RunningServer, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    create_repo(server, "images")
    create_pipeline(
        server,
        make_spec(
            "slow",
            f'{ME} >> "$PIDS"; sleep 60 & {BG} >> "$PIDS"; wait',
            pfs_in("images"),
            env={"PIDS": str(pids)},
            parallelism=2,
        ),
    )
    create_pipeline(server, make_spec("after", "true", pfs_in("slow", "/")))
    c = put(server, "images", {"/a": b"1", "/b": b"2", "/c": b"3"})
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) >= 4, what="two running datums")
    assert job(server, "slow", c).state == S.JOB_RUNNING
    stopped = server.deps.engine.stop_job(JobKey("default", "slow", c))
    assert (stopped.state, stopped.reason) == (S.JOB_KILLED, "job stopped")
    assert job(server, "slow", c).state == S.JOB_KILLED  # durable when stop_job returns
    alive = [p for p in pids.read_text().split() if pid_alive(p)]
    assert alive == []
    assert commit_error(server, "slow", c) == f"job slow@{c} was killed: job stopped"
    downstream = wait_job(server, "after", c)
    assert downstream.state == S.JOB_UNRUNNABLE
    # Stopping a finished job is a no-op that returns it.
    assert server.deps.engine.stop_job(JobKey("default", "slow", c)).state == S.JOB_KILLED
    # The pipeline goes on with the next commit.
    c2 = put(server, "images", {"/d": b"4"}, delete=["/a", "/b", "/c"])
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) >= 6, what="next job")
    server.deps.engine.stop_job_set(c2)
    assert job(server, "slow", c2).state == S.JOB_KILLED
    assert wait_job(server, "after", c2).state in (S.JOB_UNRUNNABLE, S.JOB_KILLED)


def test_stop_job_with_grace_lets_running_datums_finish(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("g", 'sleep 0.4; cp "$images" /pfs/out/', pfs_in("images")))
    c = put(server, "images", {f"/{i}": b"x" for i in range(5)})
    wait_for(lambda: job(server, "g", c).state == S.JOB_RUNNING, what="RUNNING")
    time.sleep(0.1)
    stopped = server.deps.engine.stop_job(JobKey("default", "g", c), reason="enough", grace=5)
    assert (stopped.state, stopped.reason) == (S.JOB_KILLED, "enough")
    assert stopped.counts.processed == 1  # the running datum finished; no new one started


def test_stop_of_a_job_waiting_for_an_open_input(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("waits", "true", pfs_in("images")))
    wait_all(server, "waits", 1)
    # An open input commit keeps the job STARTING; stopping it is immediate.
    info = server.deps.pfs.start_commit(BranchKey(RepoKey.of("images"), "master"))
    c = info.commit.id
    wait_for(lambda: job(server, "waits", c).state == S.JOB_STARTING, what="STARTING")
    started = time.monotonic()
    stopped = server.deps.engine.stop_job(JobKey("default", "waits", c))
    assert stopped.state == S.JOB_KILLED and time.monotonic() - started < 2


def test_job_timeout_kills_the_job(server: RunningServer, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    create_repo(server, "images")
    create_pipeline(
        server,
        make_spec("t", f'{ME} >> "$PIDS"; sleep 60', pfs_in("images"), job_timeout=0.5, env={"PIDS": str(pids)}),
    )
    c = put(server, "images", {"/a": b"1"})
    j = wait_job(server, "t", c)
    assert (j.state, j.reason) == (S.JOB_KILLED, "job timed out after 0.5s")
    assert [p for p in pids.read_text().split() if pid_alive(p)] == []


def test_pipeline_update_kills_the_running_job_of_the_old_version(server: RunningServer, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    create_repo(server, "images")
    spec = make_spec("p", f'{ME} >> "$PIDS"; sleep 60', pfs_in("images"), env={"PIDS": str(pids)})
    create_pipeline(server, spec)
    c = put(server, "images", {"/a": b"1"})
    wait_for(lambda: pids.exists() and pids.read_text().strip(), what="running datum")
    server.deps.pipelines.create(
        replace(spec, transform=replace(spec.transform, cmd=("sh", "-c", 'cp "$images" /pfs/out/'))), update=True
    )
    old = job(server, "p", c)
    assert (old.state, old.reason) == (S.JOB_KILLED, "pipeline updated to version 2")
    wait_for(lambda: not any(pid_alive(p) for p in pids.read_text().split()), timeout=5, what="old processes gone")
    latest = wait_all(server, "p", 3)[0]
    assert latest.pipeline_version == 2 and latest.state == S.JOB_SUCCESS
    assert files(server, "p", latest.key.id) == {"/a": b"1"}


@pytest.mark.parametrize("change", ["stop", "delete"])
def test_stopping_or_deleting_a_pipeline_stops_its_running_job(
    server: RunningServer, tmp_path: Path, change: str
) -> None:
    pids = tmp_path / "pids"
    create_repo(server, "images")
    create_pipeline(server, make_spec("p", f'{ME} >> "$PIDS"; sleep 60', pfs_in("images"), env={"PIDS": str(pids)}))
    c = put(server, "images", {"/a": b"1"})
    wait_for(lambda: pids.exists() and pids.read_text().strip(), what="running datum")
    key = PipelineKey("default", "p")
    if change == "stop":
        server.deps.pipelines.stop(key)
        killed = job(server, "p", c)
        assert (killed.state, killed.reason) == (S.JOB_KILLED, "pipeline stopped")
    else:
        server.deps.pipelines.delete(key)
        assert jobs_of(server, "p") == []
    # The processes are gone when the call returns, and the engine holds no thread for the job.
    assert [p for p in pids.read_text().split() if pid_alive(p)] == []
    wait_for(lambda: server.deps.engine.running() == [], timeout=5, what="the runner to end")  # type: ignore[attr-defined]
    if change == "stop":
        c2 = put(server, "images", {"/b": b"2"})
        time.sleep(0.2)
        assert jobs_of(server, "p")[0].key.id != c2  # a stopped pipeline gets no job
        server.deps.pipelines.start(key)
        wait_for(lambda: pids.read_text().count("\n") >= 2, what="the job after start")
        server.deps.engine.stop_job(JobKey("default", "p", c2))
