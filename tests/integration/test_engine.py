"""The job engine end to end on a real server: real PFS commits, real pipelines, real user processes.

Pipelines are created through the server's PipelineService and data is written through its
PfsService (in process, on the server under test); the engine then does everything on its own
threads: job states, datums, skipping, retries, outputs, egress, stops and timeouts. User code
runs for real in the sandbox; tests that need to see across attempts or processes pass a host
path outside /pfs through the environment.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil
import pytest

from tests.conftest import RunningServer
from tuskd.domain.inputs import Input, PfsInput
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineSpec, Transform
from tuskd.domain.states import DatumState, JobState
from tuskd.services.jobs import from_snapshot
from tuskd.store.pps import DatumRow, JobQuery

pytestmark = pytest.mark.timeout(60)

S = JobState

# --------------------------------------------------------------------------------------------
# Helpers (shared with the other test_engine_* modules)
# --------------------------------------------------------------------------------------------


def pfs_in(repo: str, glob: str = "/*", **kwargs: object) -> Input:
    return Input(pfs=PfsInput(repo=repo, glob=glob, **kwargs))  # type: ignore[arg-type]


def make_spec(name: str, cmd: Sequence[str] | str, input: Input, **kwargs: object) -> PipelineSpec:
    """A pipeline spec; a string ``cmd`` runs under ``sh -c``. ``env`` may be given as a dict."""
    command = ("sh", "-c", cmd) if isinstance(cmd, str) else tuple(cmd)
    transform_fields = {
        k: kwargs.pop(k)
        for k in list(kwargs)
        if k in ("stdin", "err_cmd", "err_stdin", "env", "accept_return_code", "working_dir")
    }
    if isinstance(transform_fields.get("env"), dict):
        transform_fields["env"] = tuple(sorted(transform_fields["env"].items()))  # type: ignore[union-attr]
    for key in ("stdin", "err_cmd", "err_stdin", "accept_return_code"):
        if key in transform_fields:
            transform_fields[key] = tuple(transform_fields[key])  # type: ignore[call-overload]
    transform = Transform(cmd=command, **transform_fields)  # type: ignore[arg-type]
    return PipelineSpec(name=name, transform=transform, input=input, **kwargs)  # type: ignore[arg-type]


def create_repo(server: RunningServer, name: str) -> None:
    server.deps.pfs.create_repo(RepoKey.of(name))


def create_pipeline(server: RunningServer, spec: PipelineSpec) -> None:
    server.deps.pipelines.create(spec)


def put(server: RunningServer, repo: str, files: dict[str, bytes], delete: Sequence[str] = ()) -> str:
    """One commit to ``repo@master`` writing ``files`` (and deleting ``delete``); its ID."""
    session = server.deps.pfs.begin_modify(CommitRef(RepoKey.of(repo), branch="master"))
    for path in delete:
        session.delete_file(path)
    for path, data in files.items():
        session.add_file(path, [data])
    return session.commit().commit.id


def job(server: RunningServer, pipeline: str, job_id: str) -> Job:
    return server.deps.jobs.get(JobKey("default", pipeline, job_id)).job


def wait_job(server: RunningServer, pipeline: str, job_id: str, timeout: float = 30) -> Job:
    done = server.deps.jobs.wait_terminal(JobKey("default", pipeline, job_id), timeout=timeout)
    assert done.terminal, f"job {pipeline}@{job_id} still {done.state.name} after {timeout}s"
    return done


def jobs_of(server: RunningServer, pipeline: str) -> list[Job]:
    """The pipeline's jobs, newest first."""
    with server.deps.store.read() as tx:
        return [r.job for r in server.deps.jobs.tables(tx).list_jobs(JobQuery(pipeline=pipeline))]


