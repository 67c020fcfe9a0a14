"""Datum throughput: a job of N one-file datums running `true` (parallelism 2), datums/s from
FinishCommit to SUCCESS, against the same N `true` subprocesses in a plain 2-worker thread pool
(the machine's floor), in the same run."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from bench.harness import Row, Size, case
from bench.numbers_job import numbers_run


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
    run = numbers_run(size.pick(5000, 40))
    ours = run.n / run.first_s
    base = plain_pool_rate(run.n)
    ratio = ours / base
    return [
        Row(f"datum throughput, {run.n} datums `true`, parallelism 2", ours, base, "datums/s", ratio, ">= 0.5",
            ratio >= 0.5, f"job {run.first_s:.1f} s"),
    ]  # fmt: skip
