"""The long-lived namespace helper behind a reused :class:`Sandbox`: one helper for many
attempts, the right /pfs each time, read-only inputs kept read-only, escapees killed after
every attempt, a helper that dies mid-attempt or between attempts, and the pool.

Real processes throughout; everything here needs a private mount namespace and skips without.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.unit.test_sandbox import marked, sleeper
from tuskd.engine.datum_runner import DatumOutcome, DatumPolicy, clear_dir, run_datum
from tuskd.engine.procs import namespace_id
from tuskd.engine.sandbox import (
    AttemptResult,
    AttemptSpec,
    Isolation,
    Sandbox,
    SandboxPool,
    detect_isolation,
)

pytestmark = pytest.mark.skipif(
    detect_isolation() is not Isolation.NAMESPACE,
    reason="no private mount namespace here (needs root or user namespaces and a /pfs mount point)",
)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_helper_when(path: Path, sandbox: Sandbox) -> None:
    """SIGKILL the sandbox's helper once ``path`` exists (user code cannot: in its PID
    namespace the helper is an init that ignores signals from inside)."""

    def watch() -> None:
        while not path.exists():
            time.sleep(0.005)
        helper = sandbox.helper_pid
        assert helper is not None
        os.kill(helper, signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


class Slot:
    """A worker slot as the engine keeps one: directories that stay, contents that change."""

    def __init__(self, base: Path) -> None:
        self.inputs = base / "in" / "images"
        self.out = base / "out"
        self.scratch = base / "scratch"
        self.inputs.mkdir(parents=True)
        self.out.mkdir()

    def datum(self, files: dict[str, str]) -> None:
        clear_dir(self.inputs)
        clear_dir(self.out)
        for name, text in files.items():
            (self.inputs / name).write_text(text)

    def spec(self, script: str, **kwargs: object) -> AttemptSpec:
        return AttemptSpec(
            cmd=["sh", "-c", script],
            inputs={"images": self.inputs},
            out_dir=self.out,
            scratch_dir=self.scratch,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def slot(tmp_path: Path) -> Slot:
    return Slot(tmp_path / "slot")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    yield box
    box.close()


def run(box: Sandbox, spec: AttemptSpec, cancel: threading.Event | None = None) -> AttemptResult:
    return box.run(spec, cancel or threading.Event())


def test_one_helper_serves_many_attempts_with_the_right_pfs_each_time(slot: Slot, sandbox: Sandbox) -> None:
    helpers = set()
    for n in range(40):
        slot.datum({f"n{n}.txt": f"datum {n}\n"})
        # Lists what /pfs holds, copies the input out, and leaves litter in /pfs itself.
        script = (
            "ls -A /pfs; echo --; ls -A /pfs/images; echo --; ls -A /pfs/out; echo --; "
            "cat /pfs/images/*; cp /pfs/images/* /pfs/out/; touch /pfs/junk"
        )
        result = run(sandbox, slot.spec(script))
        assert result.exit_code == 0, result.log
        assert result.log.decode() == f"images\nout\n--\nn{n}.txt\n--\n--\ndatum {n}\n"
        assert sorted(p.name for p in slot.out.iterdir()) == [f"n{n}.txt"]
        helpers.add(sandbox.helper_pid)
    assert len(helpers) == 1 and None not in helpers


def test_inputs_stay_read_only_even_after_user_code_remounts_them(slot: Slot, sandbox: Sandbox) -> None:
    slot.datum({"a.txt": "alpha\n"})
    # As root in the namespace it shares with the helper, user code can make its input
    # writable for everyone after it; the helper notices and mounts the layout again.
    remount = "mount -o remount,bind,rw /pfs/images && echo x > /pfs/images/w && echo remounted"
    first = run(sandbox, slot.spec(remount))
    if first.exit_code != 0:
        pytest.skip(f"user code cannot remount here: {first.log!r}")
    (slot.inputs / "w").unlink()
    for _ in range(3):
        slot.datum({"a.txt": "alpha\n"})
        result = run(sandbox, slot.spec("echo y > /pfs/images/new || exit 7; echo z > /pfs/images/a.txt"))
        assert result.exit_code == 7
        assert b"Read-only file system" in result.log
        assert sorted(p.name for p in slot.inputs.iterdir()) == ["a.txt"]
        assert (slot.inputs / "a.txt").read_text() == "alpha\n"


def test_a_setsid_daemon_left_by_a_successful_attempt_is_killed(slot: Slot, sandbox: Sandbox) -> None:
    slot.datum({"a.txt": "alpha\n"})
    mark = sleeper()
    script = (
        f"env -i setsid sh -c 'touch /pfs/out/escaped; exec sleep {mark}' > /dev/null 2>&1 & "
        "while [ ! -e /pfs/out/escaped ]; do sleep 0.01; done; echo pid=$!"
    )
    result = run(sandbox, slot.spec(script))
    assert result.exit_code == 0, result.log
    assert marked(mark) == []
    # The helper stays, and holds nothing else (as root: its PID 1 child, that serves).
    helper = sandbox.helper_pid
    assert helper is not None and alive(helper)
    tree = psutil.Process(helper).children(recursive=True)
    assert [c.pid for c in tree if c.status() != psutil.STATUS_ZOMBIE] == list(sandbox.helper_pids[1:])


def test_user_code_gets_only_its_standard_descriptors(slot: Slot, sandbox: Sandbox) -> None:
    slot.datum({"a.txt": "alpha\n"})
    result = run(sandbox, slot.spec("ls /proc/self/fd", stdin=["x"]))
    # 0, 1 and 2, plus the descriptor ls itself opened to read the directory.
    assert sorted(int(fd) for fd in result.log.split()) == [0, 1, 2, 3]


def test_a_helper_killed_mid_attempt_fails_the_attempt_and_the_next_gets_a_new_helper(
    slot: Slot, sandbox: Sandbox
) -> None:
    slot.datum({"a.txt": "alpha\n"})
    mark = sleeper()
    assert run(sandbox, slot.spec("true")).exit_code == 0
    kill_helper_when(slot.out / "ready", sandbox)
    script = f"sleep {mark} & touch /pfs/out/ready; sleep {mark}"
    started = time.monotonic()
    result = run(sandbox, slot.spec(script, timeout=60))
    assert time.monotonic() - started < 30
    assert result.sandbox_error == "sandbox helper died (killed by signal 9)"
    assert result.describe() == "sandbox helper died (killed by signal 9)"
    assert not result.succeeded and result.exit_code is None and not result.timed_out
    assert b"tusk-sandbox: sandbox helper died (killed by signal 9)" in result.log
    assert marked(mark) == []  # what the attempt started died with its helper's namespace
    old = sandbox.helper_pid
    assert old is None
    again = run(sandbox, slot.spec("cat /pfs/images/a.txt"))
    assert (again.exit_code, again.log) == (0, b"alpha\n")
    assert sandbox.helper_pid is not None


def test_a_helper_that_died_between_attempts_is_replaced_silently(slot: Slot, sandbox: Sandbox) -> None:
    slot.datum({"a.txt": "alpha\n"})
    assert run(sandbox, slot.spec("true")).exit_code == 0
    old = sandbox.helper_pid
    assert old is not None
    os.kill(old, signal.SIGKILL)
    while alive(old):
        time.sleep(0.01)
    result = run(sandbox, slot.spec("cat /pfs/images/a.txt"))
    assert (result.exit_code, result.log) == (0, b"alpha\n")
    assert sandbox.helper_pid not in (None, old)


def test_a_datum_retries_after_its_helper_died(slot: Slot, sandbox: Sandbox, tmp_path: Path) -> None:
    slot.datum({"a.txt": "alpha\n"})
    flag = tmp_path / "killed-once"
    script = f"if [ ! -e {flag} ]; then touch {flag} /pfs/out/ready; sleep 1000; fi; cp /pfs/images/a.txt /pfs/out/"
    assert run(sandbox, slot.spec("true")).exit_code == 0
    kill_helper_when(slot.out / "ready", sandbox)

    def make_spec(attempt: int) -> AttemptSpec:
        return slot.spec(script)

    result = run_datum(make_spec, DatumPolicy(tries=2), threading.Event(), sandbox=sandbox)
    assert (result.outcome, result.attempts) == (DatumOutcome.SUCCESS, 2)
    assert b"--- attempt 1 of 2: sandbox helper died (killed by signal 9) ---" in result.log
    assert (slot.out / "a.txt").read_text() == "alpha\n"


def test_cancel_reaches_a_process_started_by_the_helper_quickly(slot: Slot, sandbox: Sandbox) -> None:
    slot.datum({"a.txt": "alpha\n"})
    cancel = threading.Event()
    ready = slot.out / "ready"
    stopped_at: list[float] = []

    def stop() -> None:
        while not ready.exists():
            time.sleep(0.005)
        stopped_at.append(time.monotonic())
        cancel.set()

    threading.Thread(target=stop, daemon=True).start()
    result = run(sandbox, slot.spec("echo pid=$$; touch /pfs/out/ready; sleep 1000 & wait"), cancel)
    assert result.cancelled and result.signal == signal.SIGTERM
    assert time.monotonic() - stopped_at[0] < 0.5  # SIGTERM works at once: no grace needed
    assert run(sandbox, slot.spec("true")).exit_code == 0  # the helper goes on


def test_the_pool_keeps_helpers_across_jobs_and_closing_it_leaves_nothing(tmp_path: Path) -> None:
    pool = SandboxPool(max_idle=2)
    first, second = Slot(tmp_path / "one"), Slot(tmp_path / "two")
    box = pool.acquire()
    first.datum({"a.txt": "one\n"})
    assert run(box, first.spec("cat /pfs/images/a.txt")).log == b"one\n"
    helper = box.helper_pid
    assert helper is not None
    ns = namespace_id(helper)
    pool.release(box)  # the job ended: its layout is unmounted
    again = pool.acquire()
    assert again is box and again.helper_pid == helper
    second.datum({"b.txt": "two\n"})
    assert run(again, second.spec("ls /pfs/images; cat /pfs/images/b.txt")).log == b"b.txt\ntwo\n"
    pool.release(again)
    pool.close()
    assert not alive(helper)
    assert ns is not None
    assert [p for p in psutil.pids() if namespace_id(p) == ns] == []
