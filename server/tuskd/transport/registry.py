"""Registers every tusk servicer on a gRPC server; the one list of what the server serves.

Every service of Pachyderm 2.12's API is registered, so a method tusk does not serve answers
UNIMPLEMENTED naming itself and why (transport/unserved.py), never gRPC's "Method not found!".
``api_status`` reads the same table to say, per method, what is served: docs/api.md's table is
made from it (scripts/api_doc.py) and checked against it in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from tusk.proto.admin_v2 import admin_pb2, admin_pb2_grpc
from tusk.proto.debug_v2 import debug_pb2, debug_pb2_grpc
from tusk.proto.logs import logs_pb2, logs_pb2_grpc
from tusk.proto.metadata import metadata_pb2, metadata_pb2_grpc
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pjs import pjs_pb2, pjs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc
from tusk.proto.snapshot import snapshot_pb2, snapshot_pb2_grpc
from tusk.proto.storage import fileset_pb2, fileset_pb2_grpc
from tusk.proto.transaction_v2 import transaction_pb2, transaction_pb2_grpc
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc
from tuskd.transport.admin import AdminApi
from tuskd.transport.base import ServedDeps
from tuskd.transport.metadata import MetadataApi
from tuskd.transport.not_activated import not_activated_servicers
from tuskd.transport.pfs import PfsApi
from tuskd.transport.pps import PpsApi
from tuskd.transport.preserialized import adding
from tuskd.transport.transactions import Replayer, TransactionApi
from tuskd.transport.unimplemented import complete_servicer, is_served
from tuskd.transport.unserved import reason_for
from tuskd.transport.version import VersionApi

_Add = Callable[[Any, grpc.Server], None]


def _service(module: Any, name: str = "API") -> ServiceDescriptor:
    return module.DESCRIPTOR.services_by_name[name]


def _unserved(base: type, service: ServiceDescriptor) -> type:
    """A servicer class of ``service`` whose every method answers UNIMPLEMENTED with its reason."""
    cls: type[Any] = type(f"Unserved{service.full_name.replace('.', '')}", (base,), {})
    return complete_servicer(service)(cls)


# (service, add-to-server function, servicer class). Classes of ours take ``deps``.
_SERVED: list[tuple[ServiceDescriptor, _Add, type]] = [
    (_service(pfs_pb2), pfs_pb2_grpc.add_APIServicer_to_server, PfsApi),
    (_service(pps_pb2), pps_pb2_grpc.add_APIServicer_to_server, PpsApi),
    (_service(version_pb2), version_pb2_grpc.add_APIServicer_to_server, VersionApi),
    (_service(admin_pb2), admin_pb2_grpc.add_APIServicer_to_server, AdminApi),
    (_service(transaction_pb2), transaction_pb2_grpc.add_APIServicer_to_server, TransactionApi),
    (_service(metadata_pb2), metadata_pb2_grpc.add_APIServicer_to_server, MetadataApi),
    (
        _service(debug_pb2, "Debug"),
        debug_pb2_grpc.add_DebugServicer_to_server,
        _unserved(debug_pb2_grpc.DebugServicer, _service(debug_pb2, "Debug")),
    ),
    (
        _service(logs_pb2),
        logs_pb2_grpc.add_APIServicer_to_server,
        _unserved(logs_pb2_grpc.APIServicer, _service(logs_pb2)),
    ),
    (
        _service(pjs_pb2),
        pjs_pb2_grpc.add_APIServicer_to_server,
        _unserved(pjs_pb2_grpc.APIServicer, _service(pjs_pb2)),
    ),
    (
        _service(snapshot_pb2),
        snapshot_pb2_grpc.add_APIServicer_to_server,
        _unserved(snapshot_pb2_grpc.APIServicer, _service(snapshot_pb2)),
    ),
    (
        _service(fileset_pb2, "Fileset"),
        fileset_pb2_grpc.add_FilesetServicer_to_server,
        _unserved(fileset_pb2_grpc.FilesetServicer, _service(fileset_pb2, "Fileset")),
    ),
]

SERVICE_NAMES = tuple(service.full_name for service, _, _ in _SERVED)


def register_services(server: grpc.Server, deps: ServedDeps) -> tuple[str, ...]:
    """Add every service; return their full names (for reflection)."""
    pfs, pps = PfsApi(deps), PpsApi(deps)
    replayer = Replayer(pfs, pps)
    pfs.replayer = pps.replayer = replayer
    made = {PfsApi: pfs, PpsApi: pps, TransactionApi: TransactionApi(deps, replayer), VersionApi: VersionApi()}
    for service, add, cls in _SERVED:
        servicer = made.get(cls)
        if servicer is None:
            servicer = cls(deps) if issubclass(cls, (AdminApi, MetadataApi)) else cls()
        adding(add, service.full_name)(servicer, server)  # some answers are already serialized
    names = list(SERVICE_NAMES)
    for add, servicer, name in not_activated_servicers():
        add(servicer, server)
        names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class MethodStatus:
    method: str  # package.Service/Method
    served: bool
    answer: str  # for what is not served: the reason, or the not-activated behaviour


def api_status() -> list[MethodStatus]:
    """Every method of every registered service, in declaration order, with what it answers."""
    out = []
    for service, _, cls in _SERVED:
        for method in service.methods:
            full = f"{service.full_name}/{method.name}"
            served = is_served(cls, method.name)
            out.append(MethodStatus(full, served, "" if served else reason_for(full)))
    for _, servicer, name in not_activated_servicers():
        for method in servicer.SERVICE.methods:
            full = f"{name}/{method.name}"
            out.append(MethodStatus(full, False, servicer.answer_of(method.name)))
    return out
