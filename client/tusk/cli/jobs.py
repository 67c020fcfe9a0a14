"""``tusk`` commands for jobs, job sets, datums and logs, shaped like pachctl's.

``list job`` (the job-set table alone, or the job table ``ID PIPELINE STARTED DURATION RESTART
PROGRESS DL UL STATE`` with ``-p``, an ID, ``-x``, ``--state`` or ``-i``), ``inspect job``,
``wait job`` (a live progress bar per job on a terminal, plain lines elsewhere; exit 5 when a job
ends unsuccessfully), ``stop job``, ``delete job``, ``list datum``, ``inspect datum``,
``restart datum`` and ``logs``.

This module parses the arguments they share and holds the job commands; how jobs and datums are
shown (tables, descriptions, ``wait job``'s live view) is in ``job_views``, the datum commands in
``datums`` and ``logs`` in ``logs``.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

import click

from tusk import format as fmt
from tusk.cli.job_views import (
    JOB_HEADERS,
    JOB_SET_HEADERS,
    ProgressView,
    describe_job,
    job_name,
    job_row,
    job_set_row,
    state_text,
)
from tusk.cli.output import output_option, print_raw, raw_option, show_one
from tusk.cli.root import Settings, delete, inspect, list_, pass_settings, project_option, stop, wait
from tusk.pps_jobs import split_target
from tusk.proto.pps_v2 import pps_pb2

_STATE_WORDS = [
    "created",
    "starting",
    "running",
    "egressing",
    "finishing",
    "success",
    "failure",
    "killed",
    "unrunnable",
]

pipeline_project_option = project_option("pipeline")


# --------------------------------------------------------------------------------------------
# Parsing arguments
# --------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float:
    """``30s``, ``1m30s``, ``500ms``, ``2h`` or plain seconds, as seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            raise click.BadParameter(f"{text!r} is not a duration (examples: 30s, 1m30s, 500ms)")
        total += float(m.group(1)) * scale[m.group(2)]
        pos = m.end()
    if not text:
        raise click.BadParameter("empty duration")
    return total


class DurationType(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float | int):
            return float(value)
        try:
            return parse_duration(str(value))
        except click.BadParameter as err:
            self.fail(err.message, param, ctx)


DURATION = DurationType()


def job_arg(text: str, project: str = "") -> str:
    """``[project/]pipeline@id`` checked for its pipeline; ``--project`` applies when none is given."""
    proj, pipeline, job_id = split_target(text)
    if pipeline is None or not job_id:
        raise click.BadParameter(f"{text!r}: write the job as <pipeline>@<job id>", param_hint="JOB")
    proj = proj or project
    return f"{proj}/{pipeline}@{job_id}" if proj else f"{pipeline}@{job_id}"


def _history(value: str) -> int:
    if value == "none":
        return 0
    if value == "all":
        return -1
    try:
        number = int(value)
    except ValueError:
        number = -2
    if number < 0:
        raise click.BadParameter("expected none, all or a number of versions", param_hint="--history")
    return number


