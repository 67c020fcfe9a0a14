"""pps_v2.API datum and log RPCs: ListDatum, InspectDatum, RestartDatum, GetLogs.

Thin: convert the request, call one DatumQueries method (services/datum_queries.py), convert what
comes back with job_convert. The datum rows and logs are the job engine's records.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2

from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import DEFAULT_PROJECT
from tuskd.domain.states import DatumState
from tuskd.services.datum_queries import DatumListing, DatumQueries
from tuskd.services.job_logs import JobLogs, LogQuery
from tuskd.services.job_queries import job_key
from tuskd.transport.base import ServicerBase
from tuskd.transport.job_convert import datum_info, log_message, seconds_of
from tuskd.transport.pipeline_convert import input_from_proto


def _datum_states(values: list[int]) -> list[DatumState]:
    try:
        return [DatumState(v) for v in values]
    except ValueError:
        raise InvalidArgument(f"unknown datum state in {values}", field="filter.state") from None


class DatumRpcs(ServicerBase):
    @property
    def datum_queries(self) -> DatumQueries:
        return self.deps.datum_queries

    @property
    def job_logs(self) -> JobLogs:
        return self.deps.job_logs

    def _key(self, job: pps_pb2.Job) -> JobKey:
        return job_key(job.pipeline.project.name, job.pipeline.name, job.id)

    def InspectDatum(self, request: pps_pb2.InspectDatumRequest, context: grpc.ServicerContext) -> pps_pb2.DatumInfo:
        if not request.datum.id:
            raise InvalidArgument("InspectDatum needs a datum ID", field="datum.id")
        return datum_info(self.datum_queries.inspect(self._key(request.datum.job), request.datum.id))

    def ListDatum(
        self, request: pps_pb2.ListDatumRequest, context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.DatumInfo]:
        has_job, has_input = request.HasField("job"), request.HasField("input")
        if has_job == has_input:
            raise InvalidArgument(
                "set exactly one of job (list a job's datums) and input (plan the datums of an input)",
                reason="ONE_TARGET_REQUIRED",
            )
        if has_input:
            for view in self.datum_queries.plan(input_from_proto(request.input)):
                yield datum_info(view)
            return
        listing = DatumListing(
            states=_datum_states(list(request.filter.state)),
            marker=request.paginationMarker,
            number=request.number,
            reverse=request.reverse,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        for view in self.datum_queries.list_datums(self._key(request.job), listing):
            yield datum_info(view)

    def CreateDatum(
        self, request_iterator: Iterator[pps_pb2.CreateDatumRequest], context: grpc.ServicerContext
    ) -> Iterator[pps_pb2.DatumInfo]:
        """A dry run of an input's datums in batches: ``start`` asks for the first ``number`` (100
        when not positive), each ``continue`` for the next; the stream ends with the datums."""
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("body") != "start":
            raise InvalidArgument("first message must be a StartCreateDatumRequest message", field="start")
        if not first.start.HasField("input"):
            raise InvalidArgument("first message must specify an input", field="start.input")
        self.cancel_token(context, "CreateDatum")  # holds a stream slot while it waits on the client
        datums = iter(self.datum_queries.plan(input_from_proto(first.start.input)))
        wanted = first.start.number
        upcoming = next(datums, None)
        while upcoming is not None:  # the stream ends with the last datum: clients wait for a full batch
            for _ in range(wanted if wanted > 0 else 100):
                if upcoming is None:
                    return
                yield datum_info(upcoming)
                upcoming = next(datums, None)
            if upcoming is None:
                return
            following = next(request_iterator, None)
            if following is None:
                return
            if following.WhichOneof("body") != "continue":
                raise InvalidArgument("subsequent messages must be a ContinueCreateDatumRequest message")
            wanted = getattr(following, "continue").number

    def RestartDatum(self, request: pps_pb2.RestartDatumRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.datum_queries.restart(self._key(request.job), list(request.datum_ids), list(request.data_filters))
        return empty_pb2.Empty()

    def GetLogs(self, request: pps_pb2.GetLogsRequest, context: grpc.ServicerContext) -> Iterator[pps_pb2.LogMessage]:
        job = None
        datum_id = ""
        if request.HasField("datum"):
            job = self._key(request.datum.job)
            datum_id = request.datum.id
        elif request.HasField("job"):
            job = self._key(request.job)
        pipeline = None
        if request.pipeline.name:
            pipeline = (request.pipeline.project.name or DEFAULT_PROJECT, request.pipeline.name)
        query = LogQuery(
            pipeline=pipeline,
            job=job,
            datum_id=datum_id,
            data_filters=list(request.data_filters),
            master=request.master,
            follow=request.follow,
            tail=request.tail,
            since=seconds_of(request.since, "since") if request.HasField("since") else None,
        )
        cancel = self.cancel_token(context, "GetLogs with follow") if request.follow else None
        for line in self.job_logs.logs(query, cancel):
            yield log_message(line)
