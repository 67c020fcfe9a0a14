"""One attempt of user code: /pfs layout, exit codes, timeouts, cancel, process cleanup, output.

Real subprocesses throughout. Tests that need a private mount namespace skip (saying why) where
the probe found none; the fallback mode is exercised explicitly everywhere.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import psutil
import pytest

from tuskd.engine.sandbox import (
    AttemptResult,
    AttemptSpec,
    Isolation,
    _LogBuffer,
    detect_isolation,
    run_attempt,
)

HAS_NAMESPACE = detect_isolation() is Isolation.NAMESPACE
needs_namespace = pytest.mark.skipif(
    not HAS_NAMESPACE,
    reason="no private mount namespace here (needs root or user namespaces, util-linux and a /pfs mount point)",
)
BOTH_MODES = [
    pytest.param(Isolation.NAMESPACE, marks=needs_namespace, id="namespace"),
    pytest.param(Isolation.FALLBACK, id="fallback"),
]
HANG_SECONDS = 30  # generous: only catches a run_attempt that never returns


@dataclass
class Layout:
    input_dir: Path
    out_dir: Path
    scratch: Path

    def spec(self, cmd: list[str], **kwargs: object) -> AttemptSpec:
        base = AttemptSpec(cmd=cmd, inputs={"in": self.input_dir}, out_dir=self.out_dir, scratch_dir=self.scratch)
        return replace(base, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    (input_dir / "a.txt").write_text("alpha\n")
    return Layout(input_dir, tmp_path / "out", tmp_path / "scratch")


def run(spec: AttemptSpec, isolation: Isolation | None = None, cancel: threading.Event | None = None) -> AttemptResult:
    return run_attempt(spec, cancel or threading.Event(), isolation=isolation)


def alive(pid: int) -> bool:
    """A zombie is dead: it only waits for init to collect its exit status."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pids_in(log: bytes) -> list[int]:
    return [int(p) for p in re.findall(rb"pid=(\d+)", log)]


def sleeper() -> str:
    """A ``sleep`` duration unique to the test (``1000.<digits>``): it marks, in their command
    lines, the processes a test starts. Pids printed by user code do not tell: in a PID
    namespace they are not the host's."""
    return f"1000.{uuid.uuid4().int % 10**12:012d}"


def marked(mark: str) -> list[int]:
    """Live processes (zombies are dead) whose command line holds ``mark``, this one aside."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(mark in arg for arg in proc.info["cmdline"] or ()):
            found.append(proc.pid)
    return found


def when_file_appears(path: Path, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` once ``path`` exists: lets a test act only after the child is ready."""

    def watch() -> None:
        deadline = time.monotonic() + HANG_SECONDS
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


# --- the /pfs layout ---------------------------------------------------------------------------


@needs_namespace
def test_code_reads_pfs_input_and_writes_pfs_out(layout: Layout) -> None:
    script = "import shutil; shutil.copy('/pfs/in/a.txt', '/pfs/out/b.txt')"
    result = run(layout.spec([sys.executable, "-c", script]))
    assert result.exit_code == 0, result.log
    assert (layout.out_dir / "b.txt").read_text() == "alpha\n"


@needs_namespace
def test_inputs_are_read_only_and_untouched(layout: Layout) -> None:
    result = run(layout.spec(["sh", "-c", "echo x > /pfs/in/new.txt || exit 7; echo y > /pfs/in/a.txt"]))
    assert result.exit_code == 7
    assert b"Read-only file system" in result.log
    assert sorted(p.name for p in layout.input_dir.iterdir()) == ["a.txt"]
    assert (layout.input_dir / "a.txt").read_text() == "alpha\n"


@needs_namespace
def test_default_working_dir_is_pfs_and_working_dir_applies_after_mounting(layout: Layout) -> None:
    assert run(layout.spec(["pwd"])).log == b"/pfs\n"
    result = run(layout.spec(["sh", "-c", "pwd; cat a.txt"], working_dir="/pfs/in"))
    assert result.log == b"/pfs/in\nalpha\n"
    assert run(layout.spec(["pwd"], working_dir="in")).log == b"/pfs/in\n"


