"""Restart after a crash: a `tusk serve` process is SIGKILLed in the middle of a job and started again.

The job resumes with ``restart`` + 1, the datums recorded before the crash are not run again, no
user process from before the crash survives the restart, and the output is what an uninterrupted
run gives. Each datum appends its ID and its shell's PID to host files outside the sandbox (the
namespace hides only /pfs), which is how the test sees what ran.

User code runs under sandbox helpers (engine/zygote.py, children of the server): when the server
dies they kill what they started and exit on their own; when they are killed with it, the
restarted server kills what they left (found by its marker, and by the helpers' namespaces for
processes that cleared their environment).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import ServerProcess
from tests.integration.test_engine import BG, ME, make_spec, pfs_in, pid_alive, wait_for
from tuskd.config import ServerConfig
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.states import DatumState, JobState, is_datum_done
from tuskd.engine.logs import DatumLogs
from tuskd.services.jobs import from_snapshot
from tuskd.store.sqlite import SqliteStore
from tuskd.store.sqlite_pps import SqlitePpsTx
from tuskd.wiring import open_deps

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

FILES = {f"/f{i}": f"content {i}\n".encode() for i in range(6)}


def helper_pids(server: ServerProcess) -> list[int]:
    """The server's sandbox helpers (its zygote.py children)."""
    return [
        child.pid
        for child in psutil.Process(server.proc.pid).children()
        if any(part.endswith("zygote.py") for part in child.cmdline())
    ]


def _read(data_dir: Path, key: JobKey) -> tuple[Job, list[Job], dict[str, DatumState]]:
    """The job, its change history and its datums' states, straight from the metadata store."""
    store = SqliteStore(data_dir / "metadata.db")
    try:
        with store.read() as tx:
            t = SqlitePpsTx(tx)
            row = t.get_job(key)
            assert row is not None
            changes = [from_snapshot(e.snapshot) for e in t.job_events(row.row, 0)]
            datums = {d.record.id: d.record.state for d in t.list_datums(row.row)}
            return row.job, changes, datums
    finally:
        store.close()


def test_sigkill_mid_job_resumes_without_rerunning_finished_datums(
    tmp_path: Path, server_process: Callable[..., ServerProcess]
) -> None:
    data_dir = tmp_path / "data"
    ran = tmp_path / "ran"
    pids = tmp_path / "pids"
    script = (
        f'echo "$PACH_DATUM_ID" >> "$RAN"; {ME} >> "$PIDS"; sleep 0.4; cp "$images" /pfs/out/; echo copied "$images"'
    )

    # Set the scene with the engine not running: a pipeline and a commit of 6 files (job CREATED).
    deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=data_dir))
    try:
        deps.pfs.create_repo(RepoKey.of("images"))
        deps.pipelines.create(make_spec("edges", script, pfs_in("images"), env={"RAN": str(ran), "PIDS": str(pids)}))
        session = deps.pfs.begin_modify(CommitRef(RepoKey.of("images"), branch="master"))
        for path, data in FILES.items():
            session.add_file(path, [data])
        commit = session.commit().commit.id
    finally:
        deps.close()
    key = JobKey("default", "edges", commit)

    first = server_process(data_dir=data_dir)
    wait_for(lambda: ran.exists() and len(ran.read_text().split()) >= 3, timeout=30, what="three datums started")
    time.sleep(0.15)  # let a finished datum be recorded, so "done before the crash" is not empty
    helpers = helper_pids(first)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)

    before, _, datums_before = _read(data_dir, key)
    done_before = {d for d, s in datums_before.items() if is_datum_done(s)}
    assert before.state == JobState.JOB_RUNNING and before.restart == 0
    assert 1 <= len(done_before) < len(FILES)
    old_pids: list[int | str] = list(pids.read_text().split())
    assert old_pids and helpers
    # The helpers see the server go, kill what they started, and exit.
    wait_for(lambda: not any(pid_alive(p) for p in old_pids + helpers), timeout=10, what="the helpers to clean up")

    second = server_process(data_dir=data_dir)
    assert [p for p in old_pids + helpers if pid_alive(p)] == []

    def finished() -> bool:
        return _read(data_dir, key)[0].state == JobState.JOB_SUCCESS

    wait_for(finished, timeout=60, what="the job to finish after the restart")
    after, changes, datums_after = _read(data_dir, key)
    assert after.restart == 1
    assert (after.counts.processed, after.counts.skipped, after.total) == (len(FILES), 0, len(FILES))
    assert set(datums_after.values()) == {DatumState.SUCCESS} and len(datums_after) == len(FILES)
    runs = ran.read_text().split()
    assert set(runs) == set(datums_after)
    for datum_id in done_before:
        assert runs.count(datum_id) == 1, f"datum {datum_id} finished before the crash but ran again"
    assert len(runs) <= len(FILES) + 2  # at most the datums in flight (or unrecorded) at the crash rerun
    # Counters never went backwards, across the restart too; the restart went through STARTING.
    for a, b in itertools.pairwise(changes):
        assert b.counts.processed >= a.counts.processed
    walked = [s for s, _ in itertools.groupby(c.state for c in changes)]
    assert walked == [
        JobState.JOB_CREATED,
        JobState.JOB_STARTING,
        JobState.JOB_RUNNING,
        JobState.JOB_STARTING,
        JobState.JOB_RUNNING,
        JobState.JOB_FINISHING,
        JobState.JOB_SUCCESS,
    ]

    second.proc.send_signal(signal.SIGTERM)
    second.proc.wait(timeout=30)
    deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=data_dir))
    try:
        out = CommitRef(RepoKey.of("edges"), id=commit)
        got = {f.path: b"".join(deps.pfs.get_file(out, f.path)) for f in deps.pfs.walk_files(out, "/") if f.blob}
        assert got == FILES  # the same output as an uninterrupted run
    finally:
        deps.close()
    assert not (data_dir / "work").exists() or not any((data_dir / "work").iterdir())
    logs = list(DatumLogs(data_dir / "logs").read_logs("default", "edges", commit))
    assert sorted(entry.datum_id for entry in logs) == sorted(datums_after)
    assert all(entry.lines()[-1].startswith("copied /pfs/images/f") for entry in logs)


