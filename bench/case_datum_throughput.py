"""Datum throughput: a job of N one-file datums running `true` (parallelism 2), datums/s from
FinishCommit to SUCCESS, against the same N `true` subprocesses in a plain 2-worker thread pool
(the machine's floor: the better of one pool run just before the job and one just after), in
the same run."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from bench.harness import Row, Size, case
from bench.numbers_job import numbers_run

GOAL = 0.8


def plain_pool_rate(n: int, workers: int = 2) -> float:
    """`true` N times from a plain thread pool of ``workers``: datums/s at best."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in pool.map(lambda _: subprocess.run(["true"], check=False), range(n)):
            if done.returncode != 0:
                raise RuntimeError("`true` failed in the baseline")
    return n / (time.perf_counter() - start)


@case("datum_throughput")
def datum_throughput(size: Size) -> list[Row]:
    n = size.pick(5000, 40)
    # The floor is the better of two pool runs, one on each side of the job: the neighbours'
    # load on this shared machine drifts during a run.
    before = plain_pool_rate(n)
    run = numbers_run(n)
    base = max(before, plain_pool_rate(n))
    ours = run.n / run.first_s
    ratio = ours / base
    return [
        Row(f"datum throughput, {run.n} datums `true`, parallelism 2", ours, base, "datums/s", ratio, f">= {GOAL}",
            ratio >= GOAL, f"job {run.first_s:.1f} s",
            against="the same `true`s from a plain 2-worker thread pool (best of before/after)"),
    ]  # fmt: skip
