"""Unary RPC overhead: tusk's GetVersion vs a bare grpcio server returning the same bytes."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from bench.harness import Row, Size, case
from bench.servers import alternate, bare_server, hammer, tusk_server
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc


@case("rpc_overhead")
def rpc_overhead(size: Size) -> list[Row]:
    callers, calls, rounds = 8, size.pick(400, 20), size.pick(3, 1)
    with tusk_server() as (address, _deps), grpc.insecure_channel(address) as ch:
        stub = version_pb2_grpc.APIStub(ch)
        payload = stub.GetVersion(empty_pb2.Empty()).SerializeToString()
        with (
            bare_server("/versionpb_v2.API/GetVersion", lambda _req: payload) as bare_address,
            grpc.insecure_channel(bare_address) as bare_ch,
        ):
            call = bare_ch.unary_unary(
                "/versionpb_v2.API/GetVersion", response_deserializer=version_pb2.Version.FromString
            )
            ours, base = alternate(
                lambda: hammer(lambda: stub.GetVersion(empty_pb2.Empty()), callers, calls),
                lambda: hammer(lambda: call(b""), callers, calls),
                rounds,
            )
    ratio = ours / base
    return [
        Row("GetVersion calls/s, 8 callers (in-process)", ours, base, "calls/s", ratio, ">= 0.7", ratio >= 0.7,
            f"best of {rounds} alternating rounds", against="bare grpcio server (in-process), same bytes"),
    ]  # fmt: skip
