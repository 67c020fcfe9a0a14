"""Client methods for jobs, job sets, datums and logs (``client.pps``).

Jobs are named as on the command line: ``"edges@<id>"`` (``"project/edges@<id>"`` outside the
default project) or a ``pps_pb2.Job``; a job set is its bare ``"<id>"``.

``wait_job`` follows the WaitJob stream and survives a dropped connection or a server restart:
it reconnects with the last sequence number it saw, so every change arrives exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from google.protobuf import duration_pb2, timestamp_pb2

from tusk import errors
from tusk.errors import translated, translated_stream
from tusk.pfs import parse_commit
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc

JobLike = str | pps_pb2.Job

TERMINAL_STATES = frozenset({pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE, pps_pb2.JOB_KILLED, pps_pb2.JOB_UNRUNNABLE})


def _project(name: str) -> pfs_pb2.Project | None:
    return pfs_pb2.Project(name=name) if name else None


def pipeline_msg(name: str, project: str = "") -> pps_pb2.Pipeline:
    return pps_pb2.Pipeline(name=name, project=_project(project))


def split_target(text: str) -> tuple[str, str | None, str]:
    """``[project/]pipeline@id`` -> (project, pipeline, id); a bare ``id`` -> (project, None, id)."""
    text = text.strip()
    if "@" not in text:
        return "", None, text
    name, _, job_id = text.partition("@")
    project, _, pipeline = name.rpartition("/")
    return project, pipeline, job_id


def job_msg(job: JobLike, project: str = "") -> pps_pb2.Job:
    """A ``pps_pb2.Job`` from ``"[project/]pipeline@id"`` (or a Job, returned as is)."""
    if isinstance(job, pps_pb2.Job):
        return job
    proj, pipeline, job_id = split_target(job)
    if pipeline is None:
        raise errors.InvalidArgument(f"{job!r} names no pipeline: write it as <pipeline>@<job id>")
    return pps_pb2.Job(pipeline=pipeline_msg(pipeline, proj or project), id=job_id)


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def _timestamp(when: datetime | timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    if isinstance(when, timestamp_pb2.Timestamp):
        return when
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


def commit_msg(commit: str | pfs_pb2.Commit) -> pfs_pb2.Commit:
    """A commit named the pachctl way (``repo@branch``, ``repo@<id>``, ``repo@branch^2``, ...)."""
    return parse_commit(commit)


class JobMethods:
    stub: pps_pb2_grpc.APIStub

    # -- jobs -------------------------------------------------------------------------------

    @translated
    def inspect_job(
        self, job: JobLike, *, wait: bool = False, details: bool = False, timeout: float | None = None
    ) -> pps_pb2.JobInfo:
        """One job; with ``wait``, once it is terminal."""
        request = pps_pb2.InspectJobRequest(job=job_msg(job), wait=wait, details=details)
        return self.stub.InspectJob(request, timeout=timeout)

    def list_job(
        self,
        pipeline: str | None = None,
        *,
        project: str = "",
        projects: Sequence[str] = (),
        input_commits: Iterable[str | pfs_pb2.Commit] = (),
        history: int = 0,
        details: bool = False,
        jq_filter: str = "",
        pagination_marker: datetime | timestamp_pb2.Timestamp | None = None,
        number: int = 0,
        reverse: bool = False,
        states: Iterable[int] = (),
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
    ) -> Iterator[pps_pb2.JobInfo]:
        """Jobs, newest first. ``states`` are ``pps_pb2.JOB_*`` values; with ``page_size`` each
        JobInfo carries the ``page_token`` that continues after it."""
        request = pps_pb2.ListJobRequest(
            projects=[pfs_pb2.Project(name=p) for p in projects],
            pipeline=pipeline_msg(pipeline, project) if pipeline else None,
            input_commit=[commit_msg(c) for c in input_commits],
            history=history,
            details=details,
            jqFilter=jq_filter,
            paginationMarker=_timestamp(pagination_marker) if pagination_marker is not None else None,
            number=number,
            reverse=reverse,
            state=list(states),  # type: ignore[arg-type]  # JobState values are ints
            page_size=page_size,
            page_token=page_token,
        )
        return translated_stream(self.stub.ListJob(request, timeout=timeout))

    def list_job_all(self, page_size: int = 500, **filters: object) -> Iterator[pps_pb2.JobInfo]:
        """Every job matching ``filters`` (see list_job), fetched page by page."""
        token = ""
        while True:
            last = None
            for info in self.list_job(page_size=page_size, page_token=token, **filters):  # type: ignore[arg-type]
                last = info
                yield info
            if last is None or not last.page_token:
                return
            token = last.page_token

    @translated
    def stop_job(self, target: JobLike, *, reason: str = "", grace: float | None = None,
                 timeout: float | None = None) -> None:  # fmt: skip
        """Stop one job (``pipeline@id``) or every job of a job set (bare ``id``); returns once
        the jobs are KILLED and their processes are gone. ``grace``: seconds running datums may
        go on. Stopping a finished job does nothing."""
        request = pps_pb2.StopJobRequest(reason=reason)
        if isinstance(target, str) and "@" not in target:
            request.job_set.id = target.strip()
        else:
            request.job.CopyFrom(job_msg(target))
        if grace is not None:
            request.grace_period.CopyFrom(_duration(grace))
        self.stub.StopJob(request, timeout=timeout)

    @translated
    def delete_job(self, job: JobLike, *, timeout: float | None = None) -> None:
        """Remove a finished job's record (FailedPrecondition while it runs: stop it first)."""
        self.stub.DeleteJob(pps_pb2.DeleteJobRequest(job=job_msg(job)), timeout=timeout)

    def subscribe_job(self, pipeline: str, *, project: str = "", details: bool = False) -> Iterator[pps_pb2.JobInfo]:
        """A pipeline's unfinished jobs, then each job change as it happens (until closed)."""
        request = pps_pb2.SubscribeJobRequest(pipeline=pipeline_msg(pipeline, project), details=details)
        return translated_stream(self.stub.SubscribeJob(request))

    # -- job sets ---------------------------------------------------------------------------

    def inspect_job_set(
        self, set_id: str, *, wait: bool = False, details: bool = False, timeout: float | None = None
    ) -> Iterator[pps_pb2.JobInfo]:
        """The jobs of a job set, upstream first; with ``wait``, each as it becomes terminal."""
        request = pps_pb2.InspectJobSetRequest(job_set=pps_pb2.JobSet(id=set_id), wait=wait, details=details)
        return translated_stream(self.stub.InspectJobSet(request, timeout=timeout))

    def list_job_set(
        self,
        *,
        details: bool = False,
        projects: Sequence[str] = (),
        number: int = 0,
        reverse: bool = False,
        jq_filter: str = "",
        pagination_marker: datetime | timestamp_pb2.Timestamp | None = None,
        timeout: float | None = None,
    ) -> Iterator[pps_pb2.JobSetInfo]:
        """Job sets with their jobs, newest first."""
        request = pps_pb2.ListJobSetRequest(
            details=details,
            projects=[pfs_pb2.Project(name=p) for p in projects],
            number=number,
            reverse=reverse,
            jqFilter=jq_filter,
            paginationMarker=_timestamp(pagination_marker) if pagination_marker is not None else None,
        )
        return translated_stream(self.stub.ListJobSet(request, timeout=timeout))

    # -- waiting ----------------------------------------------------------------------------

    def wait_job(
        self,
        target: JobLike,
        *,
        after_seq: int = 0,
        heartbeat: float | None = None,
        details: bool = False,
        reconnect_for: float = 60.0,
        on_reconnect: Callable[[int, errors.TuskError], None] | None = None,
    ) -> Iterator[pps_pb2.WaitJobResponse]:
        """Follow one job (``pipeline@id``) or a job set (bare ``id``) until every job is terminal.

        Yields each change (``seq``, ``job_info``) and heartbeats (``heartbeat=True``). When the
        connection drops or the server restarts, it reconnects with the last seq seen, retrying
        for up to ``reconnect_for`` seconds; ``on_reconnect(seq, error)`` is called before each
        retry. Other errors (NotFound, InvalidArgument ...) are raised at once.
        """
        request = pps_pb2.WaitJobRequest(details=details)
        if isinstance(target, str) and "@" not in target:
            request.job_set.id = target.strip()
        else:
            request.job.CopyFrom(job_msg(target))
        if heartbeat is not None:
            request.heartbeat_interval.CopyFrom(_duration(heartbeat))
        seq = after_seq
        failing_since: float | None = None
        delay = 0.05
        while True:
            request.after_seq = seq
            try:
                for response in translated_stream(self.stub.WaitJob(request)):
                    failing_since, delay = None, 0.05
                    seq = max(seq, response.seq)
                    yield response
                return
            except (errors.Unavailable, errors.Cancelled) as err:
                now = time.monotonic()
                failing_since = failing_since if failing_since is not None else now
                if now - failing_since > reconnect_for:
                    raise
                if on_reconnect is not None:
                    on_reconnect(seq, err)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def wait_job_done(self, target: JobLike, **kwargs: object) -> list[pps_pb2.JobInfo]:
        """Block until every followed job is terminal; their final JobInfos, in first-seen order."""
        last: dict[tuple[str, str, str], pps_pb2.JobInfo] = {}
        for response in self.wait_job(target, **kwargs):  # type: ignore[arg-type]
            if response.HasField("job_info"):
                j = response.job_info.job
                last[(j.pipeline.project.name, j.pipeline.name, j.id)] = response.job_info
        return list(last.values())

    # -- datums and logs ----------------------------------------------------------------------

    def list_datum(
        self,
        job: JobLike,
        *,
        states: Iterable[int] = (),
        number: int = 0,
        reverse: bool = False,
        pagination_marker: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
    ) -> Iterator[pps_pb2.DatumInfo]:
        """The datums of a job; ``states`` are ``pps_pb2`` DatumState values."""
        request = pps_pb2.ListDatumRequest(
            job=job_msg(job),
            filter=pps_pb2.ListDatumRequest.Filter(state=list(states)),  # type: ignore[arg-type]
            number=number,
            reverse=reverse,
            paginationMarker=pagination_marker,
            page_size=page_size,
            page_token=page_token,
        )
        return translated_stream(self.stub.ListDatum(request, timeout=timeout))

    def list_datum_for_input(
        self, input: pps_pb2.Input, *, timeout: float | None = None
    ) -> Iterator[pps_pb2.DatumInfo]:
        """The datums ``input`` would produce, without running anything (a dry run)."""
        return translated_stream(self.stub.ListDatum(pps_pb2.ListDatumRequest(input=input), timeout=timeout))

    @translated
    def inspect_datum(self, job: JobLike, datum_id: str, *, timeout: float | None = None) -> pps_pb2.DatumInfo:
        request = pps_pb2.InspectDatumRequest(datum=pps_pb2.Datum(job=job_msg(job), id=datum_id))
        return self.stub.InspectDatum(request, timeout=timeout)

    @translated
    def restart_datum(
        self,
        job: JobLike,
        *,
        datum_ids: Iterable[str] = (),
        data_filters: Iterable[str] = (),
        timeout: float | None = None,
    ) -> None:
        """Run chosen datums of a job again, named by ID or by input path."""
        request = pps_pb2.RestartDatumRequest(
            job=job_msg(job), datum_ids=list(datum_ids), data_filters=list(data_filters)
        )
        self.stub.RestartDatum(request, timeout=timeout)

    def get_logs(
        self,
        *,
        pipeline: str | None = None,
        project: str = "",
        job: JobLike | None = None,
        datum: str | None = None,
        data_filters: Iterable[str] = (),
        master: bool = False,
        follow: bool = False,
        tail: int = 0,
        since: float | None = None,
        timeout: float | None = None,
    ) -> Iterator[pps_pb2.LogMessage]:
        """Log lines of a pipeline, a job or one datum of a job."""
        request = pps_pb2.GetLogsRequest(data_filters=list(data_filters), master=master, follow=follow, tail=tail)
        if pipeline:
            request.pipeline.CopyFrom(pipeline_msg(pipeline, project))
        if job is not None:
            job_pb = job_msg(job, project) if isinstance(job, pps_pb2.Job) or "@" in job else None
            if job_pb is None:
                if not pipeline:
                    raise errors.InvalidArgument("a job ID alone needs a pipeline: pass pipeline= too")
                job_pb = pps_pb2.Job(pipeline=pipeline_msg(pipeline, project), id=str(job))
            if datum:
                request.datum.CopyFrom(pps_pb2.Datum(job=job_pb, id=datum))
            else:
                request.job.CopyFrom(job_pb)
        elif datum:
            raise errors.InvalidArgument("a datum needs its job: pass job= too")
        if since is not None:
            request.since.CopyFrom(_duration(since))
        return translated_stream(self.stub.GetLogs(request, timeout=timeout))
