"""Server configuration: one immutable value built from flags and environment at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tuskd.domain.errors import InvalidArgument
from tuskd.engine.outputs import DEFAULT_OUTPUT_LIMIT

DEFAULT_ADDRESS = "localhost:30650"
DEFAULT_URL_MAX_BYTES = 8 * 1024**3
DEFAULT_URL_TIMEOUT = 600.0
# Pachyderm clients send file chunks of up to 19 MiB; leave generous headroom.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


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
class ServerConfig:
    address: str = DEFAULT_ADDRESS
    data_dir: Path = field(default_factory=default_data_dir)
    # The metadata store URL (`tusk serve --store`, $TUSK_STORE): see store_location. None keeps
    # it in SQLite in the data directory (which holds the blobs and logs either way).
    store: str | None = None
    # Threads serving every call but the long waits and streams below (unary calls, uploads,
    # downloads, listings); idle threads cost little.
    rpc_workers: int = 256
    # Long waits and streams (WaitJob, SubscribeJob, SubscribeCommit, GetLogs with follow,
    # Inspect* with wait) open at once, per kind; each holds a thread of its own, on top of
    # rpc_workers, and one past the limit gets RESOURCE_EXHAUSTED (tuskd.transport.stream_limits).
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
    auth_token_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
