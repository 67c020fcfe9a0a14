"""Datums on a Dask cluster (`--executor dask://`, blobs on SeaweedFS): a scheduler and `tusk
worker` processes on this machine, started per configuration (tests/daskcluster.py).

* sleep-bound datums (`sleep 0.2`) on 1 and 2 workers x 2 slots: datums/s against the ideal
  (slots / 0.2 s), goal >= 0.8;
* `true` datums on 2 slots of Dask (2 workers x 1 slot, datum sets) against the local thread
  pool of 2 datum workers on the same machine, same input, goal >= 0.5;
* worker loss: one of 2 workers SIGKILLed once a third of the sleep datums have started; the
  job's time against the same job without the loss, and the datum runs beyond one per datum.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tusk
from bench.common import (
    BenchError,
    create_repo,
    finish_commit,
    id_commit,
    newest_job,
    pipeline_spec,
    put_files,
    start_commit,
    timed_commit_job,
    wait_done,
)
from bench.harness import Row, Size, case
from bench.servers import tusk_server
from tests.daskcluster import S3_ENV, DaskCluster, start_cluster
from tests.s3servers import S3Server, start_seaweedfs
from tuskd.config import parse_blobs_url

SLEEP = 0.2
SLOTS_PER_WORKER = 2


@contextmanager
def _seaweedfs() -> Iterator[tuple[S3Server, Path]]:
    os.environ.update(S3_ENV)  # the in-process server reads S3 credentials from the AWS chain
    with tempfile.TemporaryDirectory(prefix="tusk-bench-dask-") as tmp:
        s3 = start_seaweedfs(Path(tmp) / "seaweedfs")
        try:
            yield s3, Path(tmp)
        finally:
            s3.stop()


@contextmanager
def _cluster(s3: S3Server, root: Path, workers: int, slots: int) -> Iterator[DaskCluster]:
    cluster = start_cluster(root, s3, f"bench/{root.name}", workers=workers, slots=slots)
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def _dask_server(cluster: DaskCluster) -> Iterator[str]:
    with tusk_server(blobs_s3=parse_blobs_url(cluster.blobs_url), executor_url=cluster.executor_url) as (address, _):
        yield address


def _job_seconds(address: str, n: int, cmd: list[str], parallelism: int, name: str = "p") -> float:
    with tusk.Client(address) as client:
        create_repo(client, "in")
        client.pps.create_pipeline(pipeline_spec(name, "in", cmd, parallelism=parallelism))
        wait_done(client, f"{name}@{newest_job(client, name).job.id}")  # the empty repo's job
        seconds = timed_commit_job(client, "in", [name], [(f"/d{i:05d}", b"%d\n" % i) for i in range(n)])
        job = newest_job(client, name)
        if job.data_processed != n:
            raise BenchError(f"expected {n} datums processed, the job says {job.data_processed}")
    return seconds


@case("dask_throughput")
def dask_throughput(size: Size) -> list[Row]:
    n_sleep = size.pick(200, 10)
    n_true = size.pick(1000, 20)
    rows = []
    with _seaweedfs() as (s3, tmp):
        for workers in (1, 2):
            slots = workers * SLOTS_PER_WORKER
            with (
                _cluster(s3, tmp / f"sleep{workers}", workers, SLOTS_PER_WORKER) as cluster,
                _dask_server(cluster) as address,
            ):
                seconds = _job_seconds(address, n_sleep, ["sleep", str(SLEEP)], slots)
            ours, ideal = n_sleep / seconds, slots / SLEEP
            rows.append(
                Row(f"Dask, {n_sleep} datums `sleep {SLEEP}`, {workers} worker(s) x {SLOTS_PER_WORKER} slots",
                    ours, ideal, "datums/s", ours / ideal, ">= 0.8", ours / ideal >= 0.8, f"job {seconds:.1f} s",
                    against="the ideal: slots / 0.2 s (every slot always sleeping)")
            )  # fmt: skip
        with _cluster(s3, tmp / "true", 2, 1) as cluster, _dask_server(cluster) as address:
            dask_s = _job_seconds(address, n_true, ["true"], 2)
        with tusk_server(datum_workers=2) as (address, _):
            local_s = _job_seconds(address, n_true, ["true"], 2)
        ratio = local_s / dask_s
        rows.append(
            Row(f"Dask (datum sets) vs local pool, {n_true} datums `true`, 2 slots", n_true / dask_s,
                n_true / local_s, "datums/s", ratio, ">= 0.5", ratio >= 0.5,
                f"Dask {dask_s:.1f} s, local {local_s:.1f} s",
                against="tusk itself: the same job on the local thread pool, same run")
        )  # fmt: skip
    return rows


def _killed_run(cluster: DaskCluster, n: int, runs: Path) -> tuple[float, float]:
    """Seconds of the job with a worker killed a third of the way in; seconds from the kill to
    the job's end."""
    script = f'echo run >> "{runs}/$(basename "$in")"; sleep {SLEEP}'
    with _dask_server(cluster) as address, tusk.Client(address) as client:
        create_repo(client, "in")
        slots = len(cluster.workers) * SLOTS_PER_WORKER
        client.pps.create_pipeline(pipeline_spec("loss", "in", ["sh", "-c", script], parallelism=slots))
        wait_done(client, f"loss@{newest_job(client, 'loss').job.id}")
        commit = start_commit(client, "in")
        put_files(client, "in", [(f"/d{i:05d}", b"x") for i in range(n)], commit=id_commit("in", commit))
        t0 = time.perf_counter()
        finish_commit(client, "in", commit)
        deadline = t0 + 300
        while len(os.listdir(runs)) < max(n // 3, 2):
            if time.perf_counter() > deadline:
                raise BenchError("the datums never started")
            time.sleep(0.01)
        victim = cluster.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.perf_counter()
        info = wait_done(client, f"loss@{commit}")
        end = time.perf_counter()
        if info.data_processed != n:
            raise BenchError(f"expected {n} datums processed after the loss, the job says {info.data_processed}")
    return end - t0, end - killed_at


@case("dask_worker_loss")
def dask_worker_loss(size: Size) -> list[Row]:
    n = size.pick(100, 12)
    with _seaweedfs() as (s3, tmp):
        with _cluster(s3, tmp / "steady", 2, SLOTS_PER_WORKER) as cluster, _dask_server(cluster) as address:
            steady = _job_seconds(address, n, ["sh", "-c", f"sleep {SLEEP}"], 2 * SLOTS_PER_WORKER)
        runs = tmp / "runs"
        runs.mkdir()
        with _cluster(s3, tmp / "loss", 2, SLOTS_PER_WORKER) as cluster:
            total, after_kill = _killed_run(cluster, n, runs)
        extra = sum(len((runs / name).read_text().split()) for name in os.listdir(runs)) - n
    return [
        Row(f"Dask worker loss, {n} datums `sleep {SLEEP}`, 1 of 2 workers killed", total, steady, "s",
            total / steady, "reported", None,
            f"{after_kill:.1f} s from the kill to the end; {extra} datum runs repeated",
            against="tusk itself: the same job on the same cluster without a kill, same run")
    ]  # fmt: skip
