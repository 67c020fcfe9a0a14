"""Registers every tusk servicer on a gRPC server; the one list of what the server serves.

Every service of Pachyderm 2.12's API is registered, so a method tusk does not serve answers
UNIMPLEMENTED naming itself and why (transport/unserved.py), never gRPC's "Method not found!".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from tusk.proto.admin_v2 import admin_pb2_grpc
from tusk.proto.debug_v2 import debug_pb2, debug_pb2_grpc
from tusk.proto.logs import logs_pb2, logs_pb2_grpc
from tusk.proto.metadata import metadata_pb2_grpc
from tusk.proto.pfs_v2 import pfs_pb2_grpc
from tusk.proto.pjs import pjs_pb2, pjs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2_grpc
from tusk.proto.snapshot import snapshot_pb2, snapshot_pb2_grpc
from tusk.proto.storage import fileset_pb2, fileset_pb2_grpc
from tusk.proto.transaction_v2 import transaction_pb2_grpc
from tusk.proto.versionpb_v2 import version_pb2_grpc
from tuskd.transport.admin import AdminApi
from tuskd.transport.metadata import MetadataApi
from tuskd.transport.not_activated import not_activated_servicers
from tuskd.transport.pfs import PfsApi
from tuskd.transport.pps import PpsApi
from tuskd.transport.transactions import Replayer, TransactionApi
from tuskd.transport.unimplemented import complete_servicer
from tuskd.transport.version import VersionApi
from tuskd.wiring import Deps

_Add = Callable[[Any, grpc.Server], None]


def _unserved(base: type, service: ServiceDescriptor) -> Any:
    """A servicer of ``service`` whose every method answers UNIMPLEMENTED with its reason."""
    cls: type[Any] = type(f"Unserved{service.full_name.replace('.', '')}", (base,), {})
    return complete_servicer(service)(cls)()


def register_services(server: grpc.Server, deps: Deps) -> tuple[str, ...]:
    """Add every service; return their full names (for reflection)."""
    pfs, pps = PfsApi(deps), PpsApi(deps)
    replayer = Replayer(pfs, pps)
    pfs.replayer = pps.replayer = replayer
    served: list[tuple[_Add, Any]] = [
        (pfs_pb2_grpc.add_APIServicer_to_server, pfs),
        (pps_pb2_grpc.add_APIServicer_to_server, pps),
        (version_pb2_grpc.add_APIServicer_to_server, VersionApi()),
        (admin_pb2_grpc.add_APIServicer_to_server, AdminApi(deps)),
        (transaction_pb2_grpc.add_APIServicer_to_server, TransactionApi(deps, replayer)),
        (metadata_pb2_grpc.add_APIServicer_to_server, MetadataApi(deps)),
        (debug_pb2_grpc.add_DebugServicer_to_server,
         _unserved(debug_pb2_grpc.DebugServicer, debug_pb2.DESCRIPTOR.services_by_name["Debug"])),
        (logs_pb2_grpc.add_APIServicer_to_server,
         _unserved(logs_pb2_grpc.APIServicer, logs_pb2.DESCRIPTOR.services_by_name["API"])),
        (pjs_pb2_grpc.add_APIServicer_to_server,
         _unserved(pjs_pb2_grpc.APIServicer, pjs_pb2.DESCRIPTOR.services_by_name["API"])),
        (snapshot_pb2_grpc.add_APIServicer_to_server,
         _unserved(snapshot_pb2_grpc.APIServicer, snapshot_pb2.DESCRIPTOR.services_by_name["API"])),
        (fileset_pb2_grpc.add_FilesetServicer_to_server,
         _unserved(fileset_pb2_grpc.FilesetServicer, fileset_pb2.DESCRIPTOR.services_by_name["Fileset"])),
    ]
    names = []
    for add, servicer in served:
        add(servicer, server)
    for add, servicer, name in not_activated_servicers():
        add(servicer, server)
        names.append(name)
    return (*SERVICE_NAMES, *names)


SERVICE_NAMES = (
    "pfs_v2.API",
    "pps_v2.API",
    "versionpb_v2.API",
    "admin_v2.API",
    "transaction_v2.API",
    "metadata.API",
    "debug_v2.Debug",
    "logs.API",
    "pjs.API",
    "snapshot.API",
    "storage.Fileset",
)
