"""Every way a job ends without success goes through one terminate path
(services/job_terminate.py); one test per cause pins what that path guarantees:

* the job is in its terminal state with the cause's reason;
* its output commit is finished with pachd's error, ``job <pipeline>@<id> was killed: <reason>``
  (``failed``, ``is unrunnable``), or is gone when the cause was its deletion;
* the job downstream in the same job set turns UNRUNNABLE, naming that error;
* no user process of the job is left;
* no datum of the job still claims to be running (a restarted datum waiting in STARTING goes
  back to the outcome it had).

The DAG: ``images`` -> ``edges`` (the job under test) -> ``down``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tusk
from tests.conftest import RunningServer
from tests.integration.test_engine import (
    ME,
    commit_error,
    create_pipeline,
    create_repo,
    make_spec,
    pfs_in,
    pid_alive,
    put,
    wait_for,
    wait_job,
)
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import NotFound
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineKey
from tuskd.domain.states import JobState
from tuskd.engine.sandbox import format_seconds
from tuskd.services.job_commands import JobCommands
from tuskd.services.job_queries import JobQueries

pytestmark = pytest.mark.timeout(90)

S = JobState
SLEEPER = f'{ME} > "$PIDFILE"; sleep 60; cp -r /pfs/images/. /pfs/out/'


def _dag(server: RunningServer, tmp_path: Path, cmd: str = SLEEPER, **edges: object) -> tuple[str, Path]:
    """The DAG with one commit to ``images``; returns its job set ID and the pid file."""
    pidfile = tmp_path / "pid"
    create_repo(server, "images")
    env = {"PIDFILE": str(pidfile)}
    create_pipeline(server, make_spec("edges", cmd, pfs_in("images"), env=env, datum_tries=1, **edges))
    create_pipeline(server, make_spec("down", "cp -r /pfs/edges/. /pfs/out/", pfs_in("edges")))
    return put(server, "images", {"/a": b"x"}), pidfile


def _user_process(pidfile: Path) -> str:
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "", what="the user process")
    pid = pidfile.read_text().strip()
    assert pid_alive(pid)
    return pid


def _out(server: RunningServer, pipeline: str, set_id: str) -> CommitRef:
    return CommitRef(RepoKey.of(pipeline), id=set_id)


def _assert_ended(server: RunningServer, pipeline: str, set_id: str, state: JobState, reason: str) -> Job:
    """The job ended in ``state`` with ``reason``, its output commit finished with pachd's error."""
    ended = wait_job(server, pipeline, set_id)
    assert (ended.state, ended.reason) == (state, reason)
    word = {S.JOB_KILLED: "was killed", S.JOB_FAILURE: "failed", S.JOB_UNRUNNABLE: "is unrunnable"}[state]
    out = server.deps.pfs.inspect_commit(_out(server, pipeline, set_id))
    assert out.finished is not None
    assert out.error == f"job {pipeline}@{set_id} {word}: {reason}"
    return ended


def _assert_downstream_unrunnable(server: RunningServer, set_id: str) -> None:
    error = commit_error(server, "edges", set_id)
    _assert_ended(server, "down", set_id, S.JOB_UNRUNNABLE, f"input commit edges@{set_id} failed: {error}")


def test_stop_job(server: RunningServer, client: tusk.Client, tmp_path: Path) -> None:
    set_id, pidfile = _dag(server, tmp_path)
    pid = _user_process(pidfile)
    client.pps.stop_job(f"edges@{set_id}", reason="enough")
    assert not pid_alive(pid)  # StopJob returns once the job's processes are gone
    _assert_ended(server, "edges", set_id, S.JOB_KILLED, "enough")
    _assert_downstream_unrunnable(server, set_id)


def test_job_timeout(server: RunningServer, tmp_path: Path) -> None:
    set_id, pidfile = _dag(server, tmp_path, job_timeout=1.0)
    pid = _user_process(pidfile)
    _assert_ended(server, "edges", set_id, S.JOB_KILLED, f"job timed out after {format_seconds(1.0)}")
    assert not pid_alive(pid)
    _assert_downstream_unrunnable(server, set_id)


def test_pipeline_update(server: RunningServer, tmp_path: Path) -> None:
    set_id, pidfile = _dag(server, tmp_path)
    pid = _user_process(pidfile)
    server.deps.pipelines.create(make_spec("edges", "true", pfs_in("images")), update=True)
    assert not pid_alive(pid)  # the update returns once the old job's processes are gone
    # Before the one terminate path the commit error was the bare reason.
    _assert_ended(server, "edges", set_id, S.JOB_KILLED, "pipeline updated to version 2")
    _assert_downstream_unrunnable(server, set_id)


def test_pipeline_stop(server: RunningServer, tmp_path: Path) -> None:
    set_id, pidfile = _dag(server, tmp_path)
    pid = _user_process(pidfile)
    server.deps.pipelines.stop(PipelineKey("default", "edges"))
    assert not pid_alive(pid)
    _assert_ended(server, "edges", set_id, S.JOB_KILLED, "pipeline stopped")
    _assert_downstream_unrunnable(server, set_id)


