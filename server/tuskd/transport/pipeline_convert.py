"""Converts pipelines between pps_v2 messages and the domain.

CreatePipelineRequest -> PipelineSpec (refusing, with a clear INVALID_ARGUMENT, the Pachyderm
features tusk cannot honour on one machine: services, spouts, S3 inputs, secrets...;
Kubernetes-only knobs such as resource requests or pod patches are accepted and ignored;
``autoscaling`` is kept and only decides whether an idle pipeline shows as standby),
Input and Transform both ways, PipelineInfo, and :func:`details_proto`, the JobInfo.Details of a
pipeline version that InspectJob shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import duration_pb2, json_format, timestamp_pb2

from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.inputs import CronInput, Input, PfsInput
from tuskd.domain.pfs import DEFAULT_PROJECT, CommitKey
from tuskd.domain.pipelines import PipelineInfo, PipelineKey, PipelineSpec, Transform
from tuskd.transport.job_convert import check_timestamp, seconds_of

__all__ = [
    "details_proto",
    "input_from_proto",
    "input_to_proto",
    "pipeline_info_proto",
    "pipeline_key",
    "pipeline_proto",
    "spec_from_request",
    "transform_from_proto",
    "transform_to_proto",
    "user_spec_json",
]

_NANOS = 1_000_000_000


def _unsupported(what: str, field: str) -> InvalidArgument:
    return InvalidArgument(f"{what} not supported by tusk", reason="UNSUPPORTED_PIPELINE_FEATURE", field=field)


def _duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(round(seconds * _NANOS))
    return out


def _timestamp(when: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(when)
    return out


def _project(name: str) -> pfs_pb2.Project | None:
    return None if not name or name == DEFAULT_PROJECT else pfs_pb2.Project(name=name)


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def pipeline_key(pb: pps_pb2.Pipeline) -> PipelineKey:
    """The pipeline a request names; INVALID_ARGUMENT without a name."""
    if not pb.name:
        raise InvalidArgument("a pipeline name is required", reason="INVALID_PIPELINE", field="pipeline.name")
    return PipelineKey(pb.project.name or DEFAULT_PROJECT, pb.name)


def pipeline_proto(key: PipelineKey) -> pps_pb2.Pipeline:
    return pps_pb2.Pipeline(name=key.name, project=_project(key.project))


# --------------------------------------------------------------------------------------------
# Transform and Input
# --------------------------------------------------------------------------------------------


def transform_from_proto(pb: pps_pb2.Transform) -> Transform:
    if pb.secrets:
        raise _unsupported("transform.secrets (Kubernetes secrets) are", "transform.secrets")
    if pb.datum_batching:
        raise _unsupported("transform.datum_batching is", "transform.datum_batching")
    return Transform(
        cmd=tuple(pb.cmd),
        stdin=tuple(pb.stdin),
        err_cmd=tuple(pb.err_cmd),
        err_stdin=tuple(pb.err_stdin),
        env=tuple(sorted(pb.env.items())),
        accept_return_code=tuple(pb.accept_return_code),
        working_dir=pb.working_dir,
        image=pb.image,
        user=pb.user,
    )


def transform_to_proto(t: Transform) -> pps_pb2.Transform:
    return pps_pb2.Transform(
        image=t.image,
        cmd=list(t.cmd),
        err_cmd=list(t.err_cmd),
        env=dict(t.env),
        stdin=list(t.stdin),
        err_stdin=list(t.err_stdin),
        accept_return_code=list(t.accept_return_code),
        user=t.user,
        working_dir=t.working_dir,
    )


def _cron_from_proto(c: pps_pb2.CronInput) -> CronInput:
    return CronInput(
        name=c.name,
        spec=c.spec,
        repo=c.repo,
        project=c.project,
        start=check_timestamp(c.start, "input.cron.start").ToDatetime(tzinfo=UTC) if c.HasField("start") else None,
        overwrite=c.overwrite,
        commit=c.commit,
    )


def input_from_proto(pb: pps_pb2.Input, where: str = "input") -> Input:
    cron = _cron_from_proto(pb.cron) if pb.HasField("cron") else None
    pfs: PfsInput | None = None
    if pb.HasField("pfs"):
        p = pb.pfs
        for name, what in (("s3", "S3 gateway inputs are"), ("reference", "reference inputs are")):
            if getattr(p, name):
                raise _unsupported(f"{where}.pfs.{name}: {what}", f"{where}.pfs.{name}")
        if p.HasField("trigger"):
            raise _unsupported(f"{where}.pfs.trigger: branch triggers are", f"{where}.pfs.trigger")
        pfs = PfsInput(
            name=p.name,
            repo=p.repo,
            branch=p.branch,
            glob=p.glob,
            project=p.project,
            repo_type=p.repo_type,
            commit=p.commit,
            join_on=p.join_on,
            outer_join=p.outer_join,
            group_by=p.group_by,
            lazy=p.lazy,
            empty_files=p.empty_files,
        )

    def children(kind: str, nodes: list[pps_pb2.Input]) -> tuple[Input, ...]:
        return tuple(input_from_proto(n, f"{where}.{kind}[{i}]") for i, n in enumerate(nodes))

    return Input(
        pfs=pfs,
        cross=children("cross", list(pb.cross)),
        union=children("union", list(pb.union)),
        join=children("join", list(pb.join)),
        group=children("group", list(pb.group)),
        cron=cron,
    )


def input_to_proto(node: Input, project: str = DEFAULT_PROJECT) -> pps_pb2.Input:
    """The proto of an input tree; a pfs input's project is left out when it is ``project`` (the
    pipeline's own, which an input without one reads from)."""
    if node.pfs is not None:
        p = node.pfs
        return pps_pb2.Input(
            pfs=pps_pb2.PFSInput(
                project="" if p.project == project else p.project,
                name=p.name,
                repo=p.repo,
                repo_type=p.repo_type,
                branch=p.branch,
                commit=p.commit,
                glob=p.glob,
                join_on=p.join_on,
                outer_join=p.outer_join,
                group_by=p.group_by,
                lazy=p.lazy,
                empty_files=p.empty_files,
            )
        )
    if node.cron is not None:
        c = node.cron
        cron = pps_pb2.CronInput(
            name=c.name,
            project=c.project,  # pachd fills it in (the pipeline's project by default)
            repo=c.repo,
            commit=c.commit,
            spec=c.spec,
            overwrite=c.overwrite,
        )
        if c.start is not None:
            cron.start.CopyFrom(_timestamp(c.start))
        return pps_pb2.Input(cron=cron)
    return pps_pb2.Input(
        cross=[input_to_proto(c, project) for c in node.cross],
        union=[input_to_proto(c, project) for c in node.union],
        join=[input_to_proto(c, project) for c in node.join],
        group=[input_to_proto(c, project) for c in node.group],
    )


