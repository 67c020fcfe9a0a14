"""pps_v2.API servicer: pipelines, jobs and datums over gRPC (thin: convert, call, convert).

The RPCs live in mixins by area; any RPC of the contract none of them defines answers
UNIMPLEMENTED naming itself.
"""

from __future__ import annotations

from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc
from tuskd.transport.pps_datums import DatumRpcs
from tuskd.transport.pps_defaults import DefaultsRpcs
from tuskd.transport.pps_jobs import JobRpcs
from tuskd.transport.pps_pipelines import PipelineRpcs
from tuskd.transport.pps_summaries import SummaryRpcs
from tuskd.transport.unimplemented import complete_servicer


@complete_servicer(pps_pb2.DESCRIPTOR.services_by_name["API"])
class PpsApi(PipelineRpcs, DefaultsRpcs, JobRpcs, DatumRpcs, SummaryRpcs, pps_pb2_grpc.APIServicer):
    pass