def test_restart_kills_what_killed_helpers_left_behind(
    tmp_path: Path, server_process: Callable[..., ServerProcess]
) -> None:
    """Server and helpers SIGKILLed together: the user processes live on (init adopts them), a
    daemon that cleared its environment and left the group too; the restart kills them all."""
    data_dir = tmp_path / "data"
    pids = tmp_path / "pids"
    flag = tmp_path / "ran-once"
    script = (
        'if [ -e "$FLAG" ]; then cp "$images" /pfs/out/; exit 0; fi; touch "$FLAG"; '
        f'env -i setsid sleep 1000 & {BG} >> "$PIDS"; '
        f'{ME} >> "$PIDS"; sleep 1000'
    )
    deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=data_dir))
    try:
        deps.pfs.create_repo(RepoKey.of("images"))
        deps.pipelines.create(make_spec("edges", script, pfs_in("images"), env={"FLAG": str(flag), "PIDS": str(pids)}))
        session = deps.pfs.begin_modify(CommitRef(RepoKey.of("images"), branch="master"))
        session.add_file("/f0", [b"content\n"])
        commit = session.commit().commit.id
    finally:
        deps.close()

    first = server_process(data_dir=data_dir)
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) >= 2, timeout=30, what="the datum to start")
    helpers = helper_pids(first)
    assert helpers
    first.proc.send_signal(signal.SIGSTOP)  # so it cannot react to its helpers' death
    for pid in helpers:
        os.kill(pid, signal.SIGKILL)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    daemon, main = pids.read_text().split()
    wait_for(lambda: not any(pid_alive(p) for p in helpers), what="the helpers to die")
    if os.geteuid() == 0:
        # As root user code has its own PID namespace: it died with the helper, its init.
        wait_for(lambda: not pid_alive(daemon) and not pid_alive(main), what="the namespace to die")
    else:
        assert pid_alive(daemon) and pid_alive(main), "user processes outlive helpers killed with the server"
        with open(f"/proc/{daemon.partition(':')[0]}/environ", "rb") as fh:
            assert b"TUSK_ENGINE_ID" not in fh.read()  # only its namespace gives it away

    second = server_process(data_dir=data_dir)
    assert not pid_alive(daemon) and not pid_alive(main)  # killed before the server serves
    wait_for(
        lambda: _read(data_dir, JobKey("default", "edges", commit))[0].state == JobState.JOB_SUCCESS,
        timeout=30,
        what="the resumed job",
    )
    second.proc.send_signal(signal.SIGTERM)
    second.proc.wait(timeout=30)
