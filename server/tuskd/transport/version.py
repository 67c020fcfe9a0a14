"""versionpb_v2.API servicer: answers GetVersion."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc
from tuskd import version
from tuskd.transport.unimplemented import complete_servicer


@complete_servicer(version_pb2.DESCRIPTOR.services_by_name["API"])
class VersionApi(version_pb2_grpc.APIServicer):
    def GetVersion(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> version_pb2.Version:
        return version_pb2.Version(**version.describe())  # type: ignore[arg-type]
