"""WaitJob fan-out: 1,000 concurrent WaitJob streams on one running job; the time from a state
change to the last subscriber's message, and the server's RSS with the streams open.

The server runs as its own process (max_streams_per_kind=1100: each open stream holds a
server thread, and 1,000 WaitJob streams are past the default limit of 256).
The subscribers are grpc.aio streams in this process, spread over 10 channels. Each round:

1. a new input commit is started (the job exists, CREATED, waiting for it) holding one file
   whose content names a gate file; every subscriber opens its stream and gets its first message;
2. FinishCommit: the job goes RUNNING (a change stamped ``started`` by the server) and its one
   datum blocks until the gate file exists (`sh -c 'while [ ! -e "$(cat "$fan")" ] ...'`);
3. once every subscriber has seen RUNNING, the gate opens: the job ends SUCCESS (``finished``).

Latency of a change = the arrival (wall clock, this machine) of the last subscriber's message
with that state minus the server's timestamp of the change (same clock). Two changes per round;
p99 over all of them (with a handful of samples that is their maximum). Client-side parsing of
1,000 messages is included: it is an upper bound of the server's delivery time.

Baseline, same run, same subscriber code: ``bench/bare_proc.py --fanout``, a bare grpcio server
(own process, 1,200 threads) whose 1,000 stream handlers block on one condition and each send
the same serialized WaitJobResponse when it is notified; latency = last arrival minus the
server's time of the notify. That is what delivering one change costs grpcio alone here.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import grpc
from google.protobuf import duration_pb2

import tusk
from bench.common import (
    TERMINAL,
    BenchError,
    MiB,
    bare_process,
    channel_options,
    create_repo,
    finish_commit,
    id_commit,
    newest_job,
    percentile,
    pipeline_spec,
    put_files,
    server_process,
    start_commit,
    wait_done,
)
from bench.harness import Row, Size, case
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc

GATE_CMD = ["sh", "-c", 'g=$(cat "$fan"); while [ ! -e "$g" ]; do sleep 0.005; done']
CHANNELS = 10


class Subscriber:
    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}  # state -> wall time of its first message
        self.first = False
        self.error: BaseException | None = None

    async def follow(self, stub: pps_pb2_grpc.APIStub, request: pps_pb2.WaitJobRequest, fanout: Fanout) -> None:
        try:
            async for response in stub.WaitJob(request):
                now = time.time()
                if not self.first:
                    self.first = True
                    fanout.count("first")
                if not response.HasField("job_info"):
                    continue
                info = response.job_info
                if info.state not in self.arrivals:
                    self.arrivals[info.state] = now
                    fanout.seen(info)
                    fanout.count(info.state)
        except BaseException as exc:  # counted as an error of the case
            self.error = exc
            fanout.count("first")


class Fanout:
    def __init__(self) -> None:
        self.counts: dict[object, int] = {}
        self.stamps: dict[int, float] = {}  # state -> the server's timestamp of that change
        self.changed = asyncio.Event()

    def count(self, key: object) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        self.changed.set()

    def seen(self, info: pps_pb2.JobInfo) -> None:
        if info.state == pps_pb2.JOB_RUNNING and info.HasField("started"):
            self.stamps.setdefault(info.state, info.started.ToNanoseconds() / 1e9)
        if info.state in TERMINAL and info.HasField("finished"):
            self.stamps.setdefault(info.state, info.finished.ToNanoseconds() / 1e9)

    async def until(self, key: object, n: int, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while self.counts.get(key, 0) < n:
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"only {self.counts.get(key, 0)} of {n} subscribers {what} within {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


async def run_rounds(address: str, client: tusk.Client, gates: Path, streams: int, rounds: int,
                     rss: callable) -> tuple[list[float], int, int]:  # fmt: skip
    """(latencies of the timed changes in seconds, max server RSS with the streams open, errors)."""
    channels = [grpc.aio.insecure_channel(address, options=channel_options()) for _ in range(CHANNELS)]
    stubs = [pps_pb2_grpc.APIStub(ch) for ch in channels]
    latencies: list[float] = []
    open_rss = 0
    errors = 0
    try:
        for r in range(rounds):
            gate = gates / f"gate{r}"
            commit_id = await asyncio.to_thread(start_commit, client, "fan")
            await asyncio.to_thread(
                put_files, client, "fan", [("/x", str(gate).encode())], id_commit("fan", commit_id), True
            )
            request = pps_pb2.WaitJobRequest(
                job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="gate"), id=commit_id),
                heartbeat_interval=duration_pb2.Duration(seconds=600),
            )
            fanout = Fanout()
            subs = [Subscriber() for _ in range(streams)]
            tasks = [asyncio.create_task(s.follow(stubs[i % CHANNELS], request, fanout)) for i, s in enumerate(subs)]
            await fanout.until("first", streams, 120, "got their first message")
            open_rss = max(open_rss, rss())
            await asyncio.to_thread(finish_commit, client, "fan", commit_id)
            await fanout.until(pps_pb2.JOB_RUNNING, streams, 120, "saw RUNNING")
            gate.touch()
            await asyncio.wait_for(asyncio.gather(*tasks), 120)
            errors += sum(1 for s in subs if s.error is not None)
            for state in (pps_pb2.JOB_RUNNING, pps_pb2.JOB_SUCCESS):
                got = [s.arrivals[state] for s in subs if state in s.arrivals]
                if len(got) != streams or state not in fanout.stamps:
                    raise BenchError(
                        f"round {r}: {len(got)} of {streams} subscribers got {pps_pb2.JobState.Name(state)}"
                    )
                latencies.append(max(got) - fanout.stamps[state])
    finally:
        for ch in channels:
            await ch.close()
    return latencies, open_rss, errors


async def bare_rounds(address: str, streams: int, fires: int) -> list[float]:
    """The same subscribers against the bare fan-out server: latency of each of ``fires`` sends."""
    channels = [grpc.aio.insecure_channel(address, options=channel_options()) for _ in range(CHANNELS)]
    arrivals: list[list[float]] = [[] for _ in range(streams)]
    got = [0] * (fires + 1)  # got[k]: subscribers that have their k-th message (0 = the first)
    changed = asyncio.Event()

    async def follow(i: int) -> None:
        call = channels[i % CHANNELS].unary_stream("/bench.Fanout/Follow")
        async for _msg in call(b""):
            arrivals[i].append(time.time())
            got[len(arrivals[i]) - 1] += 1
            changed.set()

    async def until(k: int) -> None:
        deadline = time.monotonic() + 120
        while got[k] < streams:
            changed.clear()
            if time.monotonic() > deadline:
                raise BenchError(f"bare fan-out: {got[k]} of {streams} followers got message {k}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 1.0)

    latencies = []
    try:
        tasks = [asyncio.create_task(follow(i)) for i in range(streams)]
        await until(0)
        fire = channels[0].unary_unary("/bench.Fanout/Fire")
        for k in range(1, fires + 1):
            at = float(await fire(b""))
            await until(k)
            latencies.append(max(a[k] for a in arrivals) - at)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        for ch in channels:
            await ch.close()
    return latencies


@case("waitjob_fanout")
def waitjob_fanout(size: Size) -> list[Row]:
    streams, rounds = size.pick(1000, 20), size.pick(3, 1)
    with (
        tempfile.TemporaryDirectory(prefix="tusk-bench-gates-") as tmp,
        server_process(max_streams_per_kind=1100, datum_workers=2) as sp,
        tusk.Client(sp.address) as client,
    ):
        create_repo(client, "fan")
        client.pps.create_pipeline(pipeline_spec("gate", "fan", GATE_CMD, datum_timeout="120s"))
        wait_done(client, f"gate@{newest_job(client, 'gate').job.id}")
        idle_rss = sp.rss()
        sp.reset_peak()
        latencies, open_rss, errors = asyncio.run(run_rounds(sp.address, client, Path(tmp), streams, rounds, sp.rss))
        peak = sp.peak_rss()
        sample = pps_pb2.WaitJobResponse(
            seq=7, job_info=client.pps.inspect_job(f"gate@{newest_job(client, 'gate').job.id}")
        )
    with bare_process("", sample.SerializeToString(), "--fanout", "--fires", str(len(latencies)),
                      "--workers", "1200") as bare:  # fmt: skip
        floor = asyncio.run(bare_rounds(bare, streams, len(latencies)))
    if errors:
        raise BenchError(f"{errors} WaitJob streams failed")
    p99, floor_p99 = percentile(latencies, 99), percentile(floor, 99)
    per_stream_kib = (open_rss - idle_rss) / streams / 1024
    return [
        Row(f"WaitJob fan-out: change -> last of {streams} subscribers, p99", p99 * 1000, floor_p99 * 1000, "ms",
            p99 / floor_p99, "p99 < 1000 ms", p99 < 1.0,
            f"{len(latencies)} changes; median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms"),
        Row(f"server RSS with {streams} WaitJob streams open", open_rss / MiB, idle_rss / MiB, "MiB",
            open_rss / idle_rss, "-", None, f"{per_stream_kib:.0f} KiB per stream; peak {peak / MiB:.0f} MiB"),
    ]  # fmt: skip
