"""The executor contract (engine/executor.py): what the job runner relies on, whichever executor
runs the datums. Every test runs once per executor kind of the ``make_executor`` fixture
(tests/contract/executors.py, through conftest.py).

Real user processes in the real sandbox and a real blob store. User code and the test meet
through marker files: a datum touches ``started-<id>`` and, when told to block, waits for
``go-<id>`` (or ``release``, touched when the test ends). Order is shown with these markers and
with the executor's slot count, never with sleeps.
"""

from __future__ import annotations

import itertools
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import ExecutorFactory
from tests.integration.test_engine import BG, ME, pid_alive, wait_for
from tuskd.engine.datum_work import DatumOutcome, DatumResult, DatumTask, InputFile, LaidOutInput, new_nonce
from tuskd.engine.executor import Batch

pytestmark = pytest.mark.timeout(90)

# $ID is the datum's ID; "block" waits for go-$ID; "hold" records its pid and a background
# child's, then waits for them (until it is cancelled).
SCRIPT = r"""
touch "$MARK/started-$ID"
case "$MODE" in
  block) while [ ! -e "$MARK/go-$ID" ] && [ ! -e "$MARK/release" ]; do sleep 0.02; done ;;
  hold) sleep 600 & {bg} > "$MARK/bg-$ID.tmp"; {me} > "$MARK/me-$ID.tmp"
        mv "$MARK/bg-$ID.tmp" "$MARK/bg-$ID"; mv "$MARK/me-$ID.tmp" "$MARK/me-$ID"; wait ;;
  fail) echo "failing on purpose"; exit 3 ;;
esac
echo "datum $ID done"
""".replace("{bg}", BG).replace("{me}", ME)


