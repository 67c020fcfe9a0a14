"""pps_v2.API job RPCs: InspectJob, ListJob, WaitJob, StopJob, job sets, SubscribeJob, DeleteJob.

Thin: each RPC converts its request to domain terms, calls one JobQueries (or JobCommands)
method and converts what comes back (job_convert). Blocking RPCs pass a cancel token tied to the call, so a client
that hangs up or passes its deadline frees its server thread at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
from google.protobuf import empty_pb2, json_format

from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument, NotFound
from tuskd.domain.ids import check_global_id
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.pfs import DEFAULT_PROJECT, CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineKey
from tuskd.domain.states import JobState
from tuskd.services.job_commands import JobCommands
from tuskd.services.job_queries import JobListing, JobQueries, JobSetListing, job_key
from tuskd.services.jobs import WatchTarget
from tuskd.transport.base import ServicerBase
from tuskd.transport.job_convert import (
    fill_input_commits,
    job_info,
    seconds_of,
    timestamp_us,
)
from tuskd.transport.pipeline_convert import details_proto

# (project, pipeline, version) -> that version's Details, None when the pipeline is gone: one
# call's memo (a listing converts each version's spec once).
SpecCache = dict[tuple[str, str, int], "pps_pb2.JobInfo.Details | None"]


def key_of(job: pps_pb2.Job) -> JobKey:
    """The JobKey a request names (project defaults to ``default``); INVALID_ARGUMENT if malformed."""
    return job_key(job.pipeline.project.name, job.pipeline.name, job.id)


def commit_ref(commit: pfs_pb2.Commit) -> CommitRef:
    repo = commit.repo if commit.HasField("repo") else commit.branch.repo
    if not repo.name:
        raise InvalidArgument("input_commit needs a repo", field="input_commit")
    return CommitRef(RepoKey.of(repo.name, repo.project.name, repo.type), commit.branch.name, commit.id)


def _job_states(values: list[int]) -> list[JobState]:
    try:
        return [JobState(v) for v in values]
    except ValueError:
        raise InvalidArgument(f"unknown job state in {values}", field="state") from None


def _to_json(message: object) -> object:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)  # type: ignore[arg-type]


class JobRpcs(ServicerBase):
    @property
    def job_queries(self) -> JobQueries:
        return self.deps.job_queries

    @property
    def job_commands(self) -> JobCommands:
        return self.deps.job_commands

    # -- conversion helpers -----------------------------------------------------------------

    def job_details(self, job: Job, specs: SpecCache | None = None) -> pps_pb2.JobInfo.Details | None:
        """The spec of the pipeline version the job runs under, with its input commits filled in."""
        version = (job.key.project, job.key.pipeline, job.pipeline_version)
        if specs is not None and version in specs:
            converted = specs[version]
        else:
            try:
                spec = self.deps.pipelines.spec(PipelineKey(job.key.project, job.key.pipeline), job.pipeline_version)
                converted = details_proto(spec)
            except NotFound:
                converted = None  # the pipeline (or that version) is gone
            if specs is not None:
                specs[version] = converted
        if converted is None:
            return None
        details = pps_pb2.JobInfo.Details()
        details.CopyFrom(converted)
        fill_input_commits(details, self.job_queries.input_commits(job))
        return details

    def render(self, job: Job, details: bool, specs: SpecCache | None = None) -> bytes:
        """The one rendering of a job: its JobInfo, serialized. The read model (services/job_views.py)
        keeps it per job change; every job RPC answers from it."""
        return job_info(job, self.job_details(job, specs) if details else None).SerializeToString()

    def job_info(self, job: Job, details: bool, specs: SpecCache | None = None, seq: int = 0) -> pps_pb2.JobInfo:
        """The JobInfo of a job a listing or a wait read (``seq``: its change number, when known);
        the read model's rendering when it holds that change."""
        if specs is None:
            rendered = self.job_queries.rendering(job, details, self.render, seq)
        else:
            rendered = self.job_queries.rendering(job, details, lambda j, d: self.render(j, d, specs), seq)
        return pps_pb2.JobInfo.FromString(rendered)

    # -- RPCs -------------------------------------------------------------------------------

    def InspectJob(self, request: pps_pb2.InspectJobRequest, context: grpc.ServicerContext) -> bytes:
        """Answers the serialized JobInfo (transport/preserialized.py: sent as it is)."""
        key = key_of(request.job)
        if request.wait:
            job = self.job_queries.inspect(key, True, self.cancel_token(context, "InspectJob with wait"))
            return self.job_queries.rendering(job, request.details, self.render)
        return self.job_queries.inspect_rendered(key, request.details, self.render)

    def ListJob(self, request: pps_pb2.ListJobRequest, context: grpc.ServicerContext) -> Iterator[pps_pb2.JobInfo]:
        pipeline = None
        if request.pipeline.name:
            pipeline = (request.pipeline.project.name or DEFAULT_PROJECT, request.pipeline.name)
        listing = JobListing(
            projects=[p.name for p in request.projects if p.name],
            pipeline=pipeline,
            input_commits=[commit_ref(c) for c in request.input_commit],
            history=request.history,
            marker_us=_marker_us(request),
            number=request.number,
            reverse=request.reverse,
            states=_job_states(list(request.state)),
            page_size=request.page_size,
            page_token=request.page_token,
            jq=request.jqFilter,
        )
        specs: SpecCache = {}
        kept: dict[JobKey, pps_pb2.JobInfo] = {}  # converted for jq, sent right after
        keep: Callable[[list[Job]], list[bool]] | None = None
        if request.jqFilter:
            matches = self.deps.jq.compile(request.jqFilter, self.call_token(context))

            def keep(jobs: list[Job]) -> list[bool]:
                kept.clear()
                infos = [self.job_info(job, request.details, specs) for job in jobs]
                verdicts = matches([_to_json(info) for info in infos])
                kept.update((job.key, info) for job, info, ok in zip(jobs, infos, verdicts, strict=True) if ok)
                return verdicts

        for item in self.job_queries.list_jobs(listing, keep):
            info = kept.pop(item.job.key, None) or self.job_info(item.job, request.details, specs, item.seq)
            info.page_token = item.page_token
            yield info

    def WaitJob(
        self, request: pps_pb2.WaitJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.WaitJobResponse]:
        has_job, has_set = request.HasField("job"), request.HasField("job_set")
        if has_job == has_set:
            raise InvalidArgument(
                "set exactly one of job (<pipeline>@<id>) and job_set (<id>)", reason="ONE_TARGET_REQUIRED"
            )
        target = (
            WatchTarget(key=key_of(request.job))
            if has_job
            else WatchTarget(set_id=check_global_id(request.job_set.id, "job set"))
        )
        heartbeat = self.deps.config.heartbeat_seconds
        if request.HasField("heartbeat_interval"):
            heartbeat = seconds_of(request.heartbeat_interval, "heartbeat_interval") or heartbeat
        items = self.job_queries.wait(target, request.after_seq, heartbeat, self.cancel_token(context, "WaitJob"))
        for item in items:
            if item.job is None:
                yield pps_pb2.WaitJobResponse(seq=item.seq, heartbeat=True)
            else:
                yield pps_pb2.WaitJobResponse(seq=item.seq, job_info=self.job_info(item.job, request.details))

    def StopJob(self, request: pps_pb2.StopJobRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        has_job, has_set = request.HasField("job"), request.HasField("job_set")
        if has_job == has_set:
            raise InvalidArgument(
                "set exactly one of job (<pipeline>@<id>) and job_set (<id>)", reason="ONE_TARGET_REQUIRED"
            )
        grace = seconds_of(request.grace_period, "grace_period") if request.HasField("grace_period") else 0.0
        if has_job:
            self.job_commands.stop(key_of(request.job), request.reason, grace)
        else:
            self.job_commands.stop_set(request.job_set.id, request.reason, grace)
        return empty_pb2.Empty()

    def InspectJobSet(
        self, request: pps_pb2.InspectJobSetRequest, context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.JobInfo]:
        cancel = self.cancel_token(context, "InspectJobSet with wait") if request.wait else None
        for job in self.job_queries.job_set(request.job_set.id, request.wait, cancel):
            yield self.job_info(job, request.details)

    def ListJobSet(
        self, request: pps_pb2.ListJobSetRequest, context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.JobSetInfo]:
        listing = JobSetListing(
            projects=[p.name for p in request.projects if p.name],
            marker_us=_marker_us(request),
            number=request.number,
            reverse=request.reverse,
        )

        specs: SpecCache = {}

        def info(jobs: list[Job]) -> pps_pb2.JobSetInfo:
            return pps_pb2.JobSetInfo(
                job_set=pps_pb2.JobSet(id=jobs[0].key.id), jobs=[self.job_info(j, request.details, specs) for j in jobs]
            )

        keep: Callable[[list[Job]], bool] | None = None
        if request.jqFilter:
            matches = self.deps.jq.compile(request.jqFilter, self.call_token(context))

            def keep(jobs: list[Job]) -> bool:
                return matches([_to_json(info(jobs))])[0]

        for jobs in self.job_queries.list_job_sets(listing, keep):
            yield info(jobs)

    def SubscribeJob(
        self, request: pps_pb2.SubscribeJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.JobInfo]:
        if not request.pipeline.name:
            raise InvalidArgument("SubscribeJob needs a pipeline", field="pipeline")
        project = request.pipeline.project.name or DEFAULT_PROJECT
        cancel = self.cancel_token(context, "SubscribeJob")
        for job in self.job_queries.subscribe(project, request.pipeline.name, cancel):
            yield self.job_info(job, request.details)

    def DeleteJob(self, request: pps_pb2.DeleteJobRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.job_commands.delete(key_of(request.job))
        return empty_pb2.Empty()


def _marker_us(request: pps_pb2.ListJobRequest | pps_pb2.ListJobSetRequest) -> int | None:
    """The request's paginationMarker in microseconds (None when unset)."""
    if not request.HasField("paginationMarker"):
        return None
    return timestamp_us(request.paginationMarker, "paginationMarker")
