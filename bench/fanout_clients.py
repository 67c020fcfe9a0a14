"""Many open server streams from a few client processes, for the WaitJob fan-out cases.

One Python process cannot take 10,000 streams' messages fast enough to measure a server's
delivery (the client would be what is timed), so the subscribers are spread over a few child
processes (``multiprocessing`` spawn), each an asyncio loop holding its share of the streams as
grpc.aio calls over its own connections (a local subchannel pool per channel, so the channels
do not share one TCP connection), about ``PER_CHANNEL`` streams each. Responses are taken as raw
bytes: a WaitJob message is parsed only far enough to know its job state.

A stream's messages are sorted into *marks*: ``"first"`` for its first message, then, for
WaitJob, each job state the first time the stream sees it, or, for the bare fan-out server
(bench/bare_proc.py ``Follow``), the index of each later message (1, 2, ...). When every stream
of a child has a mark, the child reports that mark with the latest arrival among its streams
(wall clock, ``time.time()``); the parent's figure is the latest over the children.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import grpc

from bench.common import BenchError, channel_options
from tusk.proto.pps_v2 import pps_pb2

PER_CHANNEL = 100
WAITJOB = "/pps_v2.API/WaitJob"
FOLLOW = "/bench.Fanout/Follow"


class SubscriberGroups:
    """``streams`` server streams opened from ``processes`` child processes."""

    def __init__(self, address: str, streams: int, processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.shares = [streams // processes + (1 if i < streams % processes else 0) for i in range(processes)]
        self.shares = [s for s in self.shares if s]
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for share in self.shares:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(child, address, share), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def open(self, method: str, request: bytes, timeout: float = 300) -> None:
        """Open every stream; return once each has its first message."""
        for conn in self.conns:
            conn.send(("open", method, request))
        self.wait_mark("first", timeout)

    def wait_mark(self, mark: object, timeout: float) -> float:
        """The latest arrival of ``mark`` over every stream (wall clock)."""
        latest = 0.0
        for conn in self.conns:
            latest = max(latest, self._expect(conn, "mark", mark, timeout))
        return latest

    def wait_done(self, timeout: float) -> list[str]:
        """Wait for every stream to end; the errors of those that failed."""
        errors: list[str] = []
        for conn in self.conns:
            errors += self._expect(conn, "done", None, timeout)
        return errors

    def _expect(self, conn: Connection, kind: str, mark: object, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not conn.poll(left):
                raise BenchError(f"subscriber process: no {kind} {mark!r} within {timeout:g} s")
            msg = conn.recv()
            if msg[0] == "error":
                raise BenchError(f"subscriber process failed: {msg[1]}")
            if msg[0] == kind and (kind == "done" or msg[1] == mark):
                return msg[2] if kind == "mark" else msg[1]
            # another mark (e.g. a state this round does not wait for): not the one asked

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("quit",))
        for proc in self.procs:
            proc.join(5)  # a child still in a round (a failed wait) does not read "quit"
            if proc.is_alive():
                proc.kill()
                proc.join(10)

    def __enter__(self) -> SubscriberGroups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _mark_of(method: str, index: int, raw: bytes, seen: set[object]) -> object | None:
    if index == 0:
        return "first"
    if method == FOLLOW:
        return index
    response = pps_pb2.WaitJobResponse.FromString(raw)
    if response.HasField("job_info") and response.job_info.state not in seen:
        return int(response.job_info.state)
    return None


def _child(conn: Connection, address: str, streams: int) -> None:
    try:
        asyncio.run(_child_main(conn, address, streams))
    except BaseException as exc:  # reported to the parent, which raises BenchError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


async def _child_main(conn: Connection, address: str, streams: int) -> None:
    n_channels = max(1, -(-streams // PER_CHANNEL))
    options = [*channel_options(), ("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(n_channels)]
    try:
        while True:
            cmd = await asyncio.to_thread(conn.recv)
            if cmd[0] == "quit":
                return
            _method, method, request = cmd
            await _one_round(conn, channels, method, request, streams)
    finally:
        for ch in channels:
            await ch.close()


async def _one_round(conn: Connection, channels: list[grpc.aio.Channel], method: str, request: bytes,
                     streams: int) -> None:  # fmt: skip
    counts: dict[object, int] = {}
    latest: dict[object, float] = {}
    errors: list[str] = []

    def reached(mark: object, now: float) -> None:
        counts[mark] = counts.get(mark, 0) + 1
        latest[mark] = max(latest.get(mark, 0.0), now)
        if counts[mark] == streams:
            if mark == "first" and errors:  # a stream that failed to open would never move on
                conn.send(("error", f"{len(errors)} of {streams} streams failed to open; first: {errors[:2]}"))
            else:
                conn.send(("mark", mark, latest[mark]))

    async def follow(channel: grpc.aio.Channel) -> None:
        seen: set[object] = set()
        index = 0
        try:
            async for raw in channel.unary_stream(method)(request):
                now = time.time()
                mark = _mark_of(method, index, raw, seen)
                index += 1
                if mark is not None and mark not in seen:
                    seen.add(mark)
                    reached(mark, now)
        except grpc.aio.AioRpcError as err:
            errors.append(f"{err.code().name}: {err.details()}")
            if "first" not in seen:
                reached("first", time.time())  # the parent must not wait for it forever

    tasks = [asyncio.create_task(follow(channels[i % len(channels)])) for i in range(streams)]
    await asyncio.gather(*tasks)
    conn.send(("done", errors))
