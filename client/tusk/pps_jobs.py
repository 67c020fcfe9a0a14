"""Client methods for jobs, job sets, datums and logs."""

from __future__ import annotations

from tusk.proto.pps_v2 import pps_pb2_grpc


class JobMethods:
    stub: pps_pb2_grpc.APIStub
