"""Client methods for pipelines (create, inspect, list, delete, start, stop, rerun, summary).

A spec is either a ``pps_v2.CreatePipelineRequest`` or a dict in the JSON shape users write for
``pachctl create pipeline`` (protobuf JSON names: ``parallelism_spec.constant``,
``datum_timeout: "30s"``). Durations may also be written Go style (``"1m30s"``); unknown fields
are an ``InvalidArgument`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google.protobuf import json_format

from tusk.errors import InvalidArgument, translated, translated_stream
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc

__all__ = ["PipelineMethods", "parse_pipeline_spec"]

_DURATION_FIELDS = ("datum_timeout", "job_timeout", "maximum_expected_uptime")
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _protobuf_duration(text: str) -> str:
    """``1m30s`` -> ``90s`` (protobuf JSON only reads seconds); anything else is left as is."""
    value = text.strip()
    pos, total = 0, 0.0
    while pos < len(value):
        m = _GO_DURATION.match(value, pos)
        if m is None:
            return text
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not value:
        return text
    return f"{total:.9f}".rstrip("0").rstrip(".") + "s"


def parse_pipeline_spec(spec: Mapping[str, Any]) -> pps_pb2.CreatePipelineRequest:
    """A CreatePipelineRequest from a pachctl-style spec dict (InvalidArgument on bad fields)."""
    data = dict(spec)
    for name in _DURATION_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = _protobuf_duration(data[name])
    request = pps_pb2.CreatePipelineRequest()
    try:
        json_format.ParseDict(data, request)
    except json_format.ParseError as err:
        first = (str(err).strip().splitlines() or ["cannot parse it"])[0]
        raise InvalidArgument(f"invalid pipeline spec: {first}") from None
    return request


def _pipeline(name: str, project: str) -> pps_pb2.Pipeline:
    pipeline = pps_pb2.Pipeline(name=name)
    if project:
        pipeline.project.name = project
    return pipeline


class PipelineMethods:
    stub: pps_pb2_grpc.APIStub

    def create_pipeline(
        self,
        spec: Mapping[str, Any] | pps_pb2.CreatePipelineRequest,
        *,
        update: bool = False,
        reprocess: bool = False,
        dry_run: bool = False,
        timeout: float | None = 60.0,
    ) -> None:
        """Create a pipeline from a spec (or replace it with ``update``; ``reprocess`` renews the
        salt so every datum is processed again)."""
        if isinstance(spec, pps_pb2.CreatePipelineRequest):
            request = pps_pb2.CreatePipelineRequest()
            request.CopyFrom(spec)
        else:
            request = parse_pipeline_spec(spec)
        request.update = request.update or update
        request.reprocess = request.reprocess or reprocess
        request.dry_run = request.dry_run or dry_run
        self._create(request, timeout)

    @translated
    def _create(self, request: pps_pb2.CreatePipelineRequest, timeout: float | None) -> None:
        self.stub.CreatePipeline(request, timeout=timeout)

    def update_pipeline(
        self, spec: Mapping[str, Any] | pps_pb2.CreatePipelineRequest, *, reprocess: bool = False
    ) -> None:
        """``create_pipeline(spec, update=True)``."""
        self.create_pipeline(spec, update=True, reprocess=reprocess)

    @translated
    def inspect_pipeline(
        self, pipeline: str, *, project: str = "", details: bool = True, timeout: float | None = 30.0
    ) -> pps_pb2.PipelineInfo:
        request = pps_pb2.InspectPipelineRequest(pipeline=_pipeline(pipeline, project), details=details)
        return self.stub.InspectPipeline(request, timeout=timeout)

    def list_pipeline(
        self,
        pipeline: str = "",
        *,
        project: str = "",
        projects: Sequence[str] = (),
        history: int = 0,
        details: bool = True,
        commit_set: str = "",
        timeout: float | None = 60.0,
    ) -> list[pps_pb2.PipelineInfo]:
        """Pipelines, most recently created first; ``history`` earlier versions of each (-1: all)."""
        request = pps_pb2.ListPipelineRequest(
            history=history,
            details=details,
            projects=[pfs_pb2.Project(name=p) for p in projects],
        )
        if pipeline:
            request.pipeline.CopyFrom(_pipeline(pipeline, project))
        if commit_set:
            request.commit_set.id = commit_set
        return list(self._list(request, timeout))

    def _list(self, request: pps_pb2.ListPipelineRequest, timeout: float | None) -> Iterator[pps_pb2.PipelineInfo]:
        return translated_stream(self.stub.ListPipeline(request, timeout=timeout))

    @translated
    def delete_pipeline(
        self,
        pipeline: str = "",
        *,
        project: str = "",
        all: bool = False,
        force: bool = False,
        keep_repo: bool = False,
        must_exist: bool = True,
        timeout: float | None = 60.0,
    ) -> None:
        """Delete a pipeline (or ``all`` of them), its jobs and, unless ``keep_repo``, its output repo."""
        request = pps_pb2.DeletePipelineRequest(all=all, force=force, keep_repo=keep_repo, must_exist=must_exist)
        if pipeline:
            request.pipeline.CopyFrom(_pipeline(pipeline, project))
        self.stub.DeletePipeline(request, timeout=timeout)

    @translated
    def start_pipeline(self, pipeline: str, *, project: str = "", timeout: float | None = 30.0) -> None:
        self.stub.StartPipeline(pps_pb2.StartPipelineRequest(pipeline=_pipeline(pipeline, project)), timeout=timeout)

    @translated
    def stop_pipeline(
        self, pipeline: str, *, project: str = "", must_exist: bool = True, timeout: float | None = 30.0
    ) -> None:
        request = pps_pb2.StopPipelineRequest(pipeline=_pipeline(pipeline, project), must_exist=must_exist)
        self.stub.StopPipeline(request, timeout=timeout)

    @translated
    def rerun_pipeline(
        self, pipeline: str, *, project: str = "", reprocess: bool = False, timeout: float | None = 30.0
    ) -> None:
        request = pps_pb2.RerunPipelineRequest(pipeline=_pipeline(pipeline, project), reprocess=reprocess)
        self.stub.RerunPipeline(request, timeout=timeout)

    @translated
    def pipelines_summary(
        self, projects: Sequence[str] = (), *, timeout: float | None = 30.0
    ) -> list[pps_pb2.PipelinesSummary]:
        """Per project: active, paused, failed and unhealthy pipelines (no projects: every one)."""
        request = pps_pb2.PipelinesSummaryRequest(projects=[pfs_pb2.ProjectPicker(name=p) for p in projects])
        return list(self.stub.PipelinesSummary(request, timeout=timeout).summaries)

    @translated
    def run_cron(self, pipeline: str, *, project: str = "", timeout: float | None = 30.0) -> None:
        """Tick every cron input of the pipeline now (FailedPrecondition if it has none)."""
        self.stub.RunCron(pps_pb2.RunCronRequest(pipeline=_pipeline(pipeline, project)), timeout=timeout)
