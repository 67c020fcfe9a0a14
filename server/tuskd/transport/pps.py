"""pps_v2.API servicer: pipelines, jobs and datums over gRPC (thin: convert, call, convert)."""

from __future__ import annotations

from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc

from tuskd.transport.unimplemented import complete_servicer


@complete_servicer(pps_pb2.DESCRIPTOR.services_by_name["API"])
class PpsApi(pps_pb2_grpc.APIServicer):
    """Every RPC not defined here answers UNIMPLEMENTED naming itself."""
