"""InspectJob over many distinct jobs, some of them changing while it is measured, 8 concurrent
callers, against a bare grpcio server answering each request with the bytes tusk answered for
that job. Both servers run in their own process, the callers and the writer in this one.

The jobs (1,000 at full size), all real, made through the public API:

* 90% finished: a `true` pipeline over an empty repo, one empty input commit per job (each a
  zero-datum job that ends SUCCESS), each waited for before the next commit;
* 10% changing: a pipeline whose datum waits on a gate file; one job of it is held RUNNING, and
  before each round a fresh set of input commits queues that many jobs behind it (CREATED).
  During the round a writer thread stops them one at a time, newest first (StopJob: each answer
  changes to KILLED, with its reason and end time), paced to spread the changes over the round
  (the pace comes from the warm-up's rate); the row's note says how many changed in the rounds.

Each caller walks the job list with its own offset and stride, so every caller asks for
distinct jobs in a different order; InspectJob with ``details`` (what `pachctl inspect job`
asks for). Requests are serialized once up front and answers are taken as raw bytes, so both
sides cost the client the same.

Baseline, per round and right after tusk's: a table of (request bytes -> the bytes tusk answers
for that request now, i.e. after the round's changes) served by ``bench/bare_proc.py --table``;
the same callers, the same requests. Best of the rounds for each side.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import grpc

import tusk
from bench.common import (
    BenchError,
    TerminalWatch,
    bare_process,
    create_repo,
    finish_commit,
    gate_cmd,
    id_commit,
    newest_job,
    pipeline_spec,
    put_files,
    raw_channel,
    server_process,
    start_commit,
    wait_done,
)
from bench.harness import Row, Size, case
from bench.servers import hammer
from tusk.proto.pps_v2 import pps_pb2

METHOD = "/pps_v2.API/InspectJob"
CALLERS = 8
GOAL = 0.8
CHANGING_SHARE = 10  # one job in this many changes during each round


def finished_jobs(client: tusk.Client, n: int) -> list[pps_pb2.Job]:
    """``n`` finished zero-datum jobs of the `still` pipeline, one empty input commit each."""
    create_repo(client, "still_in")
    client.pps.create_pipeline(pipeline_spec("still", "still_in", ["true"]))
    ids = [newest_job(client, "still").job.id]
    wait_done(client, f"still@{ids[0]}")
    for _ in range(n - 1):
        # One at a time, each waited for: 900 made as a queue of CREATED jobs took this case
        # 636 s in one full run against ~290 s this way (21 s for the 900).
        commit_id = start_commit(client, "still_in")
        finish_commit(client, "still_in", commit_id)
        wait_done(client, f"still@{commit_id}")
        ids.append(commit_id)
    return [pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="still"), id=i) for i in ids]


def queued_jobs(client: tusk.Client, n: int) -> list[pps_pb2.Job]:
    """``n`` jobs of the gated `move` pipeline, queued (CREATED) behind its held job."""
    ids = []
    for _ in range(n):
        commit_id = start_commit(client, "move_in")
        finish_commit(client, "move_in", commit_id)
        ids.append(commit_id)
    return [pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="move"), id=i) for i in ids]


class Writer:
    """Stops ``jobs`` one at a time, newest first, every ``pace`` seconds, until told to stop."""

    def __init__(self, client: tusk.Client, jobs: list[pps_pb2.Job], pace: float) -> None:
        self.client, self.jobs, self.pace = client, jobs, pace
        self.stop = threading.Event()
        self.changed = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for job in reversed(self.jobs):
                if self.stop.wait(self.pace):
                    return
                self.client.pps.stop_job(f"move@{job.id}", reason="bench: a changing job", timeout=60)
                self.changed += 1
        except BaseException as exc:  # reported by join()
            self.error = exc

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(120)
        if self.error is not None:
            raise BenchError(f"the writer's StopJob failed: {self.error}")


def calls_rate(call: grpc.UnaryUnaryMultiCallable, requests: list[bytes], calls_each: int) -> float:
    """``CALLERS`` threads, each asking for ``calls_each`` jobs along its own walk of the list."""
    n = len(requests)
    walks = [iter([requests[(c * 7919 + k * (2 * c + 1)) % n] for k in range(calls_each)]) for c in range(CALLERS)]
    lock = threading.Lock()
    counter = iter(range(CALLERS))
    local = threading.local()

    def step() -> None:
        # hammer() runs ``calls_each`` steps per caller, but its pool may give one thread a second
        # caller's steps after the first caller's (a thread is reused once idle): a thread takes
        # the next unused walk whenever its own is used up.
        request = next(getattr(local, "walk", iter(())), None)
        if request is None:
            with lock:
                local.walk = walks[next(counter)]
            request = next(local.walk)
        call(request, timeout=60)

    return hammer(step, CALLERS, calls_each)


@case("inspect_job_distinct")
def inspect_job_distinct(size: Size) -> list[Row]:
    total, calls, rounds = size.pick(1000, 40), size.pick(400, 20), size.pick(3, 1)
    moving = max(1, total // CHANGING_SHARE)
    best_ours = best_base = 0.0
    changed: list[int] = []
    with (
        tempfile.TemporaryDirectory(prefix="tusk-bench-inspect-") as tmp,
        server_process(datum_workers=2) as sp,
        tusk.Client(sp.address) as client,
        raw_channel(sp.address) as channel,
    ):
        t0 = time.perf_counter()
        still = finished_jobs(client, total - moving)
        made_s = time.perf_counter() - t0
        create_repo(client, "move_in")
        client.pps.create_pipeline(pipeline_spec("move", "move_in", gate_cmd("move_in"), datum_timeout="3600s"))
        wait_done(client, f"move@{newest_job(client, 'move').job.id}")
        gate = Path(tmp) / "gate"
        held = start_commit(client, "move_in")
        put_files(client, "move_in", [("/x", str(gate).encode())], id_commit("move_in", held))
        watch = TerminalWatch(client, f"move@{held}")
        finish_commit(client, "move_in", held)
        ours_call = channel.unary_unary(METHOD)
        for _ in range(rounds):
            jobs = still + queued_jobs(client, moving)
            changing = jobs[len(still) :]
            requests = [pps_pb2.InspectJobRequest(job=j, details=True).SerializeToString() for j in jobs]
            warm = calls_rate(ours_call, requests, max(5, calls // 20))
            pace = CALLERS * calls / warm / (moving + 1)
            with Writer(client, changing, pace) as writer:
                best_ours = max(best_ours, calls_rate(ours_call, requests, calls))
            changed.append(writer.changed)
            table = [(r, ours_call(r, timeout=60)) for r in requests]
            with bare_process(METHOD, table=table) as bare, raw_channel(bare.address) as bare_channel:
                bare_call = bare_channel.unary_unary(METHOD)
                calls_rate(bare_call, requests, max(5, calls // 20))
                best_base = max(best_base, calls_rate(bare_call, requests, calls))
        gate.touch()
        watch.result()
    ratio = best_ours / best_base
    return [
        Row(f"InspectJob, {total:,} distinct jobs, {moving} of them changing, calls/s, {CALLERS} callers", best_ours,
            best_base, "calls/s", ratio, f">= {GOAL}", ratio >= GOAL,
            f"details; changed during the rounds: {', '.join(map(str, changed))} of {moving}; best of {rounds} "
            f"rounds; {total - moving} finished jobs made in {made_s:.0f} s",
            against="bare grpcio server (own process) answering per request the bytes tusk answered for that job"),
    ]  # fmt: skip
