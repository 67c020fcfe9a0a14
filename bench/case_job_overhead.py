"""Job overhead: input commit -> job SUCCESS for a zero-datum job and for a one-datum job running
`true`, against a bare `subprocess.run(["true"])` (the user code's own cost) in the same run.

Each sample is a fresh input commit: its FinishCommit starts the clock, the SUCCESS message of a
WaitJob stream opened beforehand stops it. Medians over the samples; the first one is warm-up.
"""

from __future__ import annotations

import tusk
from bench.common import bare_true_seconds, create_repo, median, newest_job, pipeline_spec, timed_commit_job, wait_done
from bench.harness import Row, Size, case
from bench.servers import tusk_server

GOAL_MS = 50.0


def one_datum_job_ms(client: tusk.Client, repo: str, pipelines: list[str], samples: int) -> float:
    """Median ms from FinishCommit to the last pipeline's SUCCESS, one changed file per commit."""
    times = [timed_commit_job(client, repo, pipelines, [("/x", b"%d\n" % i)], replace=True) for i in range(samples + 1)]
    return median(times[1:]) * 1000


@case("job_overhead")
def job_overhead(size: Size) -> list[Row]:
    samples = size.pick(15, 2)
    with tusk_server(datum_workers=2) as (address, _deps), tusk.Client(address) as client:
        for repo, name in (("empty", "zero"), ("one", "single")):
            create_repo(client, repo)
            client.pps.create_pipeline(pipeline_spec(name, repo, ["true"]))
            wait_done(client, f"{name}@{newest_job(client, name).job.id}")
        zero_ms = median([timed_commit_job(client, "empty", ["zero"]) for _ in range(samples + 1)][1:]) * 1000
        job = newest_job(client, "zero")
        if job.data_total != 0:
            raise RuntimeError(f"the zero-datum job has {job.data_total} datums")
        one_ms = one_datum_job_ms(client, "one", ["single"], samples)
        job = newest_job(client, "single")
        if job.data_processed != 1:
            raise RuntimeError(f"the one-datum job processed {job.data_processed} datums, not 1")
    true_ms = bare_true_seconds(max(samples, 5)) * 1000
    one_over = one_ms - true_ms
    return [
        Row("zero-datum job, commit -> SUCCESS", zero_ms, float("nan"), "ms", float("nan"),
            f"< {GOAL_MS:g} ms", zero_ms < GOAL_MS, f"overhead {zero_ms:.1f} ms (no user code)",
            against="none: an absolute goal (no user code to compare with)"),
        Row("one-datum job (`true`), commit -> SUCCESS", one_ms, true_ms, "ms", one_ms / true_ms,
            f"< {GOAL_MS:g} ms over `true`", one_over < GOAL_MS, f"overhead {one_over:.1f} ms",
            against="`subprocess.run(['true'])`, median"),
    ]  # fmt: skip