@pytest.fixture
def mark(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mark"
    path.mkdir()
    yield path
    (path / "release").touch()  # nothing blocks the executor's stop


def task(mark: Path, datum_id: str, mode: str = "", **kwargs: object) -> DatumTask:
    fields: dict[str, object] = {
        "project": "default",
        "pipeline": "contract",
        "job_id": "job1",
        "datum_id": datum_id,
        "nonce": new_nonce(),
        "cmd": ("sh", "-c", SCRIPT),
        "env": (("MARK", str(mark)), ("ID", datum_id), ("MODE", mode)),
        "tries": 1,
    }
    fields.update(kwargs)
    return DatumTask(**fields)  # type: ignore[arg-type]


def started(mark: Path, datum_id: str) -> bool:
    return (mark / f"started-{datum_id}").exists()


class Results:
    """Consumes a batch on a thread, so the test can wait for results as they come."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.items: list[tuple[str, DatumResult]] = []
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._consume, daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        try:
            for item in self.batch:
                self.items.append(item)
        finally:
            self.ended.set()

    def by_datum(self) -> dict[str, DatumResult]:
        return {result.datum_id: result for _, result in self.items}

    def wait(self, count: int) -> None:
        wait_for(lambda: len(self.items) >= count or self.ended.is_set(), timeout=60, what=f"{count} results")

    def end(self) -> None:
        assert self.ended.wait(60), "the batch never ended"


# -- result shape -------------------------------------------------------------------------------


def test_a_result_says_how_the_datum_ended_and_its_outputs_are_blobs(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(2)
    data = b"hello input\n"
    ref = h.blobs.put_bytes(data)
    script = 'cat /pfs/in/dir/a.txt > /pfs/out/copy.txt; mkdir -p /pfs/out/sub; printf two > /pfs/out/sub/b; echo "log line"'
    t = task(
        mark,
        "d1",
        cmd=("sh", "-c", script),
        inputs=(LaidOutInput("in", (InputFile("/dir/a.txt", ref.hash, ref.size),)),),
    )
    batch = h.executor.open_batch("default/contract@job1", 1)
    assert batch.submit([t])
    items = list(batch)
    assert [nonce for nonce, _ in items] == [t.nonce]
    result = items[0][1]
    assert (result.datum_id, result.nonce, result.outcome, result.reason) == ("d1", t.nonce, DatumOutcome.SUCCESS, "")
    assert result.attempts == 1
    (run,) = result.runs
    assert (run.exit_code, run.signal, run.timed_out, run.cancelled) == (0, None, False, False)
    assert run.started <= run.ended
    assert result.err_attempt is None
    assert [(f.path, f.size) for f in result.outputs] == [("/copy.txt", len(data)), ("/sub/b", 3)]
    contents = {}
    for f in result.outputs:
        with h.blobs.open(f.blob) as fh:
            contents[f.path] = fh.read()
    assert contents == {"/copy.txt": data, "/sub/b": b"two"}
    assert result.log == b"log line\n"
    assert (result.stats.download_bytes, result.stats.upload_bytes) == (len(data), len(data) + 3)
    assert pickle.loads(pickle.dumps(result)) == result  # the result travels as it is


def test_failed_attempts_keep_their_exit_codes_and_logs(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(1)
    t = task(mark, "bad", "fail", tries=2)
    batch = h.executor.open_batch("k", 1)
    batch.submit([t])
    ((_, result),) = list(batch)
    assert result.outcome is DatumOutcome.FAILED
    assert [r.exit_code for r in result.runs] == [3, 3]
    assert result.reason == "exit code 3 (attempt 2 of 2)"
    assert result.log.count(b"failing on purpose") == 2
    assert b"--- attempt 2 of 2: exit code 3 ---" in result.log
    assert result.outputs == ()


def test_err_cmd_recovers_a_datum_whose_tries_ran_out(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(1)
    t = task(mark, "bad", "fail", err_cmd=("sh", "-c", "read line; echo \"err saw $line\""), err_stdin=("hi",))
    batch = h.executor.open_batch("k", 1)
    batch.submit([t])
    ((_, result),) = list(batch)
    assert result.outcome is DatumOutcome.RECOVERED
    assert result.reason == "recovered by err_cmd after exit code 3 (attempt 1 of 1)"
    assert [r.exit_code for r in result.runs] == [3]
    assert result.err_attempt is not None and result.err_attempt.exit_code == 0
    assert b"err saw hi" in result.log
    assert result.outputs == ()


def test_an_attempt_over_the_datum_timeout_is_killed_and_fails(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(1)
    t = task(mark, "slow", cmd=("sh", "-c", "sleep 60"), datum_timeout=0.5, tries=1)
    batch = h.executor.open_batch("k", 1)
    batch.submit([t])
    ((_, result),) = list(batch)
    assert result.outcome is DatumOutcome.FAILED
    (run,) = result.runs
    assert run.timed_out and run.exit_code is None
    assert result.reason == "timed out after 0.5s (attempt 1 of 1)"


def test_a_non_accepted_exit_code_is_accepted_when_listed(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(1)
    t = task(mark, "three", "fail", accept_return_code=(3,))
    batch = h.executor.open_batch("k", 1)
    batch.submit([t])
    ((_, result),) = list(batch)
    assert (result.outcome, [r.exit_code for r in result.runs]) == (DatumOutcome.SUCCESS, [3])


# -- scheduling ---------------------------------------------------------------------------------


def test_two_batches_share_the_slots_fewest_running_first(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(2)
    a = h.executor.open_batch("a", 2)
    a.submit(task(mark, f"a{i}", "block") for i in range(1, 5))
    wait_for(lambda: started(mark, "a1") and started(mark, "a2"), what="a1 and a2 to start")
    b = h.executor.open_batch("b", 2)
    b.submit(task(mark, f"b{i}", "block") for i in range(1, 5))
    results_a, results_b = Results(a), Results(b)
    # Both slots are taken by a; the slot a1 frees goes to b (0 running) rather than a (1).
    (mark / "go-a1").touch()
    wait_for(lambda: started(mark, "b1"), what="b1 to start")
    assert not started(mark, "a3")
    # The slot a2 frees goes back to a (0 running against b's 1): round robin.
    (mark / "go-a2").touch()
    wait_for(lambda: started(mark, "a3"), what="a3 to start")
    assert not started(mark, "b2")
    (mark / "release").touch()
    results_a.end()
    results_b.end()
    assert sorted(results_a.by_datum()) == ["a1", "a2", "a3", "a4"]
    assert sorted(results_b.by_datum()) == ["b1", "b2", "b3", "b4"]


def test_a_lazy_endless_iterable_is_pulled_within_twice_the_parallelism(
    make_executor: ExecutorFactory, mark: Path
) -> None:
    h = make_executor(1)
    pulled = 0

    def endless() -> Iterator[DatumTask]:
        nonlocal pulled
        for n in itertools.count():
            pulled += 1
            yield task(mark, f"d{n}")

    batch = h.executor.open_batch("lazy", 1)
    batch.submit(endless())
    # Nothing consumed: d0 and d1 run, and their two results fill the window (2 x parallelism).
    wait_for(lambda: started(mark, "d1"), what="d1 to start")
    # The only slot serves a second batch once it is free: by then the first took all it may.
    sentinel = h.executor.open_batch("sentinel", 1)
    sentinel.submit([task(mark, "sentinel")])
    assert [r.outcome for _, r in sentinel] == [DatumOutcome.SUCCESS]
    assert (pulled, started(mark, "d2")) == (2, False)
    # Each result consumed lets one more task in.
    results = iter(batch)
    ahead = []
    for consumed in range(1, 9):
        next(results)
        ahead.append(pulled - consumed)
    batch.close()
    assert max(ahead) <= 3, ahead


def test_closing_a_batch_drops_the_tasks_not_started(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(1)
    batch = h.executor.open_batch("abandoned", 1)
    batch.submit(task(mark, f"d{i}", "block") for i in range(1, 5))
    wait_for(lambda: started(mark, "d1"), what="d1 to start")
    batch.close()
    (mark / "go-d1").touch()
    # One slot: the next batch's datum runs only after d1, and nothing of the closed batch after it.
    after = h.executor.open_batch("after", 1)
    after.submit([task(mark, "sentinel")])
    assert [r.outcome for _, r in after] == [DatumOutcome.SUCCESS]
    assert [i for i in ("d2", "d3", "d4") if started(mark, i)] == []
    assert not after.submit([task(mark, "late")])  # an ended batch takes nothing more
    assert not batch.submit([task(mark, "late")])


# -- cancel -------------------------------------------------------------------------------------


def _pids(mark: Path, datum_id: str) -> list[str]:
    wait_for(lambda: (mark / f"me-{datum_id}").exists(), what=f"{datum_id} to record its pids")
    return [(mark / f"{kind}-{datum_id}").read_text().strip() for kind in ("me", "bg")]


def test_cancel_kills_one_running_datum_and_a_resubmission_runs_it_again(
    make_executor: ExecutorFactory, mark: Path
) -> None:
    h = make_executor(2)
    one, two = task(mark, "one", "hold"), task(mark, "two", "hold")
    batch = h.executor.open_batch("k", 2)
    batch.submit([one, two])
    results = Results(batch)
    pids_one, pids_two = _pids(mark, "one"), _pids(mark, "two")
    assert batch.cancel(one.nonce)
    results.wait(1)
    assert [(nonce, r.outcome) for nonce, r in results.items] == [(one.nonce, DatumOutcome.CANCELLED)]
    wait_for(lambda: not any(pid_alive(p) for p in pids_one), what="the cancelled datum's processes to be gone")
    assert all(pid_alive(p) for p in pids_two), "cancelling one datum killed another"
    # RestartDatum: the same datum again, as a new submission.
    again = task(mark, "one", cmd=("sh", "-c", "echo second run"))
    assert again.nonce != one.nonce
    assert batch.submit([again], first=True)
    results.wait(2)
    assert results.items[1][0] == again.nonce
    assert (results.items[1][1].outcome, results.items[1][1].log) == (DatumOutcome.SUCCESS, b"second run\n")
    assert not batch.cancel(one.nonce)  # finished: nothing to cancel
    batch.cancel_all()
    results.end()
    wait_for(lambda: not any(pid_alive(p) for p in pids_two), what="the other datum's processes to be gone")


def test_cancel_all_kills_the_running_datums_and_drops_the_rest(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(2)
    batch = h.executor.open_batch("k", 2)
    batch.submit(task(mark, f"d{i}", "hold") for i in range(1, 5))
    pids = _pids(mark, "d1") + _pids(mark, "d2")
    results = Results(batch)
    batch.cancel_all()
    results.end()
    assert sorted((r.datum_id, r.outcome) for _, r in results.items) == [
        ("d1", DatumOutcome.CANCELLED),
        ("d2", DatumOutcome.CANCELLED),
    ]
    wait_for(lambda: not any(pid_alive(p) for p in pids), what="the datums' processes to be gone")
    assert not started(mark, "d3") and not started(mark, "d4")
    assert not batch.submit([task(mark, "late")])


def test_drain_lets_the_running_datums_finish_and_starts_no_more(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(2)
    batch = h.executor.open_batch("k", 2)
    batch.submit(task(mark, f"d{i}", "block") for i in range(1, 5))
    wait_for(lambda: started(mark, "d1") and started(mark, "d2"), what="d1 and d2 to start")
    results = Results(batch)
    batch.drain()
    (mark / "go-d1").touch()
    (mark / "go-d2").touch()
    results.end()
    assert sorted((r.datum_id, r.outcome) for _, r in results.items) == [
        ("d1", DatumOutcome.SUCCESS),
        ("d2", DatumOutcome.SUCCESS),
    ]
    assert not started(mark, "d3") and not started(mark, "d4")


def test_slots_caps_the_parallelism_of_a_batch(make_executor: ExecutorFactory, mark: Path) -> None:
    h = make_executor(2)
    assert h.executor.slots == 2
    batch = h.executor.open_batch("wide", 10)
    batch.submit(task(mark, f"d{i}", "block") for i in range(1, 4))
    results = Results(batch)
    wait_for(lambda: started(mark, "d1") and started(mark, "d2"), what="two datums to start")
    assert not started(mark, "d3")
    (mark / "release").touch()
    results.end()
    assert len(results.items) == 3
