"""pps_v2 PipelinesSummary (a mixin of the pps servicer); counting lives in services/summaries.py."""

from __future__ import annotations

import grpc

from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.transport.base import ServedDeps
from tuskd.transport.pickers import project_names


class SummaryRpcs:
    deps: ServedDeps

    def PipelinesSummary(
        self, request: pps_pb2.PipelinesSummaryRequest, context: grpc.ServicerContext
    ) -> pps_pb2.PipelinesSummaryResponse:
        summaries = self.deps.summaries.pipelines_summary(project_names(request.projects))
        return pps_pb2.PipelinesSummaryResponse(
            summaries=[
                pps_pb2.PipelinesSummary(
                    project=pfs_pb2.Project(name=s.project),
                    active_pipelines=s.active_pipelines,
                    paused_pipelines=s.paused_pipelines,
                    failed_pipelines=s.failed_pipelines,
                    unhealthy_pipelines=s.unhealthy_pipelines,
                )
                for s in summaries
            ]
        )
