"""Load: 50 concurrent clients mixing ListJob, InspectJob, WaitJob, ListDatum and small puts while a
2,000-datum job runs; sustained ops/s and p99 latency against the same mix on the idle server
(the job finished) in the same run; and the job's own time (FinishCommit -> SUCCESS) against the
same 2,000-datum job run afterwards with no load (every file replaced, so all 2,000 datums run
again), on the same server. All three compare tusk with itself: what the load costs. The server
runs as its own process.

Each client has its own channel and one WaitJob stream following the job to its terminal message
(checked: every one must get it), and loops over five short operations, each timed:

* ListJob, first page of 50, newest first;
* InspectJob of the running job;
* ListDatum of the running job, first page of 100;
* a put: ModifyFile of one 64-byte file to a repo no pipeline reads (its own commit);
* WaitJob opened on the running job: its first message, then the stream is cancelled.

Any error fails the row (errors are counted and the first few reported).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import duration_pb2, wrappers_pb2

import tusk
from bench.common import (
    TERMINAL,
    BenchError,
    TerminalWatch,
    branch_commit,
    create_repo,
    finish_commit,
    id_commit,
    newest_job,
    percentile,
    pipeline_spec,
    put_files,
    raw_channel,
    server_process,
    start_commit,
    timed_commit_job,
    wait_done,
)
from bench.harness import Row, Size, case
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc

OPS = ("ListJob", "InspectJob", "ListDatum", "put", "WaitJob")


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {op: [] for op in OPS}
        self.errors: list[str] = []
        self.terminal = 0

    def add(self, op: str, seconds: float) -> None:
        with self.lock:
            self.latencies[op].append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)

    def all(self) -> list[float]:
        return [t for ts in self.latencies.values() for t in ts]


class LoadClient:
    """One of the concurrent clients: its own channel, its follower stream, its op loop."""

    def __init__(self, index: int, address: str, job: pps_pb2.Job, tally: Tally) -> None:
        self.index = index
        self.channel = raw_channel(address)
        self.pps = pps_pb2_grpc.APIStub(self.channel)
        self.pfs = pfs_pb2_grpc.APIStub(self.channel)
        self.job = job
        self.tally = tally
        self.puts = 0

    def follow(self) -> None:
        request = pps_pb2.WaitJobRequest(job=self.job, heartbeat_interval=duration_pb2.Duration(seconds=5))
        try:
            for response in self.pps.WaitJob(request, timeout=900):
                if response.HasField("job_info") and response.job_info.state in TERMINAL:
                    with self.tally.lock:
                        self.tally.terminal += 1
        except grpc.RpcError as err:
            self.tally.error(f"follower WaitJob: {err.code().name}: {err.details()}")

    def ops(self) -> list[Callable[[], object]]:
        def list_job() -> object:
            return list(self.pps.ListJob(pps_pb2.ListJobRequest(page_size=50), timeout=60))

        def inspect_job() -> object:
            return self.pps.InspectJob(pps_pb2.InspectJobRequest(job=self.job), timeout=60)

        def list_datum() -> object:
            return list(self.pps.ListDatum(pps_pb2.ListDatumRequest(job=self.job, page_size=100), timeout=60))

        def put() -> object:
            self.puts += 1
            path = f"/c{self.index:02d}/f{self.puts:06d}"
            requests = [
                pfs_pb2.ModifyFileRequest(set_commit=branch_commit("scratch")),
                pfs_pb2.ModifyFileRequest(
                    add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=b"x" * 64))
                ),
            ]
            return self.pfs.ModifyFile(iter(requests), timeout=60)

        def wait_first() -> object:
            call = self.pps.WaitJob(pps_pb2.WaitJobRequest(job=self.job), timeout=60)
            try:
                return next(call)
            finally:
                call.cancel()

        return [list_job, inspect_job, list_datum, put, wait_first]

    def loop(self, stop: threading.Event) -> None:
        ops = self.ops()
        i = self.index
        while not stop.is_set():
            op = ops[i % len(ops)]
            i += 1
            t0 = time.perf_counter()
            try:
                op()
            except grpc.RpcError as err:
                self.tally.error(f"{OPS[(i - 1) % len(OPS)]}: {err.code().name}: {err.details()}")
                continue
            self.tally.add(OPS[(i - 1) % len(OPS)], time.perf_counter() - t0)


def run_mix(clients: list[LoadClient], stop: threading.Event, until: Callable[[], None]) -> tuple[Tally, float]:
    """Start every client's follower and loop, call ``until`` (blocks), stop; (tally, seconds)."""
    followers = [threading.Thread(target=c.follow, daemon=True) for c in clients]
    loops = [threading.Thread(target=c.loop, args=(stop,), daemon=True) for c in clients]
    for t in followers:
        t.start()
    t0 = time.perf_counter()
    for t in loops:
        t.start()
    until()
    stop.set()
    elapsed = time.perf_counter() - t0
    for t in [*loops, *followers]:
        t.join(120)
        if t.is_alive():
            raise BenchError("a load client did not finish within 120 s")
    return clients[0].tally, elapsed


