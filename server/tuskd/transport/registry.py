"""Registers every tusk servicer on a gRPC server; the one list of what the server serves."""

from __future__ import annotations

import grpc

from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc
from tuskd.transport.pfs import PfsApi
from tuskd.transport.pps import PpsApi
from tuskd.transport.version import VersionApi
from tuskd.wiring import Deps


def register_services(server: grpc.Server, deps: Deps) -> tuple[str, ...]:
    """Add the pfs, pps and version services; return their full names (for reflection)."""
    pfs_pb2_grpc.add_APIServicer_to_server(PfsApi(deps), server)
    pps_pb2_grpc.add_APIServicer_to_server(PpsApi(deps), server)
    version_pb2_grpc.add_APIServicer_to_server(VersionApi(), server)
    return (
        pfs_pb2.DESCRIPTOR.services_by_name["API"].full_name,
        pps_pb2.DESCRIPTOR.services_by_name["API"].full_name,
        version_pb2.DESCRIPTOR.services_by_name["API"].full_name,
    )