# --------------------------------------------------------------------------------------------
# CreatePipelineRequest -> PipelineSpec
# --------------------------------------------------------------------------------------------

_UNSUPPORTED_REQUEST_FIELDS = (
    ("tf_job", "TFJob pipelines are"),
    ("service", "service pipelines are"),
    ("spout", "spout pipelines are"),
    ("s3_out", "s3_out (an S3 output gateway) is"),
    ("determined", "Determined integration is"),
)


def spec_from_request(req: pps_pb2.CreatePipelineRequest) -> PipelineSpec:
    """The domain spec of a request (validation of values happens in the domain)."""
    if not req.HasField("pipeline"):
        raise InvalidArgument(
            "invalid pipeline spec: request.Pipeline cannot be nil", reason="INVALID_PIPELINE_SPEC", field="pipeline"
        )
    for name, what in _UNSUPPORTED_REQUEST_FIELDS:
        if req.HasField(name) if name != "s3_out" else req.s3_out:
            raise _unsupported(what, name)
    if req.egress.HasField("object_storage") or req.egress.HasField("sql_database"):
        raise _unsupported("egress to object storage or SQL databases is (use a file:// URL)", "egress")
    return PipelineSpec(
        name=req.pipeline.name,
        project=req.pipeline.project.name or DEFAULT_PROJECT,
        transform=transform_from_proto(req.transform),
        input=input_from_proto(req.input),
        description=req.description,
        parallelism=req.parallelism_spec.constant,
        datum_tries=req.datum_tries,
        datum_timeout=seconds_of(req.datum_timeout, "datum_timeout") if req.HasField("datum_timeout") else None,
        job_timeout=seconds_of(req.job_timeout, "job_timeout") if req.HasField("job_timeout") else None,
        egress_url=req.egress.URL,
        salt=req.salt,
        reprocess_spec=req.reprocess_spec,
        output_branch=req.output_branch,
        autoscaling=req.autoscaling,
        annotations=tuple(sorted(req.metadata.annotations.items())),
        labels=tuple(sorted(req.metadata.labels.items())),
    )


