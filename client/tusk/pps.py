"""Client API for pipelines, jobs and datums (pps_v2.API)."""

from __future__ import annotations

import grpc

from tusk.proto.pps_v2 import pps_pb2_grpc


class PpsClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = pps_pb2_grpc.APIStub(channel)
