"""``tusk`` commands for jobs, job sets, datums and logs, shaped like pachctl's.

``list job`` (the job-set table alone, or the job table ``ID PIPELINE STARTED DURATION RESTART
PROGRESS DL UL STATE`` with ``-p``, an ID, ``-x``, ``--state`` or ``-i``), ``inspect job``,
``wait job`` (a live progress bar per job on a terminal, plain lines elsewhere; exit 5 when a job
ends unsuccessfully), ``stop job``, ``delete job``, ``list datum``, ``inspect datum``,
``restart datum`` and ``logs``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

import click
from google.protobuf import json_format
from google.protobuf.message import Message

from tusk import format as fmt
from tusk.cli.output import output_option, print_raw, raw_option, show_one
from tusk.cli.root import Settings, cli, delete, inspect, list_, pass_settings, project_option, restart, stop, wait
from tusk.pps_jobs import split_target
from tusk.proto.pps_v2 import pps_pb2

JOB_HEADERS = ["ID", "PIPELINE", "STARTED", "DURATION", "RESTART", "PROGRESS", "DL", "UL", "STATE"]
JOB_SET_HEADERS = ["ID", "SUBJOBS", "PROGRESS", "CREATED", "MODIFIED"]
DATUM_HEADERS = ["ID", "FILES", "STATUS", "TIME"]

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
_TERMINAL = frozenset({pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE, pps_pb2.JOB_KILLED, pps_pb2.JOB_UNRUNNABLE})
_DATUM_WORDS = ["failed", "success", "skipped", "starting", "recovered", "unknown"]

_project_option = project_option("pipeline")
_raw_option = raw_option
_output_option = output_option

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
# Presentation
# --------------------------------------------------------------------------------------------


def _when(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    when: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    return when


def job_name(info: pps_pb2.JobInfo) -> str:
    project = info.job.pipeline.project.name
    prefix = f"{project}/" if project and project != "default" else ""
    return f"{prefix}{info.job.pipeline.name}@{info.job.id}"


def state_text(info: pps_pb2.JobInfo) -> str:
    return fmt.job_state(pps_pb2.JobState.Name(info.state), info.reason)


def job_progress(info: pps_pb2.JobInfo) -> str:
    return fmt.progress(info.data_processed, info.data_skipped, info.data_total, info.data_recovered)


def job_row(info: pps_pb2.JobInfo, full_timestamps: bool = False, now: datetime | None = None) -> list[str]:
    started, finished = _when(info, "started"), _when(info, "finished")
    return [
        info.job.id,
        info.job.pipeline.name,
        fmt.full_timestamp(started) if full_timestamps else fmt.ago(started, now),
        fmt.duration_between(started, finished),
        str(info.restart),
        job_progress(info),
        fmt.bytes_size(info.stats.download_bytes),
        fmt.bytes_size(info.stats.upload_bytes),
        state_text(info),
    ]


def progress_bar(width: int, green: int, yellow: int, red: int, color: bool) -> str:
    """pachctl's job-set bar: blocks for succeeded, running and failed jobs."""
    total = green + yellow + red
    cells = []
    for i in range(width):
        if i * total < green * width:
            cells.append(click.style("\u2587", fg="green") if color else "\u2587")
        elif i * total < (green + yellow) * width:
            cells.append(click.style("\u2587", fg="yellow") if color else "\u2587")
        elif i * total < total * width:
            cells.append(click.style("\u2587", fg="red") if color else "\u2587")
        else:
            cells.append(" ")
    return "".join(cells)


def job_set_row(
    info: pps_pb2.JobSetInfo, full_timestamps: bool = False, now: datetime | None = None, color: bool = False
) -> list[str]:
    jobs = list(info.jobs)
    success = sum(1 for j in jobs if j.state == pps_pb2.JOB_SUCCESS)
    failure = sum(1 for j in jobs if j.state in _TERMINAL and j.state != pps_pb2.JOB_SUCCESS)
    created = min((t for j in jobs if (t := _when(j, "created")) is not None), default=None)
    modified = max(
        (t for j in jobs for f in ("created", "started", "finished") if (t := _when(j, f)) is not None), default=None
    )
    show = fmt.full_timestamp if full_timestamps else (lambda when: fmt.ago(when, now))
    return [
        info.job_set.id,
        str(len(jobs)),
        progress_bar(8, success, len(jobs) - success - failure, failure, color),
        show(created),
        show(modified),
    ]


def _json_block(message: Message) -> str:
    return json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), indent=2)


def _seconds(message: Message, field: str) -> float:
    d = getattr(message, field)
    return float(d.seconds + d.nanos / 1e9)


