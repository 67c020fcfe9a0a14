"""Retries, accept_return_code, err_cmd recovery and cancellation of one datum (real processes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tuskd.engine.datum_runner import DatumOutcome, DatumPolicy, DatumResult, clear_dir, run_datum
from tuskd.engine.sandbox import AttemptResult, AttemptSpec, Isolation, detect_isolation

needs_namespace = pytest.mark.skipif(
    detect_isolation() is not Isolation.NAMESPACE,
    reason="no private mount namespace here (needs root or user namespaces, util-linux and a /pfs mount point)",
)
HANG_SECONDS = 30


class Datum:
    """One datum's directories and a make_spec that runs ``script`` with ATTEMPT=<n> set."""

    def __init__(self, tmp_path: Path, script: str) -> None:
        self.input_dir = tmp_path / "input"
        self.input_dir.mkdir()
        (self.input_dir / "a.txt").write_text("alpha\n")
        self.out_dir = tmp_path / "out"
        self.tmp_path = tmp_path
        self.script = script
        self.made: list[int] = []

    def make_spec(self, attempt: int) -> AttemptSpec:
        self.made.append(attempt)
        return AttemptSpec(
            cmd=["sh", "-c", self.script],
            env={"ATTEMPT": str(attempt), "in": "/pfs/in/a.txt"},
            inputs={"in": self.input_dir},
            out_dir=self.out_dir,
            scratch_dir=self.tmp_path / f"scratch-{attempt}",
        )

    def run(
        self,
        policy: DatumPolicy,
        cancel: threading.Event | None = None,
        on_attempt: Callable[[int, AttemptResult], None] | None = None,
    ) -> DatumResult:
        return run_datum(self.make_spec, policy, cancel or threading.Event(), on_attempt)

    def out_files(self) -> list[str]:
        return sorted(p.name for p in self.out_dir.iterdir())


def test_success_on_the_first_try_keeps_the_output(tmp_path: Path) -> None:
    datum = Datum(tmp_path, 'cat "$in" > out/b.txt')
    result = datum.run(DatumPolicy())
    assert (result.outcome, result.attempts, result.reason) == (DatumOutcome.SUCCESS, 1, "")
    assert datum.made == [1]
    assert (datum.out_dir / "b.txt").read_text() == "alpha\n"


def test_every_try_fails_then_the_datum_fails_without_output(tmp_path: Path) -> None:
    datum = Datum(tmp_path, 'echo "try $ATTEMPT"; echo partial > out/part-$ATTEMPT; exit 3')
    seen: list[tuple[int, int | None]] = []
    result = datum.run(DatumPolicy(tries=3), on_attempt=lambda n, r: seen.append((n, r.exit_code)))
    assert result.outcome is DatumOutcome.FAILED
    assert result.attempts == 3
    assert result.reason == "exit code 3 (attempt 3 of 3)"
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert [r.exit_code for r in result.attempt_results] == [3, 3, 3]
    assert datum.out_files() == []
    assert b"--- attempt 2 of 3: exit code 3 ---\ntry 2\n" in result.log


def test_a_failed_attempts_partial_output_does_not_survive_the_retry(tmp_path: Path) -> None:
    datum = Datum(tmp_path, 'echo "$ATTEMPT" > out/from-$ATTEMPT; [ "$ATTEMPT" = 3 ]')
    result = datum.run(DatumPolicy(tries=3))
    assert (result.outcome, result.attempts) == (DatumOutcome.SUCCESS, 3)
    assert datum.out_files() == ["from-3"]


def test_accept_return_code_counts_as_success(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "echo kept > out/b.txt; exit 4")
    result = datum.run(DatumPolicy(tries=3, accept_return_code=frozenset({4})))
    assert (result.outcome, result.attempts) == (DatumOutcome.SUCCESS, 1)
    assert datum.out_files() == ["b.txt"]
    assert datum.run(DatumPolicy(tries=1)).reason == "exit code 4 (attempt 1 of 1)"


def test_timeout_reason(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "sleep 1000")
    result = datum.run(DatumPolicy(tries=1, timeout=0.5))
    assert result.outcome is DatumOutcome.FAILED
    assert result.reason == "timed out after 0.5s (attempt 1 of 1)"


def test_killed_by_signal_reason(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "kill -9 $$")
    result = datum.run(DatumPolicy(tries=2))
    assert result.reason == "killed by signal 9 (attempt 2 of 2)"


def test_err_cmd_exit_zero_recovers_the_datum_without_output(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "echo partial > out/b.txt; exit 1")
    policy = DatumPolicy(tries=3, err_cmd=("sh",), err_stdin=("cat in/a.txt", "echo err > out/from-err", "exit 0"))
    result = datum.run(policy)
    assert result.outcome is DatumOutcome.RECOVERED
    assert result.attempts == 3
    assert result.reason == "recovered by err_cmd after exit code 1 (attempt 3 of 3)"
    assert result.err_result is not None and result.err_result.log == b"alpha\n"
    assert datum.out_files() == []
    assert result.log.endswith(b"--- err_cmd: exit code 0 ---\nalpha\n")


@needs_namespace
def test_err_cmd_sees_the_pfs_layout(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "exit 1")
    result = datum.run(DatumPolicy(tries=1, err_cmd=("cat", "/pfs/in/a.txt")))
    assert result.outcome is DatumOutcome.RECOVERED
    assert result.err_result is not None and result.err_result.log == b"alpha\n"


def test_failing_err_cmd_leaves_the_datum_failed(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "exit 1")
    result = datum.run(DatumPolicy(tries=2, err_cmd=("sh", "-c", "exit 2")))
    assert result.outcome is DatumOutcome.FAILED
    assert result.reason == "exit code 1 (attempt 2 of 2)"
    assert result.err_result is not None and result.err_result.exit_code == 2


def test_cancel_during_an_attempt_stops_without_more_tries(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "touch out/ready; sleep 1000")
    cancel = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + HANG_SECONDS
        while not (datum.out_dir / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        cancel.set()

    threading.Thread(target=watch, daemon=True).start()
    result = datum.run(DatumPolicy(tries=3, err_cmd=("true",)), cancel)
    assert result.outcome is DatumOutcome.CANCELLED
    assert result.attempts == 1
    assert result.reason == "stopped (attempt 1 of 3)"
    assert result.err_result is None
    assert datum.made == [1]
    assert datum.out_files() == []


def test_cancel_before_the_first_attempt(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "true")
    cancel = threading.Event()
    cancel.set()
    result = datum.run(DatumPolicy(), cancel)
    assert (result.outcome, result.attempts) == (DatumOutcome.CANCELLED, 0)
    assert result.reason == "stopped before attempt 1 of 3"
    assert datum.made == []


def test_policy_timeout_overrides_the_spec(tmp_path: Path) -> None:
    datum = Datum(tmp_path, "sleep 1000")
    result = datum.run(DatumPolicy(tries=1, timeout=0.2))
    assert result.attempt_results[0].timeout == 0.2


def test_zero_tries_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one try"):
        Datum(tmp_path, "true").run(DatumPolicy(tries=0))


def test_clear_dir_empties_read_only_trees_and_keeps_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "d" / "e").mkdir(parents=True)
    (out / "d" / "e" / "f").write_text("x")
    (out / "g").write_text("y")
    (out / "link").symlink_to(tmp_path)
    (out / "d" / "e").chmod(0o500)
    clear_dir(out)
    assert out.is_dir() and list(out.iterdir()) == []
    assert tmp_path.exists()
    clear_dir(tmp_path / "new" / "dir")
    assert (tmp_path / "new" / "dir").is_dir()
