"""How the job and datum commands show things: pachctl's tables (job, job set, datum), the
``inspect`` descriptions, and the live view ``wait job`` draws (a redrawn bar per job on a terminal,
one plain line per change elsewhere)."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import IO, Any

import click
from google.protobuf import json_format
from google.protobuf.message import Message

from tusk import format as fmt
from tusk.proto.pps_v2 import pps_pb2

JOB_HEADERS = ["ID", "PIPELINE", "STARTED", "DURATION", "RESTART", "PROGRESS", "DL", "UL", "STATE"]
JOB_SET_HEADERS = ["ID", "SUBJOBS", "PROGRESS", "CREATED", "MODIFIED"]
DATUM_HEADERS = ["ID", "FILES", "STATUS", "TIME"]

_TERMINAL = frozenset({pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE, pps_pb2.JOB_KILLED, pps_pb2.JOB_UNRUNNABLE})


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