def wait_all(server: RunningServer, pipeline: str, count: int, timeout: float = 30) -> list[Job]:
    """Wait until the pipeline has ``count`` jobs, all terminal; newest first."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = jobs_of(server, pipeline)
        if len(jobs) >= count and all(j.terminal for j in jobs):
            return jobs
        assert time.monotonic() < deadline, [(j.key.id, j.state.name) for j in jobs]
        time.sleep(0.02)


def history(server: RunningServer, pipeline: str, job_id: str) -> list[Job]:
    """Every recorded change of the job, oldest first."""
    with server.deps.store.read() as tx:
        t = server.deps.jobs.tables(tx)
        row = t.get_job(JobKey("default", pipeline, job_id))
        assert row is not None
        return [from_snapshot(e.snapshot) for e in t.job_events(row.row, 0)]


def states(server: RunningServer, pipeline: str, job_id: str) -> list[JobState]:
    out: list[JobState] = []
    for change in history(server, pipeline, job_id):
        if not out or out[-1] != change.state:
            out.append(change.state)
    return out


def datums(server: RunningServer, pipeline: str, job_id: str) -> list[DatumRow]:
    with server.deps.store.read() as tx:
        t = server.deps.jobs.tables(tx)
        row = t.get_job(JobKey("default", pipeline, job_id))
        assert row is not None
        return t.list_datums(row.row)


def files(server: RunningServer, repo: str, commit_id: str) -> dict[str, bytes]:
    ref = CommitRef(RepoKey.of(repo), id=commit_id)
    return {
        info.path: b"".join(server.deps.pfs.get_file(ref, info.path))
        for info in server.deps.pfs.walk_files(ref, "/")
        if info.blob is not None
    }


def commit_error(server: RunningServer, repo: str, commit_id: str) -> str:
    return server.deps.pfs.inspect_commit(CommitRef(RepoKey.of(repo), id=commit_id)).error


def progress(j: Job) -> str:
    c = j.counts
    if c.recovered:
        return f"{c.processed} + {c.skipped} + {c.recovered} / {j.total}"
    return f"{c.processed} + {c.skipped} / {j.total}"


def wait_for(predicate: Callable[[], object], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


ME = 'echo $$:$(readlink /proc/self/ns/pid):$(cut -d" " -f22 /proc/$$/stat)'
"""Shell: print the shell's pid for :func:`pid_alive` (with its PID namespace and start time)."""
BG = ME.replace("$$", "$!")
"""Shell: the same for the last background process."""


def pid_alive(pid: int | str) -> bool:
    """Whether a process lives (zombies are dead). ``pid`` is a host pid, or what user code
    printed with :data:`ME`: a pid in its own PID namespace (the sandbox gives it one as root),
    found here by namespace, ``NSpid`` and start time (namespace numbers are reused)."""
    if isinstance(pid, str):
        number, _, rest = pid.partition(":")
        ns, _, started = rest.rpartition(":")
        if ns and ns != os.readlink("/proc/self/ns/pid"):
            found = [p for p in psutil.pids() if _in_namespace(p, ns, int(number), started)]
            return any(pid_alive(p) for p in found)
        pid = int(number)
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


def _in_namespace(pid: int, ns: str, nspid: int, started: str) -> bool:
    try:
        if os.readlink(f"/proc/{pid}/ns/pid") != ns:
            return False
        with open(f"/proc/{pid}/status", "rb") as fh:
            line = next(line for line in fh if line.startswith(b"NSpid:"))
        with open(f"/proc/{pid}/stat", "rb") as fh:
            start = fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, StopIteration):
        return False
    return int(line.split()[-1]) == nspid and start == started


def assert_monotonic(changes: Sequence[Job]) -> None:
    """Counters never go backwards across a job's recorded changes."""
    for before, after in itertools.pairwise(changes):
        for name in ("processed", "skipped", "failed", "recovered"):
            assert getattr(after.counts, name) >= getattr(before.counts, name), (name, before, after)
        assert after.total >= before.total or after.total == before.total


# --------------------------------------------------------------------------------------------
# The seed scenario
# --------------------------------------------------------------------------------------------


COPY = 'for f in /pfs/images/*; do tr a-z A-Z < "$f" > /pfs/out/$(basename "$f"); done; echo processed $images'


