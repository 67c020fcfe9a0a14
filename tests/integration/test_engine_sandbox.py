"""The engine's namespace helpers on a real server: one per worker slot, reused datum after
datum and job after job, every datum seeing exactly its own /pfs; daemons that leave their
process group die with their datum; a helper that dies mid-job fails (or retries) only the
attempt it was running. Needs a private mount namespace (skips without).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import (
    BG,
    S,
    create_pipeline,
    create_repo,
    datums,
    files,
    make_spec,
    pfs_in,
    pid_alive,
    progress,
    put,
    wait_job,
)
from tests.unit.test_sandbox import sleeper
from tuskd.domain.states import DatumState
from tuskd.engine.sandbox import Isolation, detect_isolation

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        detect_isolation() is not Isolation.NAMESPACE,
        reason="no private mount namespace here (needs root or user namespaces and a /pfs mount point)",
    ),
]


def kill_helper_running(mark: str) -> None:
    """In the background: SIGKILL the sandbox helper (of this process's server) whose tree runs
    ``sleep <mark>``, once there is one. (User code cannot kill its
    helper: as root, the helper's PID 1 ignores signals from inside its namespace.)"""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for helper in psutil.Process().children():
                with contextlib.suppress(psutil.Error):
                    if not any(part.endswith("zygote.py") for part in helper.cmdline()):
                        continue
                    # The `sleep` itself, not the shell whose script names the mark: killing the
                    # helper before the script's first step would let the retry take that step.
                    if any(p.cmdline()[-1:] == [mark] for p in helper.children(recursive=True)):
                        os.kill(helper.pid, signal.SIGKILL)
                        return
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()


def helpers() -> set[int]:
    """The sandbox helpers of the in-process server (children of this process)."""
    return {
        child.pid
        for child in psutil.Process().children()
        if any(part.endswith("zygote.py") for part in child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE
    }


# Fails unless /pfs holds exactly this datum's input and an empty out dir; then copies it.
EXACT = (
    '[ "$(ls -A /pfs)" = "$(printf "images\\nout")" ] || { echo "pfs: $(ls -A /pfs)"; exit 3; }; '
    '[ "$(ls -A /pfs/images)" = "$(basename "$images")" ] || { echo "stale: $(ls -A /pfs/images)"; exit 4; }; '
    '[ -z "$(ls -A /pfs/out)" ] || { echo "out not empty"; exit 5; }; '
    'tr a-z A-Z < "$images" > "/pfs/out/$(basename "$images")"; touch /pfs/litter'
)


def test_helpers_serve_datum_after_datum_and_job_after_job_with_exact_pfs(server: RunningServer) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("upper", EXACT, pfs_in("images"), parallelism=2))
    before = helpers()
    first = put(server, "images", {f"/f{i:02d}": f"file {i}\n".encode() for i in range(40)})
    j1 = wait_job(server, "upper", first)
    assert (j1.state, progress(j1), j1.reason) == (S.JOB_SUCCESS, "40 + 0 / 40", "")
    assert files(server, "upper", first) == {f"/f{i:02d}": f"FILE {i}\n".encode() for i in range(40)}
    used = helpers() - before
    assert 1 <= len(used) <= 2  # one per worker slot, whatever the number of datums

    second = put(server, "images", {f"/g{i:02d}": f"more {i}\n".encode() for i in range(10)})
    j2 = wait_job(server, "upper", second)
    assert (j2.state, progress(j2)) == (S.JOB_SUCCESS, "10 + 40 / 50")
    assert files(server, "upper", second)["/g09"] == b"MORE 9\n"
    assert helpers() - before == used  # the same helpers: kept by the pool between jobs


def test_daemons_that_left_their_group_die_with_their_datum(server: RunningServer, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    create_repo(server, "images")
    # A daemon in its own session, with an empty environment (no marker to find it by).
    script = f'env -i setsid sleep 1000 < /dev/null > /dev/null 2>&1 & {BG} >> "$PIDS"; cp "$images" /pfs/out/'
    create_pipeline(server, make_spec("daemons", script, pfs_in("images"), env={"PIDS": str(pids)}))
    c = put(server, "images", {f"/f{i}": b"x" for i in range(6)})
    j = wait_job(server, "daemons", c)
    assert (j.state, progress(j)) == (S.JOB_SUCCESS, "6 + 0 / 6")
    recorded = pids.read_text().split()
    assert len(recorded) == 6
    assert [p for p in recorded if pid_alive(p)] == []


def test_a_helper_killed_mid_job_costs_one_attempt_and_a_new_helper_takes_over(
    server: RunningServer, tmp_path: Path
) -> None:
    flag = tmp_path / "killed"
    create_repo(server, "images")
    # The first datum to run has its helper killed once; every datum then succeeds.
    mark = sleeper()
    script = f'if mkdir {flag} 2>/dev/null; then sleep {mark}; fi; cp "$images" /pfs/out/'
    kill_helper_running(mark)
    create_pipeline(server, make_spec("victim", script, pfs_in("images"), datum_tries=2))
    c = put(server, "images", {f"/f{i}": f"{i}".encode() for i in range(5)})
    j = wait_job(server, "victim", c)
    assert (j.state, progress(j), j.reason) == (S.JOB_SUCCESS, "5 + 0 / 5", "")
    assert files(server, "victim", c) == {f"/f{i}": f"{i}".encode() for i in range(5)}
    rows = datums(server, "victim", c)
    assert sorted(d.record.attempts for d in rows) == [1, 1, 1, 1, 2]
    [retried] = [d.record for d in rows if d.record.attempts == 2]
    [log] = list(server.deps.engine.logs.read_logs("default", "victim", c, retried.id))
    assert b"--- attempt 1 of 2: sandbox helper died (killed by signal 9) ---" in log.data


def test_a_helper_killed_on_the_last_try_fails_the_datum_with_that_reason(
    server: RunningServer, tmp_path: Path
) -> None:
    create_repo(server, "images")
    mark = sleeper()
    kill_helper_running(mark)
    create_pipeline(server, make_spec("victim", f"sleep {mark}", pfs_in("images"), datum_tries=1))
    c = put(server, "images", {"/a": b"a"})
    j = wait_job(server, "victim", c)
    [d] = datums(server, "victim", c)
    assert d.record.state == DatumState.FAILED
    assert d.record.reason == "sandbox helper died (killed by signal 9) (attempt 1 of 1)"
    assert (j.state, j.reason) == (S.JOB_FAILURE, f"datum {d.record.id} failed: {d.record.reason}")
