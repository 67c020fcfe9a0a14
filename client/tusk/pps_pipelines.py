"""Client methods for pipelines (create, inspect, list, delete, start, stop, rerun)."""

from __future__ import annotations

from tusk.proto.pps_v2 import pps_pb2_grpc


class PipelineMethods:
    stub: pps_pb2_grpc.APIStub
