"""``tusk logs``: the logs of a pipeline, job or datum, as text or (``--raw``) one JSON message a line."""

from __future__ import annotations

from collections.abc import Iterable

import click
from google.protobuf import json_format

from tusk.cli.jobs import DURATION, pipeline_project_option
from tusk.cli.output import raw_option
from tusk.cli.root import Settings, cli, pass_settings
from tusk.proto.pps_v2 import pps_pb2


@cli.command("logs")
@click.option("-p", "--pipeline", default=None, help="Logs of this pipeline's jobs.")
@pipeline_project_option
@click.option("-j", "--job", default=None, help="Logs of one job (ID with -p, or PIPELINE@ID).")
@click.option("--datum", default=None, help="Logs of one datum of the job.")
@click.option("--input", "inputs", multiple=True, help="Only datums with this input path or hash (repeatable).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as datums finish.")
@click.option("--tail", type=int, default=0, help="Only the last N lines.")
@click.option("--since", type=DURATION, default=None, help="Only lines from this long ago (e.g. 10m).")
@click.option("--master", is_flag=True, help="Only the pipeline master's lines.")
@raw_option
@pass_settings
def logs_cmd(
    settings: Settings,
    pipeline: str | None,
    project: str,
    job: str | None,
    datum: str | None,
    inputs: tuple[str, ...],
    follow: bool,
    tail: int,
    since: float | None,
    master: bool,
    raw: bool,
) -> None:
    """Print the logs of a pipeline, job or datum: user output between the worker's lines."""
    if not pipeline and not job:
        raise click.UsageError("name a pipeline (-p) or a job (--job)")
    if datum and not job:
        raise click.UsageError("--datum needs --job")
    with settings.client() as client:
        stream = client.pps.get_logs(
            pipeline=pipeline,
            project=project,
            job=job,
            datum=datum,
            data_filters=inputs,
            master=master,
            follow=follow,
            tail=tail,
            since=since,
        )
        _print_logs(stream, raw)


def _print_logs(stream: Iterable[pps_pb2.LogMessage], raw: bool) -> None:
    for message in stream:
        if raw:
            click.echo(json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None))
        else:
            click.echo(message.message)