def describe_job(info: pps_pb2.JobInfo, now: datetime | None = None) -> str:
    """The text of ``inspect job``: pachctl's layout, unset fields left out."""
    started, finished = _when(info, "started"), _when(info, "finished")
    s = info.stats
    lines = [
        f"ID: {info.job.id}",
        f"Pipeline: {info.job.pipeline.name}",
    ]
    if info.job.pipeline.project.name and info.job.pipeline.project.name != "default":
        lines.append(f"Project: {info.job.pipeline.project.name}")
    lines += [
        f"Pipeline Version: {info.pipeline_version}",
        f"Created: {fmt.ago(_when(info, 'created'), now)}",
        f"Started: {fmt.ago(started, now)}",
        f"Duration: {fmt.duration_between(started, finished)}",
        f"State: {fmt.job_state_word(pps_pb2.JobState.Name(info.state))}",
        f"Reason: {info.reason}",
        f"Processed: {info.data_processed}",
        f"Failed: {info.data_failed}",
        f"Skipped: {info.data_skipped}",
        f"Recovered: {info.data_recovered}",
        f"Total: {info.data_total}",
        f"Data Downloaded: {fmt.bytes_size(s.download_bytes)}",
        f"Data Uploaded: {fmt.bytes_size(s.upload_bytes)}",
        f"Download Time: {fmt.human_duration(_seconds(s, 'download_time'))}",
        f"Process Time: {fmt.human_duration(_seconds(s, 'process_time'))}",
        f"Upload Time: {fmt.human_duration(_seconds(s, 'upload_time'))}",
        f"Restarts: {info.restart}",
    ]
    d = info.details
    if info.HasField("details"):
        if d.HasField("datum_timeout"):
            lines.append(f"Datum Timeout: {fmt.human_duration(_seconds(d, 'datum_timeout'))}")
        if d.HasField("job_timeout"):
            lines.append(f"Job Timeout: {fmt.human_duration(_seconds(d, 'job_timeout'))}")
        lines.append(f"Datum Tries: {d.datum_tries}")
        if d.egress.URL:
            lines.append(f"Egress: {d.egress.URL}")
        lines += ["Input:", _json_block(d.input), "Transform:", _json_block(d.transform)]
    c = info.output_commit
    lines.append(f"Output Commit: {c.branch.repo.name}@{c.id}")
    return "\n".join(lines)


def datum_files(info: pps_pb2.DatumInfo) -> str:
    return ", ".join(f"{f.file.commit.branch.repo.name}@{f.file.commit.id}:{f.file.path}" for f in info.data)


def datum_time(info: pps_pb2.DatumInfo) -> float:
    s = info.stats
    return _seconds(s, "download_time") + _seconds(s, "process_time") + _seconds(s, "upload_time")


def datum_row(info: pps_pb2.DatumInfo) -> list[str]:
    state = fmt.datum_state_word(pps_pb2.DatumState.Name(info.state))
    return [info.datum.id, datum_files(info), state, fmt.human_duration(datum_time(info))]


def describe_datum(info: pps_pb2.DatumInfo) -> str:
    lines = [
        f"ID: {info.datum.id}",
        f"Job ID: {info.datum.job.id}",
        f"State: {fmt.datum_state_word(pps_pb2.DatumState.Name(info.state))}",
        f"Attempts: {info.attempts}",
    ]
    if info.reason:
        lines.append(f"Reason: {info.reason}")
    lines += [
        f"Data Downloaded: {fmt.bytes_size(info.stats.download_bytes)}",
        f"Data Uploaded: {fmt.bytes_size(info.stats.upload_bytes)}",
        f"Total Time: {fmt.human_duration(datum_time(info))}",
        "Inputs:",
    ]
    rows = [
        [f.file.commit.branch.repo.name, f.file.commit.id, f.file.path, fmt.bytes_size(f.size_bytes), f.hash.hex()[:16]]
        for f in info.data
    ]
    lines.append(fmt.table(["REPO", "COMMIT", "PATH", "SIZE", "HASH"], rows))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Live progress for ``wait job``
# --------------------------------------------------------------------------------------------


def _short_duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


class _Tracked:
    def __init__(self, info: pps_pb2.JobInfo, now: float) -> None:
        self.info = info
        self.first_seen = now
        self.first_done = self.done

    @property
    def done(self) -> int:
        i = self.info
        return i.data_processed + i.data_skipped + i.data_failed + i.data_recovered