@dataclass
class Mix:
    """One run of the mix on one server: during the job, idle, and the job alone."""

    n_clients: int
    datums: int
    busy: Tally
    busy_s: float
    idle: Tally
    idle_s: float
    job_s: float  # FinishCommit -> SUCCESS of the job under the load
    alone_s: float  # the same job with no load

    @property
    def busy_rate(self) -> float:
        return len(self.busy.all()) / self.busy_s

    @property
    def idle_rate(self) -> float:
        return len(self.idle.all()) / self.idle_s

    def p99_ms(self, tally: Tally) -> float:
        return percentile(tally.all(), 99) * 1000

    def worst(self) -> tuple[str, float]:
        """The op with the highest p99 during the job, and that p99 in ms."""
        op = max(OPS, key=lambda op: percentile(self.busy.latencies[op], 99))
        return op, percentile(self.busy.latencies[op], 99) * 1000

    def checks(self) -> str:
        return f"0 errors, {self.n_clients}/{self.n_clients} WaitJob terminal, job {self.datums}/{self.datums} datums"


def run_load(size: Size, **config: Any) -> Mix:
    """The whole mix on a new server process (``config``: its ServerConfig fields, e.g. ``store``);
    BenchError on any error, a follower without its terminal message, or a datum missing."""
    n_clients, datums, idle_s = size.pick(50, 6), size.pick(2000, 40), size.pick(15, 2)
    with server_process(datum_workers=2, **config) as sp, tusk.Client(sp.address) as client:
        create_repo(client, "load")
        create_repo(client, "scratch")
        client.pps.create_pipeline(pipeline_spec("work", "load", ["true"], parallelism=2))
        wait_done(client, f"work@{newest_job(client, 'work').job.id}")
        commit_id = start_commit(client, "load")
        put_files(client, "load", [(f"/d{i:05d}", b"%d\n" % i) for i in range(datums)], id_commit("load", commit_id))
        job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="work"), id=commit_id)

        busy = Tally()
        clients = [LoadClient(i, sp.address, job, busy) for i in range(n_clients)]
        finished: dict[str, pps_pb2.JobInfo] = {}

        watch = TerminalWatch(client, f"work@{commit_id}")
        job_s: list[float] = []

        def until_job_done() -> None:
            t0 = time.perf_counter()
            finish_commit(client, "load", commit_id)
            info, at = watch.result()
            job_s.append(at - t0)
            finished["job"] = info

        busy, busy_s = run_mix(clients, threading.Event(), until_job_done)
        job_info = finished["job"]
        if job_info.data_processed != datums:
            raise BenchError(f"the job processed {job_info.data_processed} of {datums} datums")
        for c in clients:
            c.channel.close()

        idle = Tally()
        clients = [LoadClient(i, sp.address, job, idle) for i in range(n_clients)]
        idle, idle_s_real = run_mix(clients, threading.Event(), lambda: time.sleep(idle_s))
        for c in clients:
            c.channel.close()
        alone_s = timed_commit_job(client, "load", ["work"], [(f"/d{i:05d}", b"%d again\n" % i) for i in range(datums)],
                                   replace=True)  # fmt: skip
        alone = newest_job(client, "work")
        if alone.data_processed != datums:
            raise BenchError(f"the job without load processed {alone.data_processed} of {datums} datums")
    for name, tally in (("during the job", busy), ("idle", idle)):
        if tally.errors:
            raise BenchError(f"{len(tally.errors)} errors {name}; first: {tally.errors[:3]}")
        if tally.terminal != n_clients:
            raise BenchError(f"{name}: {tally.terminal} of {n_clients} WaitJob followers got the terminal message")
    return Mix(n_clients, datums, busy, busy_s, idle, idle_s_real, job_s[0], alone_s)


@case("load_mix")
def load_mix(size: Size) -> list[Row]:
    m = run_load(size)
    n_clients, datums = m.n_clients, m.datums
    busy_p99, idle_p99 = m.p99_ms(m.busy), m.p99_ms(m.idle)
    worst, worst_p99 = m.worst()
    itself = "tusk itself: the same mix on the idle server (the job done), same run"
    rate_ratio, p99_ratio, slow = m.busy_rate / m.idle_rate, busy_p99 / idle_p99, m.job_s / m.alone_s
    return [
        Row(f"load mix, {n_clients} clients during a {datums}-datum job vs idle: ops/s", m.busy_rate, m.idle_rate,
            "ops/s", rate_ratio, ">= 0.9", rate_ratio >= 0.9, m.checks(), against=itself),
        Row(f"load mix, {n_clients} clients during the job vs idle: p99 latency", busy_p99, idle_p99, "ms",
            p99_ratio, "<= 1.5", p99_ratio <= 1.5, f"slowest op {worst} p99 {worst_p99:.0f} ms", against=itself),
        Row(f"load mix: the {datums}-datum job under the load vs alone", m.job_s, m.alone_s, "s", slow, "<= 1.5",
            slow <= 1.5, "FinishCommit -> SUCCESS; alone = every file replaced, all datums run again",
            against="tusk itself: the same job with no load, same server, same run"),
    ]  # fmt: skip