def test_seed_scenario_progress_skips_and_carried_outputs(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("edges", COPY, pfs_in("images", "/*")))
    [first] = wait_all(server, "edges", 1)
    assert (first.state, progress(first)) == (S.JOB_SUCCESS, "0 + 0 / 0")

    one = put(server, "images", {"/a.png": b"alpha"})
    j2 = wait_job(server, "edges", one)
    assert (j2.state, progress(j2), j2.reason) == (S.JOB_SUCCESS, "1 + 0 / 1", "")
    assert files(server, "edges", one) == {"/a.png": b"ALPHA"}

    two = put(server, "images", {"/b.png": b"bravo", "/c.png": b"charlie"})
    j3 = wait_job(server, "edges", two)
    assert (j3.state, progress(j3)) == (S.JOB_SUCCESS, "2 + 1 / 3")
    assert files(server, "edges", two) == {"/a.png": b"ALPHA", "/b.png": b"BRAVO", "/c.png": b"CHARLIE"}

    jobs = wait_all(server, "edges", 3)
    assert [progress(j) for j in jobs] == ["2 + 1 / 3", "1 + 0 / 1", "0 + 0 / 0"]
    assert all(j.state == S.JOB_SUCCESS for j in jobs)
    # The job, its output commit and its input commit share the commit set's ID.
    assert [j.key.id for j in jobs] == [two, one, first.key.id]
    rows = {json.loads(d.inputs_json)[0]["path"]: d.record for d in datums(server, "edges", two)}
    assert {p: r.state for p, r in rows.items()} == {
        "/a.png": DatumState.SKIPPED,
        "/b.png": DatumState.SUCCESS,
        "/c.png": DatumState.SUCCESS,
    }
    # Every job walks the whole path, zero-datum jobs included; stats are recorded.
    for j in jobs:
        assert states(server, "edges", j.key.id) == [
            S.JOB_CREATED,
            S.JOB_STARTING,
            S.JOB_RUNNING,
            S.JOB_FINISHING,
            S.JOB_SUCCESS,
        ]
    assert j3.stats.download_bytes == len(b"bravo") + len(b"charlie")
    assert j3.stats.upload_bytes == len(b"BRAVO") + len(b"CHARLIE")
    assert j3.started and j3.finished >= j3.started
    # Logs are kept per datum and read back by pipeline, job and datum.
    logs = list(server.deps.engine.logs.read_logs("default", "edges", job_id=two))
    assert sorted(entry.lines()[0] for entry in logs) == ["processed /pfs/images/b.png", "processed /pfs/images/c.png"]
    one_log = list(server.deps.engine.logs.read_logs("default", "edges", two, rows["/b.png"].id))
    assert [entry.data for entry in one_log] == [b"processed /pfs/images/b.png\n"]


def test_deleted_input_drops_its_output_and_changed_content_reruns(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("edges", COPY, pfs_in("images", "/*")))
    c1 = put(server, "images", {"/a": b"a", "/b": b"b", "/c": b"c"})
    assert progress(wait_job(server, "edges", c1)) == "3 + 0 / 3"
    c2 = put(server, "images", {"/b": b"bee"}, delete=["/c"])
    j = wait_job(server, "edges", c2)
    assert (j.state, progress(j)) == (S.JOB_SUCCESS, "1 + 1 / 2")
    assert files(server, "edges", c2) == {"/a": b"A", "/b": b"BEE"}


def test_reprocess_every_job_disables_skipping(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("edges", COPY, pfs_in("images", "/*"), reprocess_spec="every_job"))
    c1 = put(server, "images", {"/a": b"a"})
    wait_job(server, "edges", c1)
    c2 = put(server, "images", {"/b": b"b"})
    assert progress(wait_job(server, "edges", c2)) == "2 + 0 / 2"


# --------------------------------------------------------------------------------------------
# Zero datums, failures, retries, recovery, timeouts
# --------------------------------------------------------------------------------------------


