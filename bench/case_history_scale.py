"""History scale: server RSS and ListJob first-page latency (50 jobs, newest first) with a long job
history against the same with a short one, on the same data directory and pipeline.

Jobs are made by a bulk path (``insert_finished_jobs``): with the server stopped, finished jobs
are written through the store's own PPS interface in-process, each walked CREATED -> STARTING ->
RUNNING -> FINISHING -> SUCCESS by the domain's ``transition`` with one change-history entry per
step (what a real zero-datum job records), 1,000 jobs per write transaction. They have no PFS
commits behind them: ListJob (without details) does not read PFS. Then the server is started as
its own process on that data directory and measured (RSS from /proc), side by side with a
server on a copy of the same directory taken at 1,000 jobs, the two queried alternately.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

import tusk
from bench.common import BenchError, MiB, create_repo, median, newest_job, pipeline_spec, server_process, wait_done
from bench.harness import Row, Size, case
from tuskd.config import ServerConfig
from tuskd.domain.jobs import Job, JobKey, transition
from tuskd.domain.states import JobState
from tuskd.services.jobs import snapshot
from tuskd.wiring import open_deps

PAGE = 50
_WALK = (JobState.JOB_STARTING, JobState.JOB_RUNNING, JobState.JOB_FINISHING, JobState.JOB_SUCCESS)


def insert_finished_jobs(data_dir: Path, pipeline: str, n: int, batch: int = 1000) -> None:
    """Append ``n`` finished (SUCCESS) zero-datum jobs of ``pipeline`` to the store on ``data_dir``.
    The server must not be running on it."""
    deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=data_dir))
    try:
        with deps.store.read() as tx:
            row = deps.jobs.tables(tx).get_pipeline("default", pipeline)
        if row is None:
            raise BenchError(f"pipeline {pipeline} not found in {data_dir}")
        for start in range(0, n, batch):
            with deps.store.write() as tx:
                t = deps.jobs.tables(tx)
                for _ in range(min(batch, n - start)):
                    now = time.time()
                    job = Job(JobKey("default", pipeline, uuid.uuid4().hex), row.version, pipeline, "master",
                              created=now)  # fmt: skip
                    job_row = t.insert_job(job, snapshot(job), int(now * 1e6))
                    for state in _WALK:
                        job = transition(job, state, time.time())
                        t.save_job(job_row.row, job, snapshot(job), int(time.time() * 1e6))
    finally:
        deps.close()


def page_seconds(client: tusk.Client) -> float:
    t0 = time.perf_counter()
    page = list(client.pps.list_job(page_size=PAGE))
    elapsed = time.perf_counter() - t0
    if len(page) != PAGE or not page[0].page_token:
        raise BenchError(f"ListJob(page_size={PAGE}) returned {len(page)} jobs, expected a full page with tokens")
    return elapsed


def measure_both(
    small_dir: Path, large_dir: Path, calls: int, rounds: int
) -> tuple[list[float], list[float], int, int]:
    """Both servers up at once; ListJob first pages alternately in ``rounds`` rounds, so the
    neighbours' load drifting during the case hits both sides alike. (small page times, large
    page times, small server RSS, large server RSS), RSS read after the calls."""
    with (
        server_process(small_dir) as sp_small,
        server_process(large_dir) as sp_large,
        tusk.Client(sp_small.address) as small,
        tusk.Client(sp_large.address) as large,
    ):
        for _ in range(max(3, calls // 10)):  # warm-up: connections, caches, first imports
            page_seconds(small)
            page_seconds(large)
        small_times: list[float] = []
        large_times: list[float] = []
        per_round = max(1, calls // rounds)
        for _ in range(rounds):
            small_times += [page_seconds(small) for _ in range(per_round)]
            large_times += [page_seconds(large) for _ in range(per_round)]
        return small_times, large_times, sp_small.rss(), sp_large.rss()


@case("history_scale")
def history_scale(size: Size) -> list[Row]:
    small, large = size.pick(1_000, 60), size.pick(100_000, 600)
    calls, rounds = size.pick(200, 10), size.pick(10, 2)
    with tempfile.TemporaryDirectory(prefix="tusk-bench-history-") as tmp:
        data = Path(tmp) / "data"
        small_copy = Path(tmp) / "data-small"
        with server_process(data) as sp, tusk.Client(sp.address) as client:
            create_repo(client, "hist_in")
            client.pps.create_pipeline(pipeline_spec("hist", "hist_in", ["true"]))
            wait_done(client, f"hist@{newest_job(client, 'hist').job.id}")  # job 1: a real one
        t0 = time.perf_counter()
        insert_finished_jobs(data, "hist", small - 1)
        shutil.copytree(data, small_copy)  # the server is stopped: the copy is consistent
        insert_finished_jobs(data, "hist", large - small)
        insert_s = time.perf_counter() - t0
        small_times, large_times, small_rss, large_rss = measure_both(small_copy, data, calls, rounds)
    small_latency, large_latency = median(small_times), median(large_times)
    growth = (large_rss - small_rss) / MiB
    ratio = large_latency / small_latency
    return [
        Row(f"ListJob first page ({PAGE}) at {large:,} jobs vs {small:,}", large_latency * 1000,
            small_latency * 1000, "ms", ratio, "<= 1.5", ratio <= 1.5,
            f"median of {len(large_times)} each, {rounds} alternating rounds; {large:,} jobs bulk-inserted in "
            f"{insert_s:.0f} s", against=f"tusk itself: a server on the same data at {small:,} jobs"),
        Row(f"server RSS at {large:,} jobs vs {small:,}", large_rss / MiB, small_rss / MiB, "MiB",
            float("nan"), "growth < 200 MiB", growth < 200, f"growth {growth:.1f} MiB (no ratio: growth is the figure)",
            against=f"tusk itself: the server at {small:,} jobs"),
    ]  # fmt: skip
