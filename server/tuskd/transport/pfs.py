"""pfs_v2.API servicer: repos, branches, commits and files over gRPC (thin: convert, call, convert)."""

from __future__ import annotations

from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc

from tuskd.transport.base import ServicerBase
from tuskd.transport.unimplemented import complete_servicer


@complete_servicer(pfs_pb2.DESCRIPTOR.services_by_name["API"])
class PfsApi(ServicerBase, pfs_pb2_grpc.APIServicer):
    """Every RPC not defined here answers UNIMPLEMENTED naming itself."""