def test_delete_job_of_a_running_job(server: RunningServer, client: tusk.Client, tmp_path: Path) -> None:
    set_id, pidfile = _dag(server, tmp_path)
    pid = _user_process(pidfile)
    client.pps.delete_job(f"edges@{set_id}")
    assert not pid_alive(pid)
    with pytest.raises(NotFound):
        server.deps.jobs.get(JobKey("default", "edges", set_id))
    out = server.deps.pfs.inspect_commit(_out(server, "edges", set_id))
    assert out.finished is not None and out.error == f"job edges@{set_id} was killed: job deleted"
    _assert_downstream_unrunnable(server, set_id)


def test_stop_recorded_without_an_engine_finishes_the_output_commit(server: RunningServer, tmp_path: Path) -> None:
    """StopJob on a server wired without an engine: the kill is only recorded (no process can
    exist), and the job's output commit is finished too (before, it stayed open for good)."""
    set_id, pidfile = _dag(server, tmp_path)
    _user_process(pidfile)  # edges runs, so down waits for it in STARTING
    deps = server.deps
    queries = JobQueries(deps.store, deps.jobs, deps.pfs, deps.hub)
    commands = JobCommands(deps.store, deps.jobs, queries, deps.hub, stopper=None, pfs=deps.pfs)
    commands.stop(JobKey("default", "down", set_id), "no engine")
    _assert_ended(server, "down", set_id, S.JOB_KILLED, "no engine")


def test_upstream_failure(server: RunningServer, tmp_path: Path) -> None:
    set_id, _ = _dag(server, tmp_path, cmd="exit 3")
    failed = wait_job(server, "edges", set_id)
    assert failed.state == S.JOB_FAILURE and failed.reason.startswith("datum ")
    _assert_ended(server, "edges", set_id, S.JOB_FAILURE, failed.reason)
    _assert_downstream_unrunnable(server, set_id)


def test_engine_error(server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the output check finds a problem, which the job cannot get past.
    monkeypatch.setattr("tuskd.engine.job_output.output_problem", lambda *args: "injected fault")
    set_id, _ = _dag(server, tmp_path, cmd="cp -r /pfs/images/. /pfs/out/")
    _assert_ended(server, "edges", set_id, S.JOB_FAILURE, "output check failed at FINISHING: injected fault")
    _assert_downstream_unrunnable(server, set_id)


def test_output_commit_gone(server: RunningServer, client: tusk.Client, tmp_path: Path) -> None:
    set_id, pidfile = _dag(server, tmp_path)
    pid = _user_process(pidfile)
    client.pfs.drop_commit_set(set_id)
    wait_for(lambda: not pid_alive(pid), what="the user process to be killed")
    for pipeline in ("edges", "down"):
        ended = wait_job(server, pipeline, set_id)
        assert ended.state == S.JOB_KILLED and ended.reason
        with pytest.raises(NotFound):
            server.deps.pfs.inspect_commit(_out(server, pipeline, set_id))


def test_a_restarted_datum_waiting_to_run_is_settled_when_the_job_is_stopped(
    server: RunningServer, client: tusk.Client, tmp_path: Path
) -> None:
    """A FAILED datum restarted while another datum holds the job waits in STARTING; stopping
    the job puts it back to FAILED (still counted once), so no datum of a KILLED job claims to
    be running (before, it stayed STARTING for good)."""
    mark = tmp_path / "mark"
    mark.mkdir()
    script = 'case "$(basename "$images")" in bad) exit 3 ;; block) while [ ! -e "$MARK/release" ]; do sleep 0.05; done ;; esac'
    create_repo(server, "images")
    create_pipeline(
        server,
        make_spec("edges", script, pfs_in("images"), env={"MARK": str(mark)}, datum_tries=1, parallelism=2),
    )
    set_id = put(server, "images", {"/bad": b"b", "/block": b"k"})
    job = f"edges@{set_id}"
    wait_for(lambda: list(client.pps.list_datum(job, states=[pps_pb2.FAILED])), what="bad to fail")
    [bad] = client.pps.list_datum(job, states=[pps_pb2.FAILED])
    client.pps.restart_datum(job, datum_ids=[bad.datum.id])
    waiting = client.pps.inspect_datum(job, bad.datum.id)
    assert (waiting.state, waiting.reason) == (pps_pb2.STARTING, "restarted; was FAILED")
    client.pps.stop_job(job)
    ended = _assert_ended(server, "edges", set_id, S.JOB_KILLED, "job stopped")
    settled = client.pps.inspect_datum(job, bad.datum.id)
    assert settled.state == pps_pb2.FAILED
    assert settled.reason == f"restarted; was FAILED; not run again: job edges@{set_id} was killed: job stopped"
    assert ended.counts.failed == 1
    assert not [d for d in client.pps.list_datum(job) if d.state == pps_pb2.STARTING]
