"""Client methods for pipeline defaults: the cluster's and each project's (pps_v2 Get/Set
ClusterDefaults and ProjectDefaults). Mixed into :class:`tusk.pps.PpsClient`.

Defaults are JSON documents such as ``{"createPipelineRequest": {"datumTries": "5"}}``; the server
merges built-in, cluster, project defaults and the pipeline's own spec, in that order (RFC 7396
merge patches), whenever a pipeline is created or updated. ``{}`` means none are set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tusk.errors import translated
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2

__all__ = ["DefaultsMethods"]

Defaults = str | Mapping[str, Any]


def _json(defaults: Defaults) -> str:
    return defaults if isinstance(defaults, str) else json.dumps(defaults)


class DefaultsMethods:
    stub: Any  # pps_pb2_grpc.APIStub, set by PpsClient

    @translated
    def get_cluster_defaults(self, *, timeout: float | None = 30.0) -> str:
        """The cluster defaults JSON as last set (``{}`` when none are set)."""
        return str(
            self.stub.GetClusterDefaults(pps_pb2.GetClusterDefaultsRequest(), timeout=timeout).cluster_defaults_json
        )

    @translated
    def set_cluster_defaults(
        self,
        defaults: Defaults,
        *,
        regenerate: bool = False,
        reprocess: bool = False,
        dry_run: bool = False,
        timeout: float | None = 60.0,
    ) -> list[pps_pb2.Pipeline]:
        """Replace the cluster defaults; with ``regenerate``, re-create the pipelines whose effective
        spec changes (``reprocess``: and process all their datums again). Returns those pipelines."""
        request = pps_pb2.SetClusterDefaultsRequest(
            cluster_defaults_json=_json(defaults), regenerate=regenerate, reprocess=reprocess, dry_run=dry_run
        )
        return list(self.stub.SetClusterDefaults(request, timeout=timeout).affected_pipelines)

    @translated
    def get_project_defaults(self, project: str = "default", *, timeout: float | None = 30.0) -> str:
        """A project's defaults JSON (``{}`` when none are set; NotFound for a missing project)."""
        request = pps_pb2.GetProjectDefaultsRequest(project=pfs_pb2.Project(name=project))
        return str(self.stub.GetProjectDefaults(request, timeout=timeout).project_defaults_json)

    @translated
    def set_project_defaults(
        self,
        project: str,
        defaults: Defaults,
        *,
        regenerate: bool = False,
        reprocess: bool = False,
        dry_run: bool = False,
        timeout: float | None = 60.0,
    ) -> list[pps_pb2.Pipeline]:
        """Replace a project's defaults; ``regenerate``/``reprocess``/``dry_run`` as for the cluster's,
        limited to that project's pipelines."""
        request = pps_pb2.SetProjectDefaultsRequest(
            project=pfs_pb2.Project(name=project),
            project_defaults_json=_json(defaults),
            regenerate=regenerate,
            reprocess=reprocess,
            dry_run=dry_run,
        )
        return list(self.stub.SetProjectDefaults(request, timeout=timeout).affected_pipelines)
