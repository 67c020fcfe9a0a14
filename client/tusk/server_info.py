"""Version of the installed tusk client."""

from __future__ import annotations

from importlib import metadata

from tusk.proto.versionpb_v2 import version_pb2


def client_version() -> str:
    try:
        return metadata.version("tusk")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


# The Pachyderm API version this client speaks (what InspectCluster compares with the server's).
API_VERSION = (2, 12, 0)


def client_version_message() -> version_pb2.Version:
    """This client as a ``versionpb_v2.Version``: the API it speaks, and tusk's own version."""
    major, minor, micro = API_VERSION
    return version_pb2.Version(major=major, minor=minor, micro=micro, additional=f"tusk {client_version()}")
