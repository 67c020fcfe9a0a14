"""Incremental job: after a job over N files, change one file and commit; the new job's wall time
(FinishCommit to SUCCESS) as a ratio to the first job's. Skipping should cost hashing, not running.
Shares its N-datum run with datum_throughput (bench/numbers_job.py)."""

from __future__ import annotations

from bench.common import BenchError
from bench.harness import Row, Size, case
from bench.numbers_job import numbers_run

GOAL = 0.02


@case("incremental_job")
def incremental_job(size: Size) -> list[Row]:
    run = numbers_run(size.pick(5000, 40))
    if (run.second_processed, run.second_skipped) != (1, run.n - 1):
        raise BenchError(
            f"the incremental job should process 1 datum and skip {run.n - 1}; "
            f"it processed {run.second_processed} and skipped {run.second_skipped}"
        )
    ratio = run.second_s / run.first_s
    return [
        Row(f"incremental job, 1 of {run.n} files changed vs first job", run.second_s, run.first_s, "s", ratio,
            f"<= {GOAL}", ratio <= GOAL, f"processed 1, skipped {run.second_skipped}",
            against=f"tusk itself: its first job over the {run.n} files"),
    ]  # fmt: skip
