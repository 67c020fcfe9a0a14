"""Version of the installed tusk client."""

from __future__ import annotations

from importlib import metadata


def client_version() -> str:
    try:
        return metadata.version("tusk")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"
