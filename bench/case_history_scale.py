"""History scale: server RSS and ListJob first-page latency (50 jobs, newest first) with a long job
history against the same with a short one, on the same data directory and pipeline; and the
commit -> SUCCESS time of a zero-datum and a one-datum job of another pipeline (`probe`) with the
long history against the same on a copy taken before any history was added.

Jobs are made by a bulk path (``insert_finished_jobs``): with the server stopped, finished jobs
are written through the store's own PPS interface in-process, each walked CREATED -> STARTING ->
RUNNING -> FINISHING -> SUCCESS by the domain's ``transition`` with one change-history entry per
step (what a real zero-datum job records), 1,000 jobs per write transaction. They have no PFS
commits behind them: ListJob (without details) does not read PFS. Then the server is started as
its own process on that data directory and measured (RSS from /proc), side by side with a
server on a copy of the same directory taken at 1,000 jobs, the two queried alternately, and a
third on a copy taken before the bulk insert (the probe jobs alternate between it and the large).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import tusk
from bench.common import (
    BenchError,
    MiB,
    create_repo,
    median,
    newest_job,
    pipeline_spec,
    server_process,
    timed_commit_job,
    wait_done,
)
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


@dataclass
class Measured:
    small_pages: list[float]  # ListJob first-page seconds at the small history
    large_pages: list[float]
    small_rss: int
    large_rss: int
    none_jobs: dict[str, list[float]]  # "zero"/"one" -> FinishCommit -> SUCCESS seconds, no history
    large_jobs: dict[str, list[float]]


def job_seconds(client: tusk.Client, kind: str, i: int) -> float:
    """One job of the `probe` pipeline: zero datums (an empty commit) or one (`true` on a file)."""
    files = [("/x", b"%d\n" % i)] if kind == "one" else []
    return timed_commit_job(client, "probe_in", ["probe"], files, replace=True)


def measure(none_dir: Path, small_dir: Path, large_dir: Path, calls: int, rounds: int, samples: int) -> Measured:
    """The three servers up at once. ListJob first pages on the small and the large one, then
    probe jobs on the one with no history and the large one, each alternately in ``rounds``
    rounds, so the neighbours' load drifting during the case hits both sides alike; RSS read
    after the pages."""
    with (
        server_process(none_dir) as sp_none,
        server_process(small_dir) as sp_small,
        server_process(large_dir) as sp_large,
        tusk.Client(sp_none.address) as none,
        tusk.Client(sp_small.address) as small,
        tusk.Client(sp_large.address) as large,
    ):
        for _ in range(max(3, calls // 10)):  # warm-up: connections, caches, first imports
            page_seconds(small)
            page_seconds(large)
        out = Measured([], [], 0, 0, {"zero": [], "one": []}, {"zero": [], "one": []})
        per_round = max(1, calls // rounds)
        for _ in range(rounds):
            out.small_pages += [page_seconds(small) for _ in range(per_round)]
            out.large_pages += [page_seconds(large) for _ in range(per_round)]
        out.small_rss, out.large_rss = sp_small.rss(), sp_large.rss()
        for kind in ("zero", "one"):
            job_seconds(none, kind, -1)  # warm-up
            job_seconds(large, kind, -1)
            for i in range(samples):
                out.none_jobs[kind].append(job_seconds(none, kind, i))
                out.large_jobs[kind].append(job_seconds(large, kind, i))
        return out


@case("history_scale")
def history_scale(size: Size) -> list[Row]:
    small, large = size.pick(1_000, 60), size.pick(100_000, 600)
    calls, rounds, samples = size.pick(200, 10), size.pick(10, 2), size.pick(15, 2)
    with tempfile.TemporaryDirectory(prefix="tusk-bench-history-") as tmp:
        data = Path(tmp) / "data"
        none_copy, small_copy = Path(tmp) / "data-none", Path(tmp) / "data-small"
        with server_process(data) as sp, tusk.Client(sp.address) as client:
            for repo, name in (("hist_in", "hist"), ("probe_in", "probe")):
                create_repo(client, repo)
                client.pps.create_pipeline(pipeline_spec(name, repo, ["true"]))
                wait_done(client, f"{name}@{newest_job(client, name).job.id}")  # the first job: a real one
        shutil.copytree(data, none_copy)  # the server is stopped: the copies are consistent
        t0 = time.perf_counter()
        insert_finished_jobs(data, "hist", small - 1)
        shutil.copytree(data, small_copy)
        insert_finished_jobs(data, "hist", large - small)
        insert_s = time.perf_counter() - t0
        got = measure(none_copy, small_copy, data, calls, rounds, samples)
    small_latency, large_latency = median(got.small_pages), median(got.large_pages)
    growth = (got.large_rss - got.small_rss) / MiB
    ratio = large_latency / small_latency
    rows = [
        Row(f"ListJob first page ({PAGE}) at {large:,} jobs vs {small:,}", large_latency * 1000,
            small_latency * 1000, "ms", ratio, "<= 1.5", ratio <= 1.5,
            f"median of {len(got.large_pages)} each, {rounds} alternating rounds; {large:,} jobs bulk-inserted in "
            f"{insert_s:.0f} s", against=f"tusk itself: a server on the same data at {small:,} jobs"),
        Row(f"server RSS at {large:,} jobs vs {small:,}", got.large_rss / MiB, got.small_rss / MiB, "MiB",
            float("nan"), "growth < 200 MiB", growth < 200, f"growth {growth:.1f} MiB (no ratio: growth is the figure)",
            against=f"tusk itself: the server at {small:,} jobs"),
    ]  # fmt: skip
    for kind, what in (("zero", "zero-datum"), ("one", "one-datum (`true`)")):
        ours, base = median(got.large_jobs[kind]) * 1000, median(got.none_jobs[kind]) * 1000
        rows.append(
            Row(f"{what} job, commit -> SUCCESS, at {large:,} jobs of history vs none", ours, base, "ms",
                ours / base, "<= 1.1", ours / base <= 1.1,
                f"median of {samples} each, alternating; the history is another pipeline's jobs",
                against="tusk itself: a server on the same data before the history was added")
        )  # fmt: skip
    return rows
