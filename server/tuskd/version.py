"""tusk's own version and the Pachyderm API version it speaks."""

from __future__ import annotations

import platform
import sys
from functools import cache
from importlib import metadata

# The Pachyderm release whose gRPC API tusk serves (see docs/api.md).
PACHYDERM_API = (2, 12, 0)


@cache
def tusk_version() -> str:
    try:
        return metadata.version("tusk")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0.0.0+unknown"


@cache
def describe() -> dict[str, str | int]:
    """The version facts, computed once (reading package metadata costs ~0.4 ms)."""
    major, minor, micro = PACHYDERM_API
    return {
        "major": major,
        "minor": minor,
        "micro": micro,
        "additional": f"tusk-{tusk_version()}",
        "platform": f"{platform.system().lower()}/{platform.machine()}",
        "go_version": f"python{sys.version_info.major}.{sys.version_info.minor}",
    }
