"""Client API for pipelines, jobs and datums (pps_v2.API): ``client.pps``."""

from __future__ import annotations

import grpc

from tusk.pps_defaults import DefaultsMethods
from tusk.pps_jobs import JobMethods
from tusk.pps_pipelines import PipelineMethods
from tusk.proto.pps_v2 import pps_pb2_grpc


class PpsClient(PipelineMethods, JobMethods, DefaultsMethods):
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = pps_pb2_grpc.APIStub(channel)