@needs_namespace
def test_concurrent_attempts_each_see_their_own_pfs(tmp_path: Path) -> None:
    results: dict[int, AttemptResult] = {}

    def one(n: int) -> None:
        src = tmp_path / f"in{n}"
        src.mkdir()
        (src / "n").write_text(str(n))
        spec = AttemptSpec(
            cmd=["sh", "-c", "cat /pfs/in/n > /pfs/out/copy; cat /pfs/in/n"],
            inputs={"in": src},
            out_dir=tmp_path / f"out{n}",
            scratch_dir=tmp_path / f"scratch{n}",
        )
        results[n] = run(spec)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_SECONDS)
    for n in range(8):
        assert results[n].log == str(n).encode()
        assert (tmp_path / f"out{n}" / "copy").read_text() == str(n)


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_relative_paths_and_env_paths_work_in_both_modes(layout: Layout, isolation: Isolation) -> None:
    spec = layout.spec(
        ["sh", "-c", 'cat in/a.txt "$in" && echo done > out/b.txt'],
        env={"in": "/pfs/in/a.txt", "PACH_DATUM_ID": "d1"},
    )
    result = run(spec, isolation)
    assert result.exit_code == 0, result.log
    assert result.log == b"alpha\nalpha\n"
    assert (layout.out_dir / "b.txt").read_text() == "done\n"


def test_fallback_rewrites_pfs_env_and_working_dir_to_host_paths(layout: Layout) -> None:
    spec = layout.spec(
        ["sh", "-c", 'pwd; echo "$in"; echo "$OUT"'],
        env={"in": "/pfs/in/a.txt", "OUT": "/pfs/out"},
        working_dir="/pfs/in",
    )
    result = run(spec, Isolation.FALLBACK)
    assert result.exit_code == 0, result.log
    pwd, in_path, out_path = result.log.decode().splitlines()
    assert Path(pwd) == layout.input_dir
    assert Path(in_path) == layout.input_dir / "a.txt"
    assert Path(out_path) == layout.out_dir


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_missing_working_dir_is_a_setup_failure(layout: Layout, isolation: Isolation) -> None:
    result = run(layout.spec(["true"], working_dir="/pfs/nowhere"), isolation)
    assert result.exit_code == 125
    assert b"working directory" in result.log


def test_bad_input_names_are_rejected(layout: Layout) -> None:
    for name in ("out", "a/b", "", ".."):
        with pytest.raises(ValueError, match="input name"):
            run(replace(layout.spec(["true"]), inputs={name: layout.input_dir}))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(replace(layout.spec(["true"]), inputs={"in": layout.input_dir / "missing"}))


# --- environment, stdin, exit codes ------------------------------------------------------------


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_env_is_minimal_plus_spec_env(layout: Layout, isolation: Isolation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUSK_SERVER_SECRET", "do-not-leak")
    spec = layout.spec(["sh", "-c", "env"], env={"PACH_JOB_ID": "j1", "PACH_DATUM_ID": "d1"})
    env = dict(line.split("=", 1) for line in run(spec, isolation).log.decode().splitlines() if "=" in line)
    assert env["PACH_JOB_ID"] == "j1"
    assert env["PACH_DATUM_ID"] == "d1"
    assert "PATH" in env
    assert Path(env["TMPDIR"]).is_relative_to(layout.scratch)
    assert "TUSK_SERVER_SECRET" not in env


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_stdin_lines_are_fed_to_the_command(layout: Layout, isolation: Isolation) -> None:
    spec = layout.spec(["sh"], stdin=["echo one", "echo two >&2", "exit 3"])
    result = run(spec, isolation)
    assert result.exit_code == 3
    assert result.log == b"one\ntwo\n"
    assert result.describe() == "exit code 3"


def test_large_stdin_is_streamed_and_an_unread_stdin_does_not_hang(layout: Layout) -> None:
    lines = ["x" * 1023] * 4096  # 4 MiB: far more than a pipe holds
    assert run(layout.spec(["wc", "-c"], stdin=lines)).log.strip() == b"4194304"
    assert run(layout.spec(["true"], stdin=lines)).exit_code == 0


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_missing_command_exits_127(layout: Layout, isolation: Isolation) -> None:
    result = run(layout.spec(["tusk-no-such-command"]), isolation)
    assert result.exit_code == 127
    assert b"not found" in result.log


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_killed_by_signal(layout: Layout, isolation: Isolation) -> None:
    result = run(layout.spec(["sh", "-c", "kill -9 $$"]), isolation)
    assert (result.exit_code, result.signal) == (None, 9)
    assert result.describe() == "killed by signal 9"


def test_cancel_set_before_start_runs_nothing(layout: Layout) -> None:
    cancel = threading.Event()
    cancel.set()
    result = run(layout.spec(["sh", "-c", "echo ran > /pfs/out/x"]), cancel=cancel)
    assert result.cancelled and result.describe() == "stopped"
    assert result.exit_code is None
    assert not (layout.out_dir / "x").exists()


# --- timeouts, cancel and process cleanup ------------------------------------------------------


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_timeout_kills_the_whole_group_including_a_forked_daemon(layout: Layout, isolation: Isolation) -> None:
    mark = sleeper()
    script = f"sleep {mark} & echo pid=$!; echo pid=$$; sleep {mark}"
    started = time.monotonic()
    result = run(layout.spec(["sh", "-c", script], timeout=2), isolation)
    assert time.monotonic() - started < HANG_SECONDS
    assert result.timed_out
    assert result.describe() == "timed out after 2s"
    assert len(pids_in(result.log)) == 2
    assert marked(mark) == []


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_background_children_do_not_outlive_a_finished_attempt(layout: Layout, isolation: Isolation) -> None:
    mark = sleeper()
    result = run(layout.spec(["sh", "-c", f"sleep {mark} & echo pid=$!"]), isolation)
    assert result.exit_code == 0
    assert len(pids_in(result.log)) == 1
    assert marked(mark) == []


@needs_namespace
def test_processes_that_left_the_group_are_killed_in_namespace_mode(layout: Layout) -> None:
    # The main process waits until the escapee has its own session, so the group kill cannot
    # catch it by luck before setsid().
    mark = sleeper()
    script = (
        f"setsid sh -c 'touch out/escaped; exec sleep {mark}' > /dev/null 2>&1 & "
        "while [ ! -e out/escaped ]; do sleep 0.01; done; echo pid=$!"
    )
    result = run(layout.spec(["sh", "-c", script]))
    assert result.exit_code == 0
    assert len(pids_in(result.log)) == 1
    assert marked(mark) == []


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_a_process_ignoring_sigterm_still_dies(layout: Layout, isolation: Isolation) -> None:
    ready = layout.out_dir / "ready"
    mark = sleeper()
    script = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print(f'pid={os.getpid()}', flush=True)\n"
        "open('out/ready', 'w').close()\n"
        f"time.sleep({mark})\n"
    )
    cancel = threading.Event()
    when_file_appears(ready, cancel.set)
    result = run(layout.spec([sys.executable, "-c", script]), isolation, cancel)
    assert result.cancelled
    assert result.signal == 9
    assert len(pids_in(result.log)) == 1
    assert marked(mark) == []