def test_zero_datum_job_succeeds_through_every_state(server: RunningServer) -> None:
    create_repo(server, "images")
    put(server, "images", {"/a.txt": b"x"})
    create_pipeline(server, make_spec("none", "exit 9", pfs_in("images", "/nothing-matches-*")))
    [j] = wait_all(server, "none", 1)
    assert (j.state, progress(j), j.reason) == (S.JOB_SUCCESS, "0 + 0 / 0", "")
    assert states(server, "none", j.key.id) == [
        S.JOB_CREATED,
        S.JOB_STARTING,
        S.JOB_RUNNING,
        S.JOB_FINISHING,
        S.JOB_SUCCESS,
    ]
    assert files(server, "none", j.key.id) == {}


def test_failure_has_the_exact_reason_and_fails_the_output_commit(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(
        server,
        make_spec(
            "edges", 'case "$images" in *bad*) echo boom >&2; exit 3;; esac; cp "$images" /pfs/out/', pfs_in("images")
        ),
    )
    c = put(server, "images", {"/bad": b"1", "/good": b"2"})
    j = wait_job(server, "edges", c)
    rows = {json.loads(d.inputs_json)[0]["path"]: d.record for d in datums(server, "edges", c)}
    bad = rows["/bad"]
    assert j.state == S.JOB_FAILURE
    assert j.reason == f"datum {bad.id} failed: exit code 3 (attempt 3 of 3)"
    assert (j.counts.processed, j.counts.failed, j.total) == (1, 1, 2)
    assert (bad.state, bad.attempts, bad.reason) == (DatumState.FAILED, 3, "exit code 3 (attempt 3 of 3)")
    assert rows["/good"].state == DatumState.SUCCESS
    assert commit_error(server, "edges", c) == f"job edges@{c} failed: {j.reason}"
    assert states(server, "edges", c)[-2:] == [S.JOB_RUNNING, S.JOB_FAILURE]
    [log] = server.deps.engine.logs.read_logs("default", "edges", c, bad.id)
    assert log.lines().count("boom") == 3
    # Skipping compares with the last *successful* job: after a failure everything runs again.
    c2 = put(server, "images", {"/other": b"3"})
    j2 = wait_job(server, "edges", c2)
    assert (j2.counts.processed, j2.counts.skipped, j2.counts.failed) == (2, 0, 1)


def test_retries_until_an_attempt_succeeds(server: RunningServer, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    create_repo(server, "images")
    script = 'n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER"; echo try $n > /pfs/out/x; [ $n -ge 3 ]'
    create_pipeline(server, make_spec("retry", script, pfs_in("images", "/"), env={"COUNTER": str(counter)}))
    c = put(server, "images", {"/a": b"a"})
    j = wait_job(server, "retry", c)
    assert (j.state, progress(j)) == (S.JOB_SUCCESS, "1 + 0 / 1")
    [d] = datums(server, "retry", c)
    assert (d.record.state, d.record.attempts) == (DatumState.SUCCESS, 3)
    assert files(server, "retry", c) == {"/x": b"try 3\n"}


def test_accept_return_code_counts_as_success(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(
        server, make_spec("ok", "echo hi > /pfs/out/x; exit 7", pfs_in("images", "/"), accept_return_code=[7])
    )
    c = put(server, "images", {"/a": b"a"})
    assert wait_job(server, "ok", c).state == S.JOB_SUCCESS
    assert files(server, "ok", c) == {"/x": b"hi\n"}


def test_err_cmd_recovers_a_datum_and_it_is_retried_next_job(server: RunningServer) -> None:
    create_repo(server, "images")
    spec = make_spec(
        "rec",
        'case "$images" in *bad*) echo partial > /pfs/out/partial; exit 1;; esac; cp "$images" /pfs/out/',
        pfs_in("images"),
        err_cmd=["sh", "-c", "exit 0"],
        datum_tries=2,
    )
    create_pipeline(server, spec)
    c = put(server, "images", {"/bad": b"1", "/good": b"2"})
    j = wait_job(server, "rec", c)
    assert (j.state, progress(j), j.reason) == (S.JOB_SUCCESS, "1 + 0 + 1 / 2", "")
    assert files(server, "rec", c) == {"/good": b"2"}  # a recovered datum writes no output
    recovered = [d.record for d in datums(server, "rec", c) if d.record.state == DatumState.RECOVERED]
    assert [r.reason for r in recovered] == ["recovered by err_cmd after exit code 1 (attempt 2 of 2)"]
    c2 = put(server, "images", {"/more": b"3"})
    j2 = wait_job(server, "rec", c2)
    assert progress(j2) == "1 + 1 + 1 / 3"  # recovered again, never skipped


def test_err_cmd_that_fails_leaves_the_datum_failed(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("rec", "exit 2", pfs_in("images"), err_cmd=["false"], datum_tries=1))
    c = put(server, "images", {"/a": b"1"})
    j = wait_job(server, "rec", c)
    assert j.state == S.JOB_FAILURE and j.reason.endswith("failed: exit code 2 (attempt 1 of 1)")


def test_datum_timeout_fails_with_the_timeout_reason(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("slow", "sleep 30", pfs_in("images"), datum_timeout=0.3, datum_tries=1))
    c = put(server, "images", {"/a": b"1"})
    j = wait_job(server, "slow", c)
    [d] = datums(server, "slow", c)
    assert j.state == S.JOB_FAILURE
    assert j.reason == f"datum {d.record.id} failed: timed out after 0.3s (attempt 1 of 1)"


def test_user_code_sees_pachyderm_env_and_stdin(server: RunningServer) -> None:
    create_repo(server, "images")
    script = (
        'read line; echo "$line|$PACH_JOB_ID|$PACH_OUTPUT_COMMIT_ID|$PACH_DATUM_ID|$images|$GREETING" > /pfs/out/env'
    )
    create_pipeline(
        server,
        make_spec("env", ["sh", "-c", script], pfs_in("images", "/*"), stdin=["from stdin"], env={"GREETING": "hello"}),
    )
    c = put(server, "images", {"/dir/a": b"1"})
    assert wait_job(server, "env", c).state == S.JOB_SUCCESS
    [d] = datums(server, "env", c)
    assert files(server, "env", c) == {"/env": f"from stdin|{c}|{c}|{d.record.id}|/pfs/images/dir|hello\n".encode()}


def test_same_output_path_from_several_datums_is_concatenated_in_datum_id_order(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("merge", 'cat "$images" >> /pfs/out/all', pfs_in("images")))
    c = put(server, "images", {"/a": b"A\n", "/b": b"B\n", "/c": b"C\n"})
    assert wait_job(server, "merge", c).state == S.JOB_SUCCESS
    order = sorted((d.record.id, json.loads(d.inputs_json)[0]["path"]) for d in datums(server, "merge", c))
    expected = b"".join({"/a": b"A\n", "/b": b"B\n", "/c": b"C\n"}[path] for _, path in order)
    assert files(server, "merge", c) == {"/all": expected}


# --------------------------------------------------------------------------------------------
# Counters
# --------------------------------------------------------------------------------------------


def test_counters_update_live_and_never_go_backwards(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("live", 'sleep 0.15; cp "$images" /pfs/out/', pfs_in("images"), parallelism=2))
    c = put(server, "images", {f"/{i}": str(i).encode() for i in range(8)})
    j = wait_job(server, "live", c)
    assert (j.state, progress(j)) == (S.JOB_SUCCESS, "8 + 0 / 8")
    changes = history(server, "live", c)
    assert_monotonic(changes)
    running = [ch for ch in changes if ch.state == S.JOB_RUNNING]
    assert running[0].total == 8  # known as RUNNING starts
    seen = sorted({ch.counts.processed for ch in running})
    assert len(seen) >= 3, seen  # progress was recorded while the job ran, not only at the end
    c2 = put(server, "images", {"/8": b"8"})
    j2 = wait_job(server, "live", c2)
    assert progress(j2) == "1 + 8 / 9"
    assert_monotonic(history(server, "live", c2))
