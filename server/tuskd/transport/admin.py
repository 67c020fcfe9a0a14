"""admin_v2.API: InspectCluster, which pachctl calls on every connection."""

from __future__ import annotations

import grpc

from tusk.proto.admin_v2 import admin_pb2, admin_pb2_grpc
from tusk.proto.versionpb_v2 import version_pb2
from tuskd.domain.errors import NotFound
from tuskd.transport.base import ServicerBase
from tuskd.transport.unimplemented import complete_servicer
from tuskd.version import PACHYDERM_API


@complete_servicer(admin_pb2.DESCRIPTOR.services_by_name["API"])
class AdminApi(ServicerBase, admin_pb2_grpc.APIServicer):
    def InspectCluster(
        self, request: admin_pb2.InspectClusterRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ClusterInfo:
        cluster_id = self.deps.cluster.cluster_id()
        info = admin_pb2.ClusterInfo(id=cluster_id, deployment_id=cluster_id, warnings_ok=True)
        warning = version_warning(request.client_version if request.HasField("client_version") else None)
        if warning:
            info.warnings.append(warning)
        project = request.current_project.name
        if project:
            try:
                self.deps.projects.inspect(project)
            except NotFound as exc:  # pachd warns rather than refusing the connection
                info.warnings.append(f'WARNING: Could not inspect project "{project}": {exc}')
        info.metadata.update(self.deps.cluster.metadata())
        return info


def version_warning(client: version_pb2.Version | None) -> str:
    """pachd's warning for a client of another minor version (or one that sent none)."""
    if client is None:
        return (
            "WARNING: The client used to connect to Pachyderm did not send its version, which means that it "
            "is likely too old.  Please upgrade it."
        )
    ours = PACHYDERM_API[:2]
    theirs = (client.major, client.minor)
    if theirs == (0, 0) or theirs == ours:
        return ""
    if theirs < ours:
        return (
            "WARNING: The client used to connect to Pachyderm is much older than the server; please upgrade the "
            "client."
        )
    return (
        "WARNING: The client used to connect to Pachyderm is much newer than the server; please use a version of "
        "the client that matches the server."
    )