def _state_value(word: str) -> int:
    return int(pps_pb2.JobState.Value(f"JOB_{word.upper()}"))


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@list_.command("job")
@click.argument("job_set", required=False)
@click.option("-p", "--pipeline", default=None, help="Only jobs of this pipeline.")
@pipeline_project_option
@click.option("-x", "--expand", is_flag=True, help="List every job rather than job sets.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(_STATE_WORDS, case_sensitive=False),
    help="Only jobs in this state (repeatable).",
)
@click.option("--history", default="none", help="Pipeline versions: none (current), all, or a number of earlier ones.")
@click.option(
    "-i", "--input", "inputs", multiple=True, help="Only jobs that read this commit (repo@branch or repo@id)."
)
@click.option("--full-timestamps", is_flag=True, help="Print absolute times instead of '20 hours ago'.")
@raw_option
@output_option
@pass_settings
def list_job_cmd(
    settings: Settings,
    job_set: str | None,
    pipeline: str | None,
    project: str,
    expand: bool,
    states: tuple[str, ...],
    history: str,
    inputs: tuple[str, ...],
    full_timestamps: bool,
    raw: bool,
    output: str | None,
) -> None:
    """List job sets, or the jobs of a pipeline, a job set (ID) or every pipeline (-x)."""
    history_value = _history(history)
    state_values = [_state_value(s) for s in states]
    raw_format = output or ("json" if raw else None)
    with settings.client() as client:
        if job_set:
            infos = [i for i in client.pps.inspect_job_set(job_set) if not state_values or i.state in state_values]
        elif pipeline or expand or states or inputs:
            infos = list(
                client.pps.list_job(
                    pipeline,
                    project=project,
                    projects=[project] if project and not pipeline else [],
                    input_commits=inputs,
                    history=history_value,
                    states=state_values,
                )
            )
        else:
            sets = list(client.pps.list_job_set(projects=[project] if project else []))
            if raw_format:
                print_raw(sets, raw_format)
                return
            color = sys.stdout.isatty()
            click.echo(fmt.table(JOB_SET_HEADERS, [job_set_row(s, full_timestamps, color=color) for s in sets]))
            return
    if raw_format:
        print_raw(infos, raw_format)
        return
    now = datetime.now(UTC)
    click.echo(fmt.table(JOB_HEADERS, [job_row(i, full_timestamps, now) for i in infos]))


@inspect.command("job")
@click.argument("job")
@pipeline_project_option
@raw_option
@output_option
@pass_settings
def inspect_job_cmd(settings: Settings, job: str, project: str, raw: bool, output: str | None) -> None:
    """Show one job (PIPELINE@ID) in detail; --raw prints protobuf JSON."""
    target = job_arg(job, project)
    with settings.client() as client:
        info = client.pps.inspect_job(target, details=True)
    show_one(info, raw, output, lambda: describe_job(info))


@wait.command("job")
@click.argument("target")
@pipeline_project_option
@click.option("--heartbeat", type=DURATION, default=None, help="How often the server confirms it is alive.")
@click.option(
    "--progress/--no-progress", default=None, help="Live progress bars (default: when printing to a terminal)."
)
@click.option("--reconnect-for", type=DURATION, default=120.0, help="How long to keep retrying a lost connection.")
@pass_settings
def wait_job_cmd(
    settings: Settings,
    target: str,
    project: str,
    heartbeat: float | None,
    progress: bool | None,
    reconnect_for: float,
) -> None:
    """Wait for a job set (ID) or one job (PIPELINE@ID) to finish; exit 5 if a job did not succeed."""
    from tusk.cli import Unsuccessful

    _, pipeline, _ = split_target(target)
    if pipeline is not None:
        target = job_arg(target, project)
    out: IO[str] = sys.stdout
    view = ProgressView(out, out.isatty() if progress is None else progress)
    with settings.client() as client:
        for response in client.pps.wait_job(
            target, heartbeat=heartbeat, reconnect_for=reconnect_for, on_reconnect=view.reconnecting
        ):
            if response.heartbeat:
                view.heartbeat()
            else:
                view.update(response.job_info)
    failed = view.unsuccessful()
    if failed:
        raise Unsuccessful("; ".join(f"job {job_name(i)} ended {state_text(i)}" for i in failed))


@stop.command("job")
@click.argument("target")
@pipeline_project_option
@click.option("--grace", type=DURATION, default=None, help="Let running datums go on this long (e.g. 30s).")
@click.option("--reason", default="", help="Recorded as the job's reason (default: job stopped).")
@pass_settings
def stop_job_cmd(settings: Settings, target: str, project: str, grace: float | None, reason: str) -> None:
    """Stop a job set (ID) or one job (PIPELINE@ID); returns once its processes are gone."""
    _, pipeline, _ = split_target(target)
    if pipeline is not None:
        target = job_arg(target, project)
    with settings.client() as client:
        client.pps.stop_job(target, reason=reason, grace=grace)


@delete.command("job")
@click.argument("job")
@pipeline_project_option
@pass_settings
def delete_job_cmd(settings: Settings, job: str, project: str) -> None:
    """Delete a finished job's record (PIPELINE@ID)."""
    with settings.client() as client:
        client.pps.delete_job(job_arg(job, project))
