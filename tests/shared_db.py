"""Several real ``tusk serve`` processes on one PostgreSQL database and one S3 bucket: what the
multi-server tests (engine leader and standby, API servers, events across processes) start."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ServerProcess
from tests.s3servers import CREDENTIALS, S3Server

S3_ENV = {**CREDENTIALS, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
"""The servers' environment: the SeaweedFS credentials and no AWS configuration of the host."""


def servers_on_one_database(
    server_process: Callable[..., ServerProcess],
    pg_url: str,
    seaweedfs: S3Server,
    tmp_path: Path,
    engines: dict[str, str],
    *args: str,
) -> list[ServerProcess]:
    """One server per ``engines`` item (its data directory's name -> its ``--engine`` mode), in
    order, sharing the database at ``pg_url`` and a fresh prefix of the bucket; ``args`` go to each."""
    common = ("--store", pg_url, "--blobs", seaweedfs.url(f"shared/{uuid.uuid4().hex}"), *args)
    return [
        server_process(*common, "--engine", mode, data_dir=tmp_path / name, env=S3_ENV)
        for name, mode in engines.items()
    ]
