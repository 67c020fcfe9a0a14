"""InspectJob throughput, 8 concurrent callers, against a bare grpcio server answering the same
serialized JobInfo bytes (no tusk code). Both servers run in their own process, the callers in
this one, so neither server shares a GIL with the load generator.

The job is the seed's `edges` example (docs: inspect job --raw): with ``details`` its JobInfo is
the ~1.5 KB message of that example when printed as JSON (a few hundred bytes as protobuf, the
size in the row). Measured without ``details`` too.
"""

from __future__ import annotations

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
from bench.servers import hammer
from tusk.proto.pps_v2 import pps_pb2

METHOD = "/pps_v2.API/InspectJob"
CALLERS = 8
GOAL = 0.7


@case("inspect_job")
def inspect_job(size: Size) -> list[Row]:
    calls = size.pick(1000, 20)
    results: list[tuple[bool, float, int]] = []
    payloads: dict[bool, bytes] = {}
    json_sizes: dict[bool, int] = {}
    with server_process(datum_workers=2) as sp, tusk.Client(sp.address) as client:
        create_repo(client, "images")
        client.pps.create_pipeline(
            pipeline_spec("edges", "images", ["true"], datum_tries=3)
            | {"transform": {"image": "pachyderm/opencv", "cmd": ["true"]}}
        )
        put_files(client, "images", [("/a.png", b"alpha"), ("/b.png", b"bravo")])
        job = newest_job(client, "edges")
        wait_done(client, f"edges@{job.job.id}")
        with raw_channel(sp.address) as channel:
            call = channel.unary_unary(
                METHOD,
                request_serializer=pps_pb2.InspectJobRequest.SerializeToString,
                response_deserializer=pps_pb2.JobInfo.FromString,
            )
            for details in (True, False):
                request = pps_pb2.InspectJobRequest(job=job.job, details=details)
                answer = call(request, timeout=30)
                payloads[details] = answer.SerializeToString()
                json_sizes[details] = len(json_format.MessageToJson(answer, preserving_proto_field_name=True))
                hammer(lambda r=request: call(r, timeout=30), CALLERS, max(5, calls // 20))  # warm-up
                ours = hammer(lambda r=request: call(r, timeout=30), CALLERS, calls)
                results.append((details, ours, len(payloads[details])))
    rows = []
    for details, ours, nbytes in results:
        request = pps_pb2.InspectJobRequest(details=details)
        with bare_process(METHOD, payloads[details]) as address, raw_channel(address) as channel:
            call = channel.unary_unary(
                METHOD,
                request_serializer=pps_pb2.InspectJobRequest.SerializeToString,
                response_deserializer=pps_pb2.JobInfo.FromString,
            )
            hammer(lambda r=request, c=call: c(r, timeout=30), CALLERS, max(5, calls // 20))
            base = hammer(lambda r=request, c=call: c(r, timeout=30), CALLERS, calls)
        ratio = ours / base
        what = "details" if details else "no details"
        rows.append(Row(f"InspectJob ({what}, {nbytes} B) calls/s, {CALLERS} callers", ours, base, "calls/s",
                        ratio, f">= {GOAL}", ratio >= GOAL, f"{json_sizes[details]} B as JSON"))  # fmt: skip
    return rows
