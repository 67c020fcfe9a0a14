"""Server reflection that also finds methods by name.

grpc-python's reflection service looks symbols up with protobuf's descriptor pool, which finds
services and messages but not methods (grpc/grpc#34743), so `grpcurl describe
pps_v2.API.WaitJob` failed with "Symbol not found". A method is looked up through its service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc


class _MethodAwareReflection(reflection.ReflectionServicer):
    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        service_name, _, method = fully_qualified_name.rpartition(".")
        try:
            self._pool.FindFileContainingSymbol(fully_qualified_name)
        except KeyError:
            try:
                service = self._pool.FindServiceByName(service_name)
            except KeyError:
                service = None
            if service is not None and method in service.methods_by_name:
                return super()._file_containing_symbol(request, service_name)
        return super()._file_containing_symbol(request, fully_qualified_name)


def enable_reflection(service_names: Iterable[str], server: grpc.Server) -> None:
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(_MethodAwareReflection(tuple(service_names)), server)


SERVICE_NAME = reflection.SERVICE_NAME
