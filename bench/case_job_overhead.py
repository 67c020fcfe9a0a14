"""Job overhead: input commit -> job SUCCESS for a zero-datum job and for a one-datum job running
`true`, against a bare `subprocess.run(["true"])` (the user code's own cost) in the same run.

Each sample is a fresh input commit: its FinishCommit starts the clock, the SUCCESS message of a
WaitJob stream opened beforehand stops it. Medians over the samples; the first one is warm-up.
"""

from __future__ import annotations

from collections.abc import Mapping

import tusk
from bench.common import (
    BenchError,
    bare_true_seconds,
    create_repo,
    median,
    newest_job,
    pipeline_spec,
    timed_commit_job,
    wait_done,
)
from bench.harness import Row, Size, case
from bench.servers import tusk_server

GOAL_MS = 50.0
KINDS = ("zero", "one")  # a zero-datum job (an empty commit), a one-datum job (`true` on a changed file)


def one_datum_job_ms(client: tusk.Client, repo: str, pipelines: list[str], samples: int) -> float:
    """Median ms from FinishCommit to the last pipeline's SUCCESS, one changed file per commit."""
    times = [timed_commit_job(client, repo, pipelines, [("/x", b"%d\n" % i)], replace=True) for i in range(samples + 1)]
    return median(times[1:]) * 1000


def prepare(client: tusk.Client) -> None:
    """The two pipelines this case times (`zero` on repo `empty`, `single` on `one`), each past its first job."""
    for repo, name in (("empty", "zero"), ("one", "single")):
        create_repo(client, repo)
        client.pps.create_pipeline(pipeline_spec(name, repo, ["true"]))
        wait_done(client, f"{name}@{newest_job(client, name).job.id}")


def job_ms(client: tusk.Client, kind: str, i: int) -> float:
    """One job of ``kind`` on a server :func:`prepare` set up: ms from FinishCommit to SUCCESS."""
    if kind == "zero":
        return timed_commit_job(client, "empty", ["zero"]) * 1000
    return timed_commit_job(client, "one", ["single"], [("/x", b"%d\n" % i)], replace=True) * 1000


def overhead_ms(clients: Mapping[str, tusk.Client], samples: int) -> dict[tuple[str, str], float]:
    """Median ms of each kind of job on each of ``clients`` (servers :func:`prepare` set up), keyed
    (client name, kind); the samples taken alternately across the clients, the first of each
    is warm-up. Raises unless the jobs had the datums they should."""
    times: dict[tuple[str, str], list[float]] = {(name, kind): [] for name in clients for kind in KINDS}
    for kind in KINDS:
        for i in range(samples + 1):
            for name, client in clients.items():
                times[name, kind].append(job_ms(client, kind, i))
    for name, client in clients.items():
        if (total := newest_job(client, "zero").data_total) != 0:
            raise BenchError(f"{name}: the zero-datum job has {total} datums")
        if (done := newest_job(client, "single").data_processed) != 1:
            raise BenchError(f"{name}: the one-datum job processed {done} datums, not 1")
    return {key: median(values[1:]) for key, values in times.items()}


@case("job_overhead")
def job_overhead(size: Size) -> list[Row]:
    samples = size.pick(15, 2)
    with tusk_server(datum_workers=2) as (address, _deps), tusk.Client(address) as client:
        prepare(client)
        got = overhead_ms({"tusk": client}, samples)
    zero_ms, one_ms = got["tusk", "zero"], got["tusk", "one"]
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
