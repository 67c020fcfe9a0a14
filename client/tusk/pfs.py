"""Client API for versioned data (pfs_v2.API): repos, branches, commits, files."""

from __future__ import annotations

import grpc

from tusk.proto.pfs_v2 import pfs_pb2_grpc


class PfsClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = pfs_pb2_grpc.APIStub(channel)
