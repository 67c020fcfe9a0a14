"""The threaded executor: parallelism bounds, fair sharing, cancel, lazy input, errors, stop.

Concurrency is proven with barriers (a bound that is too low breaks the barrier) and counted
with a shared counter (a bound that is too high shows up as a larger maximum), never with sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from tuskd.engine.worker_pool import ExecutorStopped, TaskExecutor, ThreadPoolExecutor

HANG_SECONDS = 30


class Concurrency:
    """Counts how many tasks run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.max = 0
        self.started = 0

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.started += 1
            self.max = max(self.max, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


@pytest.fixture
def make_executor() -> Iterator[Callable[[int], ThreadPoolExecutor]]:
    made: list[ThreadPoolExecutor] = []

    def factory(max_workers: int) -> ThreadPoolExecutor:
        executor = ThreadPoolExecutor(max_workers)
        executor.start()
        made.append(executor)
        return executor

    yield factory
    for executor in made:
        executor.stop()


def executor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tusk-executor-")]


def test_it_is_an_executor_and_the_constructor_starts_no_threads() -> None:
    before = len(executor_threads())
    executor: TaskExecutor = ThreadPoolExecutor(3)
    assert len(executor_threads()) == before
    executor.start()
    assert len(executor_threads()) == before + 3
    executor.stop()
    assert len(executor_threads()) == before


@pytest.mark.parametrize(("cap", "parallelism"), [(4, 3), (2, 10)])
def test_at_most_min_of_parallelism_and_cap_tasks_run_at_once(
    make_executor: Callable[[int], ThreadPoolExecutor], cap: int, parallelism: int
) -> None:
    bound = min(cap, parallelism)
    barrier = threading.Barrier(bound, timeout=HANG_SECONDS)
    counter = Concurrency()

    def task(i: int) -> int:
        with counter:
            barrier.wait()  # breaks (and fails the test) unless `bound` tasks really run together
        return i

    tasks = [partial(task, i) for i in range(bound * 4)]
    results = list(make_executor(cap).run_batch("job", tasks, parallelism, threading.Event()))
    assert sorted(results) == list(range(bound * 4))
    assert counter.max == bound


def test_results_arrive_in_completion_order(make_executor: Callable[[int], ThreadPoolExecutor]) -> None:
    second_done = threading.Event()

    def first() -> str:
        assert second_done.wait(HANG_SECONDS)
        return "first"

    def second() -> str:
        return "second"

    results = make_executor(2).run_batch("job", [first, second], 2, threading.Event())
    assert next(results) == "second"
    second_done.set()
    assert list(results) == ["first"]


def test_batches_share_the_cap_fairly(make_executor: Callable[[int], ThreadPoolExecutor]) -> None:
    executor = make_executor(2)
    release_blockers = threading.Event()
    blockers_running = threading.Barrier(3, timeout=HANG_SECONDS)

    def blocker() -> str:
        blockers_running.wait()
        assert release_blockers.wait(HANG_SECONDS)
        return "blocker"

    blockers = executor.run_batch("blocker", [blocker] * 2, 2, threading.Event())
    blockers_running.wait()  # every worker is busy

    order: list[str] = []
    lock = threading.Lock()
    first_two_running = threading.Barrier(3, timeout=HANG_SECONDS)

    def task(name: str) -> str:
        with lock:
            order.append(name)
            early = len(order) <= 2
        if early:
            first_two_running.wait()
        return name

    # Both batches wait for the blocker's workers; each alone would take both of them.
    a = executor.run_batch("a", [lambda: task("a")] * 4, 2, threading.Event())
    b = executor.run_batch("b", [lambda: task("b")] * 4, 2, threading.Event())
    release_blockers.set()
    first_two_running.wait()
    assert sorted(order[:2]) == ["a", "b"]
    assert list(blockers) == ["blocker", "blocker"]
    assert list(a) == ["a"] * 4
    assert list(b) == ["b"] * 4


def test_cancel_drops_tasks_not_yet_started(make_executor: Callable[[int], ThreadPoolExecutor]) -> None:
    cancel = threading.Event()
    release = threading.Event()
    counter = Concurrency()
    running = threading.Barrier(3, timeout=HANG_SECONDS)

    def task(i: int) -> int:
        with counter:
            running.wait()
            assert release.wait(HANG_SECONDS)
        return i

    results = make_executor(4).run_batch("job", (partial(task, i) for i in range(100)), 2, cancel)
    running.wait()  # two tasks are running
    cancel.set()
    release.set()
    assert sorted(results) == [0, 1]
    assert counter.started == 2


def test_a_lazy_iterable_of_100000_tasks_is_pulled_only_as_needed(
    make_executor: Callable[[int], ThreadPoolExecutor],
) -> None:
    pulled = 0

    def tasks() -> Iterator[Callable[[], int]]:
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield partial(int, i)

    parallelism = 4
    consumed = 0
    ahead = 0
    total = 0
    for value in make_executor(4).run_batch("job", tasks(), parallelism, threading.Event()):
        consumed += 1
        total += value
        ahead = max(ahead, pulled - consumed)
    assert consumed == 100_000
    assert total == sum(range(100_000))
    assert ahead <= 2 * parallelism + 1


def test_a_task_exception_propagates_and_ends_the_batch(make_executor: Callable[[int], ThreadPoolExecutor]) -> None:
    counter = Concurrency()

    def task(i: int) -> int:
        with counter:
            if i == 3:
                raise ValueError("boom")
        return i

    executor = make_executor(1)
    results = executor.run_batch("job", (partial(task, i) for i in range(1000)), 1, threading.Event())
    with pytest.raises(ValueError, match="boom"):
        list(results)
    assert list(results) == []
    assert counter.started <= 6  # the rest was dropped
    assert list(executor.run_batch("next", [lambda: 1], 1, threading.Event())) == [1]


def test_an_exception_from_the_task_iterable_propagates(make_executor: Callable[[int], ThreadPoolExecutor]) -> None:
    def tasks() -> Iterator[Callable[[], int]]:
        yield lambda: 1
        raise RuntimeError("cannot plan more datums")

    with pytest.raises(RuntimeError, match="cannot plan"):
        list(make_executor(2).run_batch("job", tasks(), 1, threading.Event()))


def test_closing_the_iterator_drops_pending_tasks(make_executor: Callable[[int], ThreadPoolExecutor]) -> None:
    counter = Concurrency()

    def task() -> int:
        with counter:
            return 1

    executor = make_executor(1)
    results = executor.run_batch("job", (task for _ in range(1000)), 1, threading.Event())
    assert next(results) == 1
    results.close()  # type: ignore[attr-defined]
    started = counter.started
    assert list(executor.run_batch("next", [task], 1, threading.Event())) == [1]
    assert counter.started <= started + 3


def test_stop_drops_pending_work_and_joins_threads() -> None:
    executor = ThreadPoolExecutor(2)
    executor.start()
    release = threading.Event()
    started = threading.Barrier(3, timeout=HANG_SECONDS)

    def task() -> int:
        started.wait()
        assert release.wait(HANG_SECONDS)
        return 1

    results = executor.run_batch("job", (task for _ in range(100)), 2, threading.Event())
    started.wait()
    stopper = threading.Thread(target=executor.stop)
    stopper.start()
    release.set()
    stopper.join(HANG_SECONDS)
    assert not stopper.is_alive()
    assert executor_threads() == []
    with pytest.raises(ExecutorStopped):
        list(results)
    with pytest.raises(ExecutorStopped):
        executor.run_batch("late", [task], 1, threading.Event())


def test_run_batch_needs_a_started_executor_and_a_positive_parallelism() -> None:
    executor = ThreadPoolExecutor(1)
    with pytest.raises(ExecutorStopped):
        executor.run_batch("job", [], 1, threading.Event())
    executor.start()
    try:
        with pytest.raises(ValueError, match="parallelism"):
            executor.run_batch("job", [], 0, threading.Event())
        assert list(executor.run_batch("job", [], 1, threading.Event())) == []
    finally:
        executor.stop()
    with pytest.raises(ValueError, match="max_workers"):
        ThreadPoolExecutor(0)
