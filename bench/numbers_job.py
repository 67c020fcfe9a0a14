"""The N-datum job shared by datum_throughput and incremental_job, run once per bench process.

A repo of N one-line files under a `true` pipeline (glob ``/*``, parallelism 2, 2 datum workers):
the first job over all N files (its wall time is the throughput figure), then one file changed
and committed (the incremental job). Both cases read the same measured run, so a full bench pays
for one N-datum job, not two; run alone (``--only``), either case runs it itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import tusk
from bench.common import BenchError, create_repo, newest_job, pipeline_spec, timed_commit_job, wait_done
from bench.servers import tusk_server


@dataclass(frozen=True)
class NumbersRun:
    n: int
    first_s: float  # FinishCommit -> SUCCESS of the job over all N files
    second_s: float  # the same after changing one file
    second_processed: int
    second_skipped: int


_runs: dict[int, NumbersRun] = {}


def numbers_run(n: int) -> NumbersRun:
    if n not in _runs:
        _runs[n] = _run(n)
    return _runs[n]


def _run(n: int) -> NumbersRun:
    with tusk_server(datum_workers=2) as (address, _deps), tusk.Client(address) as client:
        create_repo(client, "numbers")
        client.pps.create_pipeline(pipeline_spec("noop", "numbers", ["true"], parallelism=2))
        wait_done(client, f"noop@{newest_job(client, 'noop').job.id}")  # the empty repo's zero-datum job
        first = timed_commit_job(client, "numbers", ["noop"], [(f"/n{i:05d}", b"%d\n" % i) for i in range(n)])
        job = newest_job(client, "noop")
        if job.data_processed != n:
            raise BenchError(f"expected {n} datums processed, the job says {job.data_processed}")
        second = timed_commit_job(client, "numbers", ["noop"], [("/n00003", b"changed\n")], replace=True)
        job = newest_job(client, "noop")
    return NumbersRun(n, first, second, job.data_processed, job.data_skipped)