def user_spec_json(req: pps_pb2.CreatePipelineRequest) -> str:
    """The spec as the user sent it (protobuf JSON), without the one-shot action flags."""
    spec = pps_pb2.CreatePipelineRequest()
    spec.CopyFrom(req)
    for flag in ("update", "reprocess", "dry_run"):
        spec.ClearField(flag)
    try:
        return json_format.MessageToJson(spec, preserving_proto_field_name=True, indent=None)
    except json_format.SerializeToJsonError as exc:  # e.g. a Duration with nanos out of range
        raise InvalidArgument(f"invalid pipeline spec: {exc}", reason="INVALID_PIPELINE_SPEC") from None


# --------------------------------------------------------------------------------------------
# PipelineInfo and JobInfo.Details
# --------------------------------------------------------------------------------------------


def details_proto(spec: PipelineSpec) -> pps_pb2.JobInfo.Details:
    """What InspectJob shows of the spec a job ran with (the seed: transform, input, salt,
    datum_tries). The job API fills each pfs input's ``commit`` for the job."""
    out = pps_pb2.JobInfo.Details(
        transform=transform_to_proto(spec.transform),
        input=input_to_proto(spec.input, spec.project or DEFAULT_PROJECT),
        salt=spec.salt,
        datum_tries=spec.datum_tries,
    )
    if spec.parallelism != 1:
        out.parallelism_spec.constant = spec.parallelism
    if spec.egress_url:
        out.egress.URL = spec.egress_url
    if spec.datum_timeout is not None:
        out.datum_timeout.CopyFrom(_duration(spec.datum_timeout))
    if spec.job_timeout is not None:
        out.job_timeout.CopyFrom(_duration(spec.job_timeout))
    return out


def _pipeline_details(info: PipelineInfo) -> pps_pb2.PipelineInfo.Details:
    spec = info.spec
    out = pps_pb2.PipelineInfo.Details(
        transform=transform_to_proto(spec.transform),
        created_at=_timestamp(info.created),
        updated_at=_timestamp(info.updated),
        output_branch=spec.output_branch,
        input=input_to_proto(spec.input, spec.project or DEFAULT_PROJECT),
        description=spec.description,
        salt=spec.salt,
        datum_tries=spec.datum_tries,
        reprocess_spec=spec.reprocess_spec,
        workers_requested=spec.parallelism,
        autoscaling=spec.autoscaling,
    )
    out.parallelism_spec.constant = spec.parallelism
    if spec.egress_url:
        out.egress.URL = spec.egress_url
    if spec.datum_timeout is not None:
        out.datum_timeout.CopyFrom(_duration(spec.datum_timeout))
    if spec.job_timeout is not None:
        out.job_timeout.CopyFrom(_duration(spec.job_timeout))
    if spec.annotations or spec.labels:
        out.metadata.annotations.update(dict(spec.annotations))
        out.metadata.labels.update(dict(spec.labels))
    return out


def _spec_commit(commit: CommitKey) -> pfs_pb2.Commit:
    repo = pfs_pb2.Repo(name=commit.repo.name, type=commit.repo.type, project=_project(commit.repo.project))
    return pfs_pb2.Commit(repo=repo, id=commit.id, branch=pfs_pb2.Branch(repo=repo, name=commit.branch or ""))


def pipeline_info_proto(info: PipelineInfo, details: bool = True) -> pps_pb2.PipelineInfo:
    out = pps_pb2.PipelineInfo(
        pipeline=pipeline_proto(info.key),
        version=info.version,
        stopped=info.stopped,
        state=info.state.name,  # the same names as pps_v2.PipelineState
        reason=info.reason,
        last_job_state=info.last_job_state.name,  # the same names as pps_v2.JobState
        parallelism=info.spec.parallelism,
        type=pps_pb2.PipelineInfo.PIPELINE_TYPE_TRANSFORM,
        user_spec_json=info.user_spec_json,
        effective_spec_json=info.effective_spec_json,
        metadata=dict(info.metadata),
    )
    if info.spec_commit is not None:
        out.spec_commit.CopyFrom(_spec_commit(info.spec_commit))
    if details:
        out.details.CopyFrom(_pipeline_details(info))
    return out