@pytest.mark.parametrize("isolation", BOTH_MODES)
def test_cancel_stops_a_running_attempt(layout: Layout, isolation: Isolation) -> None:
    cancel = threading.Event()
    stopped_at: list[float] = []

    def stop() -> None:
        stopped_at.append(time.monotonic())
        cancel.set()

    when_file_appears(layout.out_dir / "ready", stop)
    mark = sleeper()
    script = f"echo pid=$$; touch out/ready; sleep {mark} & wait"
    result = run(layout.spec(["sh", "-c", script]), isolation, cancel)
    assert time.monotonic() - stopped_at[0] < HANG_SECONDS
    assert result.cancelled and not result.timed_out
    assert result.describe() == "stopped"
    assert result.signal == 15
    assert marked(mark) == []


# --- output ------------------------------------------------------------------------------------


def test_huge_output_keeps_head_and_tail_in_bounded_memory(layout: Layout) -> None:
    script = (
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'HEAD-MARK')\n"
        "block = b'x' * (1 << 20)\n"
        "for _ in range(200):\n"
        "    out.write(block)\n"
        "out.write(b'TAIL-MARK')\n"
    )
    limit = 1 << 20
    tracemalloc.start()
    try:
        result = run(layout.spec([sys.executable, "-c", script], log_limit=limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0
    assert result.log_truncated
    assert len(result.log) <= limit
    assert result.log.startswith(b"HEAD-MARK")
    assert result.log.endswith(b"TAIL-MARK")
    assert re.search(rb"\[tusk: \d+ bytes of output elided\]", result.log)
    assert peak < 16 * limit, f"peak traced memory {peak} bytes for 200 MiB of output"


def test_output_within_the_limit_is_kept_whole() -> None:
    buf = _LogBuffer(1000)
    for _ in range(1000):
        buf.add(b"y")
    assert buf.value() == (b"y" * 1000, False)
    buf.add(b"z")
    log, truncated = buf.value()
    assert truncated and len(log) <= 1000 and log.startswith(b"y") and log.endswith(b"z")


def test_tiny_log_limit_keeps_only_the_head() -> None:
    buf = _LogBuffer(10)
    buf.add(b"0123456789abcdef")
    assert buf.value() == (b"0123456789", True)


def test_describe_formats_timeouts() -> None:
    result = AttemptResult(
        exit_code=None,
        signal=15,
        timed_out=True,
        cancelled=False,
        duration=30.4,
        log=b"",
        log_truncated=False,
        timeout=30.0,
    )
    assert result.describe() == "timed out after 30s"
    assert replace(result, timeout=0.5).describe() == "timed out after 0.5s"


def test_no_file_descriptors_leak(layout: Layout) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        run(layout.spec(["sh", "-c", "echo hi"], stdin=["x"]))
    assert len(os.listdir("/proc/self/fd")) <= before
