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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tusk
from bench.common import (
    BenchError,
    MiB,
    ServerProc,
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


@dataclass(frozen=True)
class Place:
    """Where a server keeps its data: a data directory, with the metadata in SQLite there
    (``store`` None) or in the PostgreSQL database ``store`` names."""

    data_dir: Path
    store: str | None = None

    @contextmanager
    def server(self) -> Iterator[ServerProc]:
        with server_process(self.data_dir, **({"store": self.store} if self.store else {})) as sp:
            yield sp


Copier = Callable[[Place, Path], Place]
"""Copies a place whose server is stopped to a new data directory (and database): the copy."""


def copy_sqlite(place: Place, to: Path) -> Place:
    shutil.copytree(place.data_dir, to)  # the server is stopped: the copy is consistent
    return Place(to)


def set_up(place: Place, pipelines: Sequence[tuple[str, str]]) -> None:
    """Each (repo, pipeline) made on a server on ``place``, past its first (real) job; the server stopped."""
    with place.server() as sp, tusk.Client(sp.address) as client:
        for repo, name in pipelines:
            create_repo(client, repo)
            client.pps.create_pipeline(pipeline_spec(name, repo, ["true"]))
            wait_done(client, f"{name}@{newest_job(client, name).job.id}")


def grow(place: Place, small: int, large: int, copy: Copier, small_dir: Path) -> tuple[Place, float]:
    """Bulk-insert jobs of `hist` on ``place`` (a server stopped, one job there) up to ``large``;
    the copy taken at ``small`` jobs (in ``small_dir``), and the seconds the inserts took."""
    t0 = time.perf_counter()
    insert_finished_jobs(place, "hist", small - 1)
    small_place = copy(place, small_dir)
    insert_finished_jobs(place, "hist", large - small)
    return small_place, time.perf_counter() - t0


def insert_finished_jobs(place: Place, pipeline: str, n: int, batch: int = 1000) -> None:
    """Append ``n`` finished (SUCCESS) zero-datum jobs of ``pipeline`` to the store of ``place``.
    The server must not be running on it."""
    deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=place.data_dir, store=place.store))
    try:
        with deps.store.read() as tx:
            row = deps.jobs.tables(tx).get_pipeline("default", pipeline)
        if row is None:
            raise BenchError(f"pipeline {pipeline} not found in {place}")
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


def alternate_pages(clients: Sequence[tusk.Client], calls: int, rounds: int) -> list[list[float]]:
    """ListJob first-page seconds on each of ``clients``: warmed up, then ``calls`` each, taken
    alternately in ``rounds`` rounds, so the neighbours' load drifting hits every side alike."""
    for _ in range(max(3, calls // 10)):  # warm-up: connections, caches, first imports
        for client in clients:
            page_seconds(client)
    out: list[list[float]] = [[] for _ in clients]
    per_round = max(1, calls // rounds)
    for _ in range(rounds):
        for pages, client in zip(out, clients, strict=True):
            pages += [page_seconds(client) for _ in range(per_round)]
    return out


def measure(none: Place, small: Place, large: Place, calls: int, rounds: int, samples: int) -> Measured:
    """The three servers up at once. ListJob first pages on the small and the large one, then
    probe jobs on the one with no history and the large one, each alternately in ``rounds``
    rounds; RSS read after the pages."""
    with (
        none.server() as sp_none,
        small.server() as sp_small,
        large.server() as sp_large,
        tusk.Client(sp_none.address) as none_client,
        tusk.Client(sp_small.address) as small_client,
        tusk.Client(sp_large.address) as large_client,
    ):
        small_pages, large_pages = alternate_pages([small_client, large_client], calls, rounds)
        out = Measured(small_pages, large_pages, sp_small.rss(), sp_large.rss(), {"zero": [], "one": []},
                       {"zero": [], "one": []})  # fmt: skip
        for kind in ("zero", "one"):
            job_seconds(none_client, kind, -1)  # warm-up
            job_seconds(large_client, kind, -1)
            for i in range(samples):
                out.none_jobs[kind].append(job_seconds(none_client, kind, i))
                out.large_jobs[kind].append(job_seconds(large_client, kind, i))
        return out


@case("history_scale")
def history_scale(size: Size) -> list[Row]:
    small, large = size.pick(1_000, 60), size.pick(100_000, 600)
    calls, rounds, samples = size.pick(200, 10), size.pick(10, 2), size.pick(15, 2)
    with tempfile.TemporaryDirectory(prefix="tusk-bench-history-") as tmp:
        data = Place(Path(tmp) / "data")
        set_up(data, [("hist_in", "hist"), ("probe_in", "probe")])
        none_copy = copy_sqlite(data, Path(tmp) / "data-none")
        small_copy, insert_s = grow(data, small, large, copy_sqlite, Path(tmp) / "data-small")
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
