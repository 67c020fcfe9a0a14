"""WaitJob fan-out: many WaitJob streams open on one job; the time from a state change to the
last subscriber's message, and the server's RSS per open stream.

Two cases, each with its own server (``bench/serve_proc.py``, own process,
``max_streams_per_kind`` = streams + 100 so every stream is admitted):

* ``waitjob_fanout``: 1,000 streams against the bare floor *of the same server kind*;
* ``waitjob_10k``: 10,000 streams: p99 against an absolute goal and RSS per open stream.

The subscribers are grpc.aio streams in ``PROCESSES`` child processes (bench/fanout_clients.py),
so the client's own work is split as the server's is. Each round:

1. a new input commit is started (the job exists, CREATED, waiting for it) holding one file
   whose content names a gate file; every subscriber opens its stream and gets its first message;
   the server's RSS and thread count are read now (streams open, nothing moving);
2. FinishCommit: the job goes RUNNING (stamped ``started`` by the server) and its one datum
   blocks until the gate file exists (`sh -c 'while [ ! -e "$(cat "$fan")" ] ...'`);
3. once every subscriber has seen RUNNING, the gate opens: the job ends SUCCESS (``finished``).

Latency of a change = the latest arrival (wall clock, this machine) of that state over every
subscriber minus the server's stamp of the change (same clock; read by InspectJob after the
round). Two changes per round; p99 over all of them (with a handful of samples: their maximum).

The server kind is seen, not assumed: if the server's thread count grew by at least half the
streams when they opened, it serves a thread per stream, else it multiplexes them (grpc.aio or
the like). The baseline is ``bench/bare_proc.py --fanout`` of that kind (a thread per stream, or
``--aio``: one event loop), whose followers wait on one condition and each send the same
serialized WaitJobResponse when ``Fire`` notifies it; latency = last arrival minus the time of
the notify, with the same subscriber processes. RSS per stream = (RSS with the streams open -
RSS before they opened) / streams, for tusk and for the bare server alike.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf import duration_pb2

import tusk
from bench.common import (
    BenchError,
    bare_process,
    create_repo,
    finish_commit,
    gate_cmd,
    id_commit,
    median,
    newest_job,
    percentile,
    pipeline_spec,
    put_files,
    server_process,
    start_commit,
    thread_count,
    wait_done,
)
from bench.fanout_clients import FOLLOW, WAITJOB, SubscriberGroups
from bench.harness import Row, Size, case
from tusk.proto.pps_v2 import pps_pb2

PROCESSES = 2
KiB = 1024


@dataclass
class Fanout:
    latencies: list[float] = field(default_factory=list)  # seconds, one per change
    idle_rss: int = 0
    open_rss: int = 0
    idle_threads: int = 0
    open_threads: int = 0
    sample: bytes = b""  # a serialized WaitJobResponse as tusk sent it

    def kib_per_stream(self, streams: int) -> float:
        return (self.open_rss - self.idle_rss) / streams / KiB

    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


def open_timeout(streams: int) -> float:
    return max(60.0, streams / 80)  # 125 s for 10,000 (the bare grpc.aio floor opens them in ~10 s)


def tusk_fanout(streams: int, rounds: int, out: Fanout) -> Fanout:
    """Fills ``out`` as it goes, so a caller still has the RSS and threads seen when it fails."""
    timeout = open_timeout(streams)
    with (
        tempfile.TemporaryDirectory(prefix="tusk-bench-gates-") as tmp,
        server_process(max_streams_per_kind=streams + 100, datum_workers=2) as sp,
        tusk.Client(sp.address) as client,
        SubscriberGroups(sp.address, streams, PROCESSES) as groups,
    ):
        create_repo(client, "fan")
        client.pps.create_pipeline(pipeline_spec("gate", "fan", gate_cmd("fan"), datum_timeout="600s"))
        wait_done(client, f"gate@{newest_job(client, 'gate').job.id}")
        out.idle_rss, out.idle_threads = sp.rss(), thread_count(sp.pid)
        for r in range(rounds):
            gate = Path(tmp) / f"gate{r}"
            commit_id = start_commit(client, "fan")
            put_files(client, "fan", [("/x", str(gate).encode())], id_commit("fan", commit_id), True)
            job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="gate"), id=commit_id)
            request = pps_pb2.WaitJobRequest(job=job, heartbeat_interval=duration_pb2.Duration(seconds=3600))
            try:
                groups.open(WAITJOB, request.SerializeToString(), timeout)
            finally:
                out.open_rss, out.open_threads = (
                    max(out.open_rss, sp.rss()),
                    max(out.open_threads, thread_count(sp.pid)),
                )
            finish_commit(client, "fan", commit_id)
            running_at = groups.wait_mark(pps_pb2.JOB_RUNNING, timeout)
            gate.touch()
            success_at = groups.wait_mark(pps_pb2.JOB_SUCCESS, timeout)
            errors = groups.wait_done(timeout)
            if errors:
                raise BenchError(f"{len(errors)} of {streams} WaitJob streams failed; first: {errors[:3]}")
            info = client.pps.inspect_job(f"gate@{commit_id}")
            out.latencies += [
                running_at - info.started.ToNanoseconds() / 1e9,
                success_at - info.finished.ToNanoseconds() / 1e9,
            ]
            out.sample = pps_pb2.WaitJobResponse(seq=7, job_info=info).SerializeToString()
    return out


def thread_per_stream(ours: Fanout, streams: int) -> bool:
    return ours.open_threads - ours.idle_threads >= streams / 2


def bare_fanout(streams: int, fires: int, threads: bool, sample: bytes) -> Fanout:
    out = Fanout()
    kind = ["--workers", str(streams + 200)] if threads else ["--aio"]
    timeout = open_timeout(streams)
    with (
        bare_process("", sample, "--fanout", "--fires", str(fires), *kind) as bare,
        SubscriberGroups(bare.address, streams, PROCESSES) as groups,
        grpc.insecure_channel(bare.address) as channel,
    ):
        out.idle_rss = bare.rss()
        groups.open(FOLLOW, b"", timeout)
        out.open_rss = bare.rss()
        fire = channel.unary_unary("/bench.Fanout/Fire")
        for k in range(1, fires + 1):
            at = float(fire(b"", timeout=60))
            out.latencies.append(groups.wait_mark(k, timeout) - at)
        groups.wait_done(timeout)
    return out


def kind_name(threads: bool) -> str:
    return "a thread per stream" if threads else "grpc.aio, one event loop"


@case("waitjob_fanout")
def waitjob_fanout(size: Size) -> list[Row]:
    streams, rounds = size.pick(1000, 20), size.pick(3, 1)
    ours = tusk_fanout(streams, rounds, Fanout())
    threads = thread_per_stream(ours, streams)
    floor = bare_fanout(streams, len(ours.latencies), threads, ours.sample)
    ratio = ours.p99_ms() / floor.p99_ms()
    return [
        Row(f"WaitJob: change -> last of {streams} streams, p99, vs the bare floor", ours.p99_ms(), floor.p99_ms(),
            "ms", ratio, "<= 1.3", ratio <= 1.3,
            f"{len(ours.latencies)} changes, median {median(ours.latencies) * 1000:.0f} ms; server kind seen: "
            f"{kind_name(threads)} (threads {ours.idle_threads} -> {ours.open_threads})",
            against=f"bare grpcio fan-out server of the same kind ({kind_name(threads)}), same bytes"),
    ]  # fmt: skip


@case("waitjob_10k")
def waitjob_10k(size: Size) -> list[Row]:
    """A server that cannot hold this many streams is a miss, not a failure to measure: the rows
    say what was seen (NaN figures, the reason in the note)."""
    streams, rounds = size.pick(10_000, 60), size.pick(2, 1)
    ours = Fanout()
    p99_title = f"WaitJob: change -> last of {streams:,} open streams, p99"
    rss_title = f"server RSS per open WaitJob stream, {streams:,} open"
    try:
        tusk_fanout(streams, rounds, ours)
    except BenchError as exc:
        seen = (
            f"tusk could not serve {streams:,} streams: {exc} (server threads {ours.idle_threads} -> "
            f"{ours.open_threads}, RSS {ours.idle_rss / 2**20:.0f} -> {ours.open_rss / 2**20:.0f} MiB)"
        )
        nan = float("nan")
        return [
            Row(p99_title, nan, nan, "ms", nan, "p99 < 1000 ms", False, seen, against="none: not measured"),
            Row(
                rss_title, nan, nan, "KiB/stream", nan, "< 20 KiB per stream", False, seen, against="none: not measured"
            ),
        ]
    threads = thread_per_stream(ours, streams)
    against = f"bare grpcio fan-out server of the same kind ({kind_name(threads)})"
    try:
        floor = bare_fanout(streams, len(ours.latencies), threads, ours.sample)
        floor_p99, floor_per_stream, floor_note = floor.p99_ms(), floor.kib_per_stream(streams), ""
    except BenchError as exc:
        floor_p99 = floor_per_stream = float("nan")
        floor_note = f"; the bare floor of this kind could not serve {streams:,} streams: {exc}"
    per_stream = ours.kib_per_stream(streams)
    return [
        Row(p99_title, ours.p99_ms(), floor_p99, "ms", ours.p99_ms() / floor_p99, "p99 < 1000 ms",
            ours.p99_ms() < 1000,
            f"{len(ours.latencies)} changes, median {median(ours.latencies) * 1000:.0f} ms; server kind seen: "
            f"{kind_name(threads)}{floor_note}", against=against),
        Row(rss_title, per_stream, floor_per_stream, "KiB/stream", per_stream / floor_per_stream, "< 20 KiB per stream",
            per_stream < 20,
            f"RSS {ours.idle_rss / 2**20:.0f} -> {ours.open_rss / 2**20:.0f} MiB as the streams opened; threads "
            f"{ours.idle_threads} -> {ours.open_threads}", against=against),
    ]  # fmt: skip
