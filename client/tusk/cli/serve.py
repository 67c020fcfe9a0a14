"""``tusk serve``: run the server in the foreground."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from tusk.cli.root import cli


@cli.command("serve")
@click.option("--address", "listen", default="localhost:30650", show_default=True, help="host:port to listen on.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where repos, jobs and logs live. Default: $TUSK_DATA_DIR or ~/.local/share/tusk.",
)
@click.option(
    "--store",
    envvar="TUSK_STORE",
    default=None,
    help="Where the metadata lives: sqlite:///path (default: metadata.db in the data directory) or "
    "postgresql://user@host:port/database ($TUSK_STORE; the password comes from $PGPASSWORD or ~/.pgpass, "
    "never the URL). Blobs and logs stay in the data directory.",
)
@click.option(
    "--engine",
    "engine",
    type=click.Choice(["on", "standby", "off"], case_sensitive=False),
    envvar="TUSK_ENGINE",
    default="on",
    show_default=True,
    help="Run the job engine: 'on' (take the database's engine lease and run jobs), 'standby' (serve "
    "every call; run jobs once the leader's lease lapses; PostgreSQL only) or 'off' ($TUSK_ENGINE).",
)
@click.option("--datum-workers", type=click.IntRange(1, 1024), default=None, help="Server-wide cap on running datums.")
@click.option(
    "--max-streams",
    type=click.IntRange(1, 100_000),
    envvar="TUSK_MAX_STREAMS",
    default=None,
    help="Long waits and streams (WaitJob, SubscribeCommit, GetLogs --follow ...) open at once, per kind; "
    "more get RESOURCE_EXHAUSTED. Default 256 ($TUSK_MAX_STREAMS).",
)
@click.option(
    "--datum-output-limit",
    type=click.IntRange(1),
    default=None,
    envvar="TUSK_DATUM_OUTPUT_LIMIT",
    help="Bytes of output one datum may leave in /pfs/out (sparse files count at their full size); "
    "a datum over it fails. Default: 64 GiB.",
)
@click.option(
    "--blobs",
    "blobs_url",
    default="",
    envvar="TUSK_BLOBS",
    help="Where file content lives: 'local' (the data directory, the default) or "
    "s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=REGION ($TUSK_BLOBS); S3 credentials come "
    "from the standard AWS chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...). Needs pip install 'tusk[s3]'.",
)
@click.option(
    "--blob-cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="TUSK_BLOB_CACHE_DIR",
    help="With --blobs s3://...: the local read-through cache (datum inputs are hard links into it). "
    "Default: DATA_DIR/blob-cache.",
)
@click.option(
    "--blob-cache-bytes",
    type=click.IntRange(1),
    default=None,
    envvar="TUSK_BLOB_CACHE_BYTES",
    help="With --blobs s3://...: most bytes the cache keeps (least recently used go first). Default: 10 GiB.",
)
@click.option(
    "--executor",
    "executor_url",
    default="",
    envvar="TUSK_EXECUTOR",
    help="Where datums run: 'local' (this server's threads, the default) or a Dask scheduler of "
    "`tusk worker` processes, dask://HOST:PORT or tls://HOST:PORT?ca=FILE&cert=FILE&key=FILE "
    "($TUSK_EXECUTOR; needs --blobs s3://... and pip install 'tusk[dask]'; docs/operations.md).",
)
@click.option("--no-reflection", is_flag=True, help="Turn off gRPC server reflection.")
@click.option(
    "--file-url-dir",
    "file_url_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TUSK_FILE_URL_DIRS",
    help="Allow AddFile file:// URLs under DIR (repeatable; $TUSK_FILE_URL_DIRS, ':'-separated). "
    "Default: none, file:// URLs are refused. The data directory is never readable.",
)
@click.option(
    "--no-file-urls",
    is_flag=True,
    help="Refuse AddFile file:// URLs whatever --file-url-dir says.",
)
@click.option(
    "--url-max-bytes",
    type=click.IntRange(1),
    default=None,
    envvar="TUSK_URL_MAX_BYTES",
    help="Most bytes one AddFile URL may bring ($TUSK_URL_MAX_BYTES). Default: 8 GiB.",
)
@click.option(
    "--url-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    envvar="TUSK_URL_TIMEOUT",
    help="Most seconds fetching one AddFile URL may take ($TUSK_URL_TIMEOUT). Default: 600.",
)
@click.option(
    "--auth-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Require the token in this file (metadata 'authn-token') on every RPC but health.",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PEM certificate.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PEM private key.")
@click.option("--log-level", default="INFO", show_default=True)
def serve_cmd(
    listen: str,
    data_dir: Path | None,
    store: str | None,
    engine: str,
    datum_workers: int | None,
    max_streams: int | None,
    datum_output_limit: int | None,
    blobs_url: str,
    blob_cache_dir: Path | None,
    blob_cache_bytes: int | None,
    executor_url: str,
    no_reflection: bool,
    file_url_dirs: tuple[Path, ...],
    no_file_urls: bool,
    url_max_bytes: int | None,
    url_timeout: float | None,
    auth_token_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_level: str,
) -> None:
    """Serve the tusk gRPC API until SIGTERM or Ctrl-C."""
    from tuskd import logs
    from tuskd.app import serve
    from tuskd.config import ServerConfig, default_data_dir, parse_blobs_url
    from tuskd.domain.errors import TuskError

    logs.configure(log_level)
    config = ServerConfig(
        address=listen,
        data_dir=data_dir or default_data_dir(),
        store=store,
        engine=engine.lower(),
        reflection=not no_reflection,
        file_url_dirs=() if no_file_urls else tuple(file_url_dirs),
        auth_token_file=auth_token_file,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    if datum_workers:
        config = replace(config, datum_workers=datum_workers)
    if max_streams:
        config = replace(config, max_streams_per_kind=max_streams)
    if url_max_bytes:
        config = replace(config, url_max_bytes=url_max_bytes)
    if url_timeout:
        config = replace(config, url_timeout=url_timeout)
    if datum_output_limit:
        config = replace(config, datum_output_limit=datum_output_limit)
    if blob_cache_bytes:
        config = replace(config, blob_cache_bytes=blob_cache_bytes)
    try:
        config = replace(
            config, blobs_s3=parse_blobs_url(blobs_url), blob_cache_dir=blob_cache_dir, executor_url=executor_url
        )
        serve(config)
    except TuskError as exc:  # a bad flag or file: one clear line, no traceback
        raise click.ClickException(exc.message) from None