class ProgressView:
    """Renders WaitJob messages: a redrawn bar per job on a terminal, one plain line per change
    elsewhere."""

    def __init__(self, out: IO[str], tty: bool, clock: Any = time.monotonic) -> None:
        self.out = out
        self.tty = tty
        self.clock = clock
        self.jobs: dict[str, _Tracked] = {}
        self._drawn = 0
        self._lost = False

    def update(self, info: pps_pb2.JobInfo) -> None:
        key = job_name(info)
        tracked = self.jobs.get(key)
        if tracked is None:
            self.jobs[key] = _Tracked(info, self.clock())
        else:
            tracked.info = info
        self._lost = False
        if self.tty:
            self.redraw()
        else:
            self.out.write(self.plain_line(info) + "\n")
            self.out.flush()

    def heartbeat(self) -> None:
        if self.tty:
            self.redraw()

    def reconnecting(self, seq: int, err: Exception) -> None:
        if not self._lost:
            self._lost = True
            sys.stderr.write(f"lost the connection to the server ({err}); resuming after change {seq}...\n")
            sys.stderr.flush()
            self._drawn = 0

    def plain_line(self, info: pps_pb2.JobInfo) -> str:
        counts = (
            f"{info.data_processed} processed, {info.data_skipped} skipped, {info.data_failed} failed, "
            f"{info.data_recovered} recovered of {info.data_total}"
        )
        return f"{job_name(info)}: {state_text(info)} ({counts})"

    def line(self, tracked: _Tracked, width: int = 24) -> str:
        info = tracked.info
        total = info.data_total
        done = tracked.done
        terminal = info.state in _TERMINAL
        fraction = 1.0 if terminal and not total else (done / total if total else 0.0)
        filled = int(fraction * width)
        bar = "#" * filled + "." * (width - filled)
        elapsed = self.clock() - tracked.first_seen
        rate = (done - tracked.first_done) / elapsed if elapsed > 0 else 0.0
        extra = ""
        if not terminal and rate > 0 and total > done:
            extra = f"  {rate:.1f}/s  ETA {_short_duration((total - done) / rate)}"
        counts = (
            f"{info.data_processed} processed, {info.data_skipped} skipped, {info.data_failed} failed, "
            f"{info.data_recovered} recovered / {total}"
        )
        return f"{job_name(info)} [{bar}] {counts}{extra}  {state_text(info)}"

    def redraw(self) -> None:
        lines = [self.line(t) for t in self.jobs.values()]
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F")
        for text in lines:
            self.out.write(f"\x1b[2K{text}\n")
        self._drawn = len(lines)
        self.out.flush()

    def unsuccessful(self) -> list[pps_pb2.JobInfo]:
        return [t.info for t in self.jobs.values() if t.info.state != pps_pb2.JOB_SUCCESS]


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@list_.command("job")
@click.argument("job_set", required=False)
@click.option("-p", "--pipeline", default=None, help="Only jobs of this pipeline.")
@_project_option
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
@_raw_option
@_output_option
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
@_project_option
@_raw_option
@_output_option
@pass_settings
def inspect_job_cmd(settings: Settings, job: str, project: str, raw: bool, output: str | None) -> None:
    """Show one job (PIPELINE@ID) in detail; --raw prints protobuf JSON."""
    target = job_arg(job, project)
    with settings.client() as client:
        info = client.pps.inspect_job(target, details=True)
    show_one(info, raw, output, lambda: describe_job(info))


@wait.command("job")
@click.argument("target")
@_project_option
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
@_project_option
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
@_project_option
@pass_settings
def delete_job_cmd(settings: Settings, job: str, project: str) -> None:
    """Delete a finished job's record (PIPELINE@ID)."""
    with settings.client() as client:
        client.pps.delete_job(job_arg(job, project))


@list_.command("datum")
@click.argument("job")
@_project_option
@click.option(
    "--state", "states", multiple=True, type=click.Choice(_DATUM_WORDS, case_sensitive=False), help="Repeatable."
)
@_raw_option
@_output_option
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
@_project_option
@_raw_option
@_output_option
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
@_project_option
@pass_settings
def restart_datum_cmd(settings: Settings, job: str, datums: tuple[str, ...], project: str) -> None:
    """Run datums of a running job again, named by datum ID or input path (comma lists work)."""
    items = [part.strip() for item in datums for part in item.split(",") if part.strip()]
    ids = [i for i in items if _DATUM_ID.match(i)]
    paths = [i for i in items if not _DATUM_ID.match(i)]
    with settings.client() as client:
        client.pps.restart_datum(job_arg(job, project), datum_ids=ids, data_filters=paths)


@cli.command("logs")
@click.option("-p", "--pipeline", default=None, help="Logs of this pipeline's jobs.")
@_project_option
@click.option("-j", "--job", default=None, help="Logs of one job (ID with -p, or PIPELINE@ID).")
@click.option("--datum", default=None, help="Logs of one datum of the job.")
@click.option("--input", "inputs", multiple=True, help="Only datums with this input path or hash (repeatable).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as datums finish.")
@click.option("--tail", type=int, default=0, help="Only the last N lines.")
@click.option("--since", type=DURATION, default=None, help="Only lines from this long ago (e.g. 10m).")
@click.option("--master", is_flag=True, help="Only the pipeline master's lines.")
@_raw_option
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
