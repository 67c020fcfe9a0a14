"""CreatePipelineV2 and the cluster and project pipeline defaults (a mixin of the pps servicer).

The effective spec of a pipeline is its spec laid over the project's defaults, laid over the
cluster's (each a JSON document ``{"createPipelineRequest": {...}}``, merged field by field;
services/cluster.py). CreatePipeline and CreatePipelineV2 both take that path.
"""

from __future__ import annotations

import json

import grpc
from google.protobuf import json_format

from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument, Unimplemented
from tuskd.domain.pfs import DEFAULT_PROJECT
from tuskd.services.cluster import merge_defaults, parse_defaults
from tuskd.services.templates import render_template
from tuskd.services.transactions import WriteTx
from tuskd.transport import pfs_convert
from tuskd.transport.base import ServicerBase

_NO_REGENERATE = (
    "regenerate is not supported by tusk: existing pipelines keep their specs; new defaults apply to "
    "pipelines created or updated from now on"
)


def checked_defaults(text: str, field: str) -> None:
    """A defaults document whose createPipelineRequest is a valid CreatePipelineRequest (as pachd:
    an unknown field is INVALID_ARGUMENT ``invalid cluster defaults JSON``)."""
    what = "cluster defaults" if field.startswith("cluster") else "project defaults"
    request = parse_defaults(text, what)
    try:
        json_format.ParseDict(request, pps_pb2.CreatePipelineRequest())
    except json_format.ParseError as exc:
        raise InvalidArgument(f"invalid {what} JSON: {exc}", reason="INVALID_DEFAULTS", field=field) from None


def parse_request_json(text: str, field: str) -> pps_pb2.CreatePipelineRequest:
    out = pps_pb2.CreatePipelineRequest()
    try:
        json_format.Parse(text or "{}", out)
    except (json_format.ParseError, RecursionError, ValueError) as exc:
        raise InvalidArgument(f"could not parse {field}: {exc}", reason="INVALID_PIPELINE_SPEC", field=field) from None
    return out


class DefaultsRpcs(ServicerBase):
    def effective_request(
        self, request: pps_pb2.CreatePipelineRequest, tx: WriteTx | None = None
    ) -> pps_pb2.CreatePipelineRequest:
        """``request`` over the project's and the cluster's defaults (unchanged when none are set);
        read in the caller's transaction ``tx`` when given."""
        project = request.pipeline.project.name or DEFAULT_PROJECT
        cluster = parse_defaults(self.deps.cluster.defaults_json(tx=tx), "cluster defaults")
        own = parse_defaults(self.deps.projects.inspect(project, tx=tx).defaults_json, "project defaults")
        if not cluster and not own:
            return request
        merged = merge_defaults(cluster, own, json_format.MessageToDict(request))
        out = pps_pb2.CreatePipelineRequest()
        try:
            json_format.ParseDict(merged, out)
        except json_format.ParseError as exc:
            raise InvalidArgument(f"could not make effective spec: {exc}", reason="INVALID_PIPELINE_SPEC") from None
        return out

    def CreatePipelineV2(
        self, request: pps_pb2.CreatePipelineV2Request, context: grpc.ServicerContext
    ) -> pps_pb2.CreatePipelineV2Response:
        spec = parse_request_json(request.create_pipeline_request_json, "create_pipeline_request_json")
        spec.update = spec.update or request.update
        spec.reprocess = spec.reprocess or request.reprocess
        spec.dry_run = request.dry_run
        if not spec.pipeline.project.name:
            spec.pipeline.project.name = DEFAULT_PROJECT
        effective = self.effective_request(spec)
        self.CreatePipeline(spec, context)  # type: ignore[attr-defined]
        return pps_pb2.CreatePipelineV2Response(
            effective_create_pipeline_request_json=json_format.MessageToJson(effective, indent=None)
        )

    def RenderTemplate(
        self, request: pps_pb2.RenderTemplateRequest, context: grpc.ServicerContext
    ) -> pps_pb2.RenderTemplateResponse:
        text = render_template(request.template, dict(request.args))
        rendered = json.loads(text)
        if isinstance(rendered, dict):
            rendered = [rendered]
        elif not isinstance(rendered, list):
            raise InvalidArgument(f"not a json object or list: {text}", reason="INVALID_TEMPLATE", field="template")
        specs = [parse_request_json(json.dumps(spec), "template output") for spec in rendered]
        return pps_pb2.RenderTemplateResponse(json=text, specs=specs)

    def GetClusterDefaults(
        self, request: pps_pb2.GetClusterDefaultsRequest, context: grpc.ServicerContext
    ) -> pps_pb2.GetClusterDefaultsResponse:
        return pps_pb2.GetClusterDefaultsResponse(cluster_defaults_json=self.deps.cluster.defaults_json())

    def SetClusterDefaults(
        self, request: pps_pb2.SetClusterDefaultsRequest, context: grpc.ServicerContext
    ) -> pps_pb2.SetClusterDefaultsResponse:
        if request.regenerate:
            raise Unimplemented(_NO_REGENERATE)
        checked_defaults(request.cluster_defaults_json, "cluster_defaults_json")
        if not request.dry_run:
            self.deps.cluster.set_defaults(request.cluster_defaults_json)
        return pps_pb2.SetClusterDefaultsResponse()

    def GetProjectDefaults(
        self, request: pps_pb2.GetProjectDefaultsRequest, context: grpc.ServicerContext
    ) -> pps_pb2.GetProjectDefaultsResponse:
        info = self.deps.projects.inspect(request.project.name or DEFAULT_PROJECT)
        return pps_pb2.GetProjectDefaultsResponse(
            project_defaults_json=info.defaults_json or "{}", created_at=pfs_convert.timestamp(info.created)
        )

    def SetProjectDefaults(
        self, request: pps_pb2.SetProjectDefaultsRequest, context: grpc.ServicerContext
    ) -> pps_pb2.SetProjectDefaultsResponse:
        if request.regenerate:
            raise Unimplemented(_NO_REGENERATE)
        checked_defaults(request.project_defaults_json, "project_defaults_json")
        if not request.dry_run:
            self.deps.projects.set_defaults(request.project.name or DEFAULT_PROJECT, request.project_defaults_json)
        return pps_pb2.SetProjectDefaultsResponse()
