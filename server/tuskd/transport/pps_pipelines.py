"""pps_v2.API pipeline RPCs: Create/Inspect/List/Delete/Start/Stop/RerunPipeline."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import grpc
from google.protobuf import empty_pb2, json_format

from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.pfs import DEFAULT_PROJECT
from tuskd.services.transactions import WriteTx
from tuskd.transport import pipeline_convert as convert
from tuskd.transport.base import ServicerBase
from tuskd.transport.transactions import Queueing


class PipelineRpcs(Queueing, ServicerBase):
    def CreatePipeline(
        self, request: pps_pb2.CreatePipelineRequest, context: grpc.ServicerContext | None
    ) -> empty_pb2.Empty:
        if self.queued(context, "create_pipeline_v2", request) is None:
            self.create_pipeline_from(request)
        return empty_pb2.Empty()

    def create_pipeline_from(self, request: pps_pb2.CreatePipelineRequest, tx: WriteTx | None = None) -> None:
        """Create or update the pipeline ``request`` names (in the caller's write ``tx``, if given)."""
        effective = self.effective_request(request, tx)  # type: ignore[attr-defined]
        self.deps.pipelines.create(
            convert.spec_from_request(effective),
            user_spec_json=convert.user_spec_json(request),
            update=request.update,
            reprocess=request.reprocess,
            dry_run=request.dry_run,
            tx=tx,
        )

    def RunCron(self, request: pps_pb2.RunCronRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        """A tick on every cron input of the pipeline now (FAILED_PRECONDITION if it has none)."""
        self.deps.cron.run_now(convert.pipeline_key(request.pipeline))
        return empty_pb2.Empty()

    def DeletePipelines(
        self, request: pps_pb2.DeletePipelinesRequest, context: grpc.ServicerContext
    ) -> pps_pb2.DeletePipelinesResponse:
        if request.all and request.projects:
            raise InvalidArgument("set either all or projects, not both")
        if not request.all and not request.projects:
            return pps_pb2.DeletePipelinesResponse()
        projects = [] if request.all else [p.name or DEFAULT_PROJECT for p in request.projects]
        before = self.deps.pipelines.list_pipelines(projects=projects)
        self.deps.pipelines.delete_all(force=request.force, keep_repo=request.keep_repo, projects=projects)
        return pps_pb2.DeletePipelinesResponse(pipelines=[convert.pipeline_proto(info.key) for info in before])

    def InspectPipeline(
        self, request: pps_pb2.InspectPipelineRequest, context: grpc.ServicerContext
    ) -> pps_pb2.PipelineInfo:
        info = self.deps.pipelines.inspect(convert.pipeline_key(request.pipeline))
        return convert.pipeline_info_proto(info, details=request.details)

    def ListPipeline(
        self, request: pps_pb2.ListPipelineRequest, context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.PipelineInfo]:
        page_size, page_index = request.page.page_size, request.page.page_index
        if page_size < 0 or page_index < 0:
            raise InvalidArgument("page.page_size and page.page_index must not be negative", field="page")
        keep = self.deps.jq.compile(request.jqFilter, self.call_token(context)) if request.jqFilter else None
        infos = self.deps.pipelines.list_pipelines(
            pipeline=convert.pipeline_key(request.pipeline) if request.pipeline.name else None,
            projects=[p.name or DEFAULT_PROJECT for p in request.projects],
            history=request.history,
            commit_set=request.commit_set.id,
        )
        messages: Iterator[pps_pb2.PipelineInfo] = (
            convert.pipeline_info_proto(info, details=request.details) for info in infos
        )
        if keep is not None:
            messages = _kept(messages, keep)
        if page_size:
            wanted = list(messages)[page_index * page_size : (page_index + 1) * page_size]
            messages = iter(wanted)
        yield from messages

    def DeletePipeline(self, request: pps_pb2.DeletePipelineRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        if request.all:
            if request.pipeline.name:
                raise InvalidArgument("give either a pipeline or all, not both", field="all")
            self.deps.pipelines.delete_all(force=request.force, keep_repo=request.keep_repo)
        else:
            self.deps.pipelines.delete(
                convert.pipeline_key(request.pipeline),
                force=request.force,
                keep_repo=request.keep_repo,
                must_exist=request.must_exist,
            )
        return empty_pb2.Empty()

    def DeleteAll(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        """pps_v2 DeleteAll: every pipeline (downstream first), its jobs and its output repo."""
        self.deps.pipelines.delete_all(force=True)
        return empty_pb2.Empty()

    def StartPipeline(self, request: pps_pb2.StartPipelineRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.pipelines.start(convert.pipeline_key(request.pipeline))
        return empty_pb2.Empty()

    def StopPipeline(self, request: pps_pb2.StopPipelineRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.pipelines.stop(convert.pipeline_key(request.pipeline), must_exist=request.must_exist)
        return empty_pb2.Empty()

    def RerunPipeline(self, request: pps_pb2.RerunPipelineRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.pipelines.rerun(convert.pipeline_key(request.pipeline), reprocess=request.reprocess)
        return empty_pb2.Empty()


def _kept(
    messages: Iterator[pps_pb2.PipelineInfo], matches: Callable[[list[object]], list[bool]]
) -> Iterator[pps_pb2.PipelineInfo]:
    """The messages ``matches`` keeps, asked about in batches (each ask is a round trip to jq)."""
    while batch := list(itertools.islice(messages, 256)):
        docs: list[object] = [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in batch]
        yield from (m for m, ok in zip(batch, matches(docs), strict=True) if ok)
