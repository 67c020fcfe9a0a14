"""Unary RPC overhead: tusk's GetVersion vs a bare grpcio server returning the same bytes."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from bench.harness import Row, Size, case
from bench.servers import bare_server, hammer, tusk_server
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc


@case("rpc_overhead")
def rpc_overhead(size: Size) -> list[Row]:
    callers, calls = 8, size.pick(1000, 20)
    with tusk_server() as (address, _deps), grpc.insecure_channel(address) as ch:
        stub = version_pb2_grpc.APIStub(ch)
        payload = stub.GetVersion(empty_pb2.Empty()).SerializeToString()
        ours = hammer(lambda: stub.GetVersion(empty_pb2.Empty()), callers, calls)
    with (
        bare_server("/versionpb_v2.API/GetVersion", lambda _req: payload) as address,
        grpc.insecure_channel(address) as ch,
    ):
        call = ch.unary_unary("/versionpb_v2.API/GetVersion", response_deserializer=version_pb2.Version.FromString)
        base = hammer(lambda: call(b""), callers, calls)
    ratio = ours / base
    return [Row("GetVersion calls/s, 8 callers", ours, base, "calls/s", ratio, ">= 0.7", ratio >= 0.7)]
