"""``tusk worker``: run datums for a tusk server on this machine, as a Dask worker."""

from __future__ import annotations

from pathlib import Path

import click

from tusk.cli.root import cli


@cli.command("worker")
@click.option(
    "--scheduler", required=True, envvar="TUSK_SCHEDULER", help="The Dask scheduler: HOST:PORT, tcp://... or tls://..."
)
@click.option(
    "--blobs",
    "blobs_url",
    required=True,
    envvar="TUSK_BLOBS",
    help="The server's blob store: s3://BUCKET/PREFIX?endpoint=http://HOST:PORT (the same as `tusk serve --blobs`).",
)
@click.option(
    "--cache-dir",
    "work_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="This worker's directory: its blob cache, datum trees and Dask's local files.",
)
@click.option(
    "--slots", type=click.IntRange(1, 1024), default=1, show_default=True, help="Datums at once on this worker."
)
@click.option("--cache-bytes", type=click.IntRange(1), default=10 * 1024**3, help="Most bytes the blob cache keeps.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address the worker listens on (others reach it there)."
)
@click.option(
    "--dashboard-address", default=None, help="Serve Dask's worker dashboard here (HOST:PORT); none by default."
)
@click.option("--name", default=None, help="The worker's name in the scheduler.")
@click.option("--insecure", is_flag=True, help="Allow plain tcp:// to a scheduler that is not on loopback.")
@click.option("--tls-ca", type=click.Path(dir_okay=False, path_type=Path), default=None, help="tls://: the CA (PEM).")
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="tls://: this worker's certificate.",
)
@click.option(
    "--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None, help="tls://: its private key."
)
@click.option("--log-level", default="INFO", show_default=True)
def worker_cmd(
    scheduler: str,
    blobs_url: str,
    work_dir: Path,
    slots: int,
    cache_bytes: int,
    host: str,
    dashboard_address: str | None,
    name: str | None,
    insecure: bool,
    tls_ca: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_level: str,
) -> None:
    """Run a tusk server's datums here until SIGTERM or Ctrl-C (docs/operations.md)."""
    from tuskd import logs
    from tuskd.domain.errors import TuskError
    from tuskd.wiring import serve_worker

    logs.configure(log_level)
    files = (tls_ca, tls_cert, tls_key)
    if any(files) and not all(files):
        raise click.UsageError("--tls-ca, --tls-cert and --tls-key go together")
    try:
        serve_worker(
            scheduler,
            blobs_url,
            work_dir,
            slots,
            cache_bytes=cache_bytes,
            host=host,
            dashboard_address=dashboard_address,
            insecure=insecure,
            tls=(tls_ca, tls_cert, tls_key) if tls_ca and tls_cert and tls_key else None,
            name=name,
        )
    except TuskError as exc:
        raise click.ClickException(exc.message) from None
