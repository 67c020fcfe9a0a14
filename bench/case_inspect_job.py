"""InspectJob throughput on one unchanged job, 8 concurrent callers, against a bare grpcio server answering the same
serialized JobInfo bytes (no tusk code). Both servers run in their own process, the callers in
this one, so neither server shares a GIL with the load generator.

The job is the seed's `edges` example (docs: inspect job --raw): with ``details`` its JobInfo is
the ~1.5 KB message of that example when printed as JSON (a few hundred bytes as protobuf, the
size in the row). Measured without ``details`` too. Many distinct and changing jobs:
bench/case_inspect_job_distinct.py.
"""

from __future__ import annotations

import grpc
from google.protobuf import json_format

import tusk
from bench.common import (
    bare_process,
    create_repo,
    newest_job,
    pipeline_spec,
    put_files,
    raw_channel,
    server_process,
    wait_done,
)
from bench.harness import Row, Size, case
from bench.servers import alternate, hammer
from tusk.proto.pps_v2 import pps_pb2

METHOD = "/pps_v2.API/InspectJob"
CALLERS = 8
GOAL = 0.8


def edges_job(client: tusk.Client) -> pps_pb2.Job:
    """The seed's `edges` pipeline and its one job over two images, finished."""
    create_repo(client, "images")
    client.pps.create_pipeline(
        pipeline_spec("edges", "images", ["true"], datum_tries=3)
        | {"transform": {"image": "pachyderm/opencv", "cmd": ["true"]}}
    )
    put_files(client, "images", [("/a.png", b"alpha"), ("/b.png", b"bravo")])
    job = newest_job(client, "edges")
    wait_done(client, f"edges@{job.job.id}")
    return job.job


def rate(call: grpc.UnaryUnaryMultiCallable, request: pps_pb2.InspectJobRequest, calls: int) -> float:
    """Calls/s of ``request`` through ``call`` from :data:`CALLERS` threads, ``calls`` each."""
    return hammer(lambda: call(request, timeout=30), CALLERS, calls)


Target = tuple[grpc.UnaryUnaryMultiCallable, pps_pb2.InspectJobRequest]


def side_by_side(ours: Target, base: Target, calls: int, rounds: int) -> tuple[float, float]:
    """Calls/s of two (call, request) targets: both warmed up (connections, first calls), then
    measured alternately ``rounds`` times, the best round of each."""
    for call, request in (ours, base):
        rate(call, request, max(5, calls // 20))
    return alternate(lambda: rate(*ours, calls), lambda: rate(*base, calls), rounds)


@case("inspect_job")
def inspect_job(size: Size) -> list[Row]:
    calls, rounds = size.pick(400, 20), size.pick(3, 1)  # per caller and round
    rows = []
    with server_process(datum_workers=2) as sp, tusk.Client(sp.address) as client:
        job = edges_job(client)
        with raw_channel(sp.address) as channel:
            ours_call = inspect_call(channel)
            for details in (True, False):
                request = pps_pb2.InspectJobRequest(job=job, details=details)
                answer = ours_call(request, timeout=30)
                payload = answer.SerializeToString()
                json_size = len(json_format.MessageToJson(answer, preserving_proto_field_name=True))
                with bare_process(METHOD, payload) as bare, raw_channel(bare.address) as bare_channel:
                    bare_call = inspect_call(bare_channel)
                    ours, base = side_by_side((ours_call, request), (bare_call, request), calls, rounds)
                ratio = ours / base
                what = "details" if details else "no details"
                rows.append(Row(f"InspectJob, one unchanged job ({what}, {len(payload)} B) calls/s, {CALLERS} callers",
                                ours, base, "calls/s", ratio, f">= {GOAL}", ratio >= GOAL,
                                f"{json_size} B as JSON; best of {rounds} alternating rounds",
                                against="bare grpcio server (own process) answering the same bytes"))  # fmt: skip
    return rows


def inspect_call(channel: grpc.Channel) -> grpc.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        METHOD,
        request_serializer=pps_pb2.InspectJobRequest.SerializeToString,
        response_deserializer=pps_pb2.JobInfo.FromString,
    )
