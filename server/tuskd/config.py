"""Server configuration: one immutable value built from flags and environment at start-up."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

from tuskd.domain.errors import InvalidArgument

DEFAULT_ADDRESS = "localhost:30650"
DEFAULT_URL_MAX_BYTES = 8 * 1024**3
DEFAULT_URL_TIMEOUT = 600.0
# Pachyderm clients send file chunks of up to 19 MiB; leave generous headroom.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
DEFAULT_OUTPUT_LIMIT = 64 << 30
"""Bytes of output one datum may produce (``ServerConfig.datum_output_limit``)."""

DEFAULT_BLOB_CACHE_BYTES = 10 * 1024**3


def default_data_dir() -> Path:
    """``$TUSK_DATA_DIR``, else ``$XDG_DATA_HOME/tusk``, else ``~/.local/share/tusk``."""
    env = os.environ.get("TUSK_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "tusk"


@dataclass(frozen=True)
class StoreLocation:
    """Where the metadata lives: a SQLite file (``path``) or a PostgreSQL database (``conninfo``)."""

    path: Path | None = None
    conninfo: str | None = None


def store_location(store: str | None, data_dir: Path) -> StoreLocation:
    """Parse ``--store``/``$TUSK_STORE``: ``sqlite:///path`` or ``postgresql://user@host:port/db``;
    none means ``<data dir>/metadata.db``. A URL carrying a password is refused (it would show in
    ``ps`` and shell history): PostgreSQL reads it from ``$PGPASSWORD`` or ``~/.pgpass``."""
    if not store:
        return StoreLocation(path=data_dir / "metadata.db")
    parts = urlsplit(store)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path:
            raise InvalidArgument(f"--store {store!r}: a SQLite store is sqlite:///absolute/path/to/metadata.db")
        return StoreLocation(path=Path(parts.path))
    if parts.scheme in ("postgresql", "postgres"):
        if parts.password is not None or "password" in parse_qs(parts.query):
            raise InvalidArgument(
                "--store: the PostgreSQL URL carries a password, which would show in the process list; "
                "drop it from the URL and set $PGPASSWORD or a ~/.pgpass entry instead"
            )
        if not parts.path.strip("/"):
            raise InvalidArgument(f"--store {store!r}: name the database, postgresql://user@host:port/DATABASE")
        return StoreLocation(conninfo=store)
    raise InvalidArgument(f"--store {store!r}: expected sqlite:///path or postgresql://user@host:port/database")


@dataclass(frozen=True)
class S3Location:
    """Where an S3 blob store keeps its objects (``--blobs s3://bucket/prefix?...``)."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None  # None: AWS itself (the region's endpoint)
    region: str | None = None  # None: the standard AWS chain (AWS_REGION, ~/.aws/config)
    max_attempts: int = 5  # per request, botocore's "standard" retries (5xx, throttling, resets)
    timeout: float = 30.0  # seconds to connect, and to wait for each read

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint}" if self.endpoint else where


_S3_QUERY_KEYS = ("endpoint", "region", "max_attempts", "timeout")


def parse_blobs_url(url: str) -> S3Location | None:
    """``--blobs``/``$TUSK_BLOBS``: None (or "local", "") for the data directory's blob store,
    an :class:`S3Location` for ``s3://bucket[/prefix][?endpoint=URL&region=R&max_attempts=N&timeout=S]``.
    InvalidArgument, naming the mistake, for anything else."""
    if url in ("", "local"):
        return None
    usage = "expected s3://BUCKET[/PREFIX][?endpoint=http://HOST:PORT&region=REGION] or 'local'"
    parts = urlsplit(url)
    if parts.scheme.lower() != "s3":
        raise InvalidArgument(f"--blobs {url!r}: unknown scheme {parts.scheme or '(none)'!r}; {usage}")
    if not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
        raise InvalidArgument(
            f"--blobs {url!r}: the bucket name is missing or malformed (credentials never go in the "
            f"URL: they come from the AWS environment); {usage}"
        )
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key not in _S3_QUERY_KEYS:
            raise InvalidArgument(f"--blobs {url!r}: unknown option {key!r} (known: {', '.join(_S3_QUERY_KEYS)})")
        query[key] = value
    endpoint = query.get("endpoint") or None
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname:
            raise InvalidArgument(f"--blobs {url!r}: endpoint {endpoint!r} is not an http(s)://HOST[:PORT] URL")
    try:
        attempts = int(query.get("max_attempts", "5"))
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise InvalidArgument(f"--blobs {url!r}: max_attempts must be an integer and timeout a number") from None
    if attempts < 1 or not (math.isfinite(timeout) and timeout > 0):
        raise InvalidArgument(f"--blobs {url!r}: max_attempts must be >= 1 and timeout > 0")
    return S3Location(
        bucket=parts.netloc,
        prefix=parts.path.strip("/"),
        endpoint=endpoint,
        region=query.get("region") or None,
        max_attempts=attempts,
        timeout=timeout,
    )


