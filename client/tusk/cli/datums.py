"""``tusk`` commands for the datums of a job: ``list datum``, ``inspect datum`` and ``restart datum``
(see :mod:`tusk.cli.jobs` for how a job is named)."""

from __future__ import annotations

import re

import click

from tusk import format as fmt
from tusk.cli.job_views import DATUM_HEADERS, datum_row, describe_datum
from tusk.cli.jobs import job_arg, pipeline_project_option
from tusk.cli.output import output_option, print_raw, raw_option, show_one
from tusk.cli.root import Settings, inspect, list_, pass_settings, restart
from tusk.proto.pps_v2 import pps_pb2

_DATUM_WORDS = ["failed", "success", "skipped", "starting", "recovered", "unknown"]


@list_.command("datum")
@click.argument("job")
@pipeline_project_option
@click.option(
    "--state", "states", multiple=True, type=click.Choice(_DATUM_WORDS, case_sensitive=False), help="Repeatable."
)
@raw_option
@output_option
@pass_settings
def list_datum_cmd(
    settings: Settings, job: str, project: str, states: tuple[str, ...], raw: bool, output: str | None
) -> None:
    """List the datums of a job (PIPELINE@ID)."""
    values = [int(pps_pb2.DatumState.Value(s.upper())) for s in states]
    with settings.client() as client:
        infos = list(client.pps.list_datum(job_arg(job, project), states=values))
    if raw or output:
        print_raw(infos, output or "json")
        return
    click.echo(fmt.table(DATUM_HEADERS, [datum_row(i) for i in infos]))


@inspect.command("datum")
@click.argument("job")
@click.argument("datum")
@pipeline_project_option
@raw_option
@output_option
@pass_settings
def inspect_datum_cmd(settings: Settings, job: str, datum: str, project: str, raw: bool, output: str | None) -> None:
    """Show one datum of a job (PIPELINE@ID DATUM) in detail."""
    with settings.client() as client:
        info = client.pps.inspect_datum(job_arg(job, project), datum)
    show_one(info, raw, output, lambda: describe_datum(info))


_DATUM_ID = re.compile(r"^[0-9a-f]{16,}$")


@restart.command("datum")
@click.argument("job")
@click.argument("datums", nargs=-1, required=True)
@pipeline_project_option
@pass_settings
def restart_datum_cmd(settings: Settings, job: str, datums: tuple[str, ...], project: str) -> None:
    """Run datums of a running job again, named by datum ID or input path (comma lists work)."""
    items = [part.strip() for item in datums for part in item.split(",") if part.strip()]
    ids = [i for i in items if _DATUM_ID.match(i)]
    paths = [i for i in items if not _DATUM_ID.match(i)]
    with settings.client() as client:
        client.pps.restart_datum(job_arg(job, project), datum_ids=ids, data_filters=paths)