ENGINE_MODES = ("on", "standby", "off")


def engine_mode(value: str | None) -> str:
    """``--engine``/``$TUSK_ENGINE``: on (the default), standby or off."""
    mode = (value or "on").strip().lower()
    if mode not in ENGINE_MODES:
        raise InvalidArgument(f"--engine {value!r}: expected one of {', '.join(ENGINE_MODES)}")
    return mode


@dataclass(frozen=True)
class ServerConfig:
    address: str = DEFAULT_ADDRESS
    data_dir: Path = field(default_factory=default_data_dir)
    # The metadata store URL (`tusk serve --store`, $TUSK_STORE): see store_location. None keeps
    # it in SQLite in the data directory (which holds the blobs and logs either way).
    store: str | None = None
    # Whether this server runs the job engine (`tusk serve --engine`, $TUSK_ENGINE): "on" (take
    # the database's engine lease and run it), "standby" (serve every call; take the lease once
    # it lapses) or "off" (never). Standby needs a store several servers share (PostgreSQL).
    engine: str = "on"
    # Threads serving every call but the long waits and streams below (unary calls, uploads,
    # downloads, listings); idle threads cost little.
    rpc_workers: int = 256
    # Long waits and streams (WaitJob, SubscribeJob, SubscribeCommit, GetLogs with follow,
    # Inspect* with wait) open at once, per kind; each holds a thread of its own, on top of
    # rpc_workers, and one past the limit gets RESOURCE_EXHAUSTED (tuskd.services.stream_limits).
    max_streams_per_kind: int = 256
    # Server-wide cap on concurrently running datums across all pipelines.
    datum_workers: int = max(2, os.cpu_count() or 2)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # jqFilter programs run in worker processes (tuskd.services.jq_filter): this many at once,
    # each limited to this much address space, with this much wall-clock time per request.
    jq_workers: int = 2
    jq_memory_bytes: int = 512 * 1024 * 1024
    jq_seconds: float = 10.0
    shutdown_grace: float = 10.0
    reflection: bool = True
    # Default heartbeat period of WaitJob streams when the client does not ask for one.
    heartbeat_seconds: float = 5.0
    # AddFile with a file:// URL makes the server read a path on its own disk with its own
    # privileges, so it may read only under these directories (never the data directory);
    # none (the default) refuses file:// URLs. `tusk serve --file-url-dir DIR`.
    file_url_dirs: tuple[Path, ...] = ()
    # Bounds of one AddFile URL (file:// or http(s)://): bytes, and seconds to fetch them.
    url_max_bytes: int = DEFAULT_URL_MAX_BYTES
    url_timeout: float = DEFAULT_URL_TIMEOUT
    # Bytes of output one datum may leave in /pfs/out (apparent sizes: a sparse file counts at
    # its full length); a datum over it fails before any of it is read. `tusk serve
    # --datum-output-limit` or $TUSK_DATUM_OUTPUT_LIMIT (docs/operations.md).
    datum_output_limit: int = DEFAULT_OUTPUT_LIMIT
    # Blobs on S3 instead of <data_dir>/blobs (`tusk serve --blobs`, docs/operations.md), read
    # through a local cache of at most blob_cache_bytes (default <data_dir>/blob-cache).
    blobs_s3: S3Location | None = None
    blob_cache_dir: Path | None = None
    blob_cache_bytes: int = DEFAULT_BLOB_CACHE_BYTES
    # Where datums run: "" (this server's threads) or a Dask scheduler, dask://HOST:PORT or
    # tls://HOST:PORT?ca=&cert=&key= (`tusk serve --executor`; parsed by engine/dask_common.py).
    executor_url: str = ""
    auth_token_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
