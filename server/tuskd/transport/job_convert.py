"""Converts domain jobs and datums to pps_v2 messages, shaped like pachctl's ``inspect job --raw``.

The seed's JSON is the contract: int64 counters as strings (protojson does that), enum names,
Durations with nanosecond precision (``"0.113263653s"``), RFC 3339 timestamps, and every zero or
unset field left out. Times that were never reached (``started``/``finished`` of a job still
running) are not set at all, and the ``default`` project is left out of names, as in the seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from google.protobuf import duration_pb2, timestamp_pb2

from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.jobs import Job, JobKey, Stats
from tuskd.domain.pfs import DEFAULT_PROJECT, USER_REPO_TYPE
from tuskd.services.datum_queries import DatumInputView, DatumView
from tuskd.services.job_logs import LogLine

__all__ = [
    "check_timestamp",
    "datum_file",
    "datum_info",
    "duration",
    "fill_input_commits",
    "job_info",
    "job_proto",
    "log_message",
    "pipeline_proto",
    "seconds_of",
    "stats_proto",
    "timestamp",
    "timestamp_us",
]

_NANOS = 1_000_000_000


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A Timestamp for unix ``seconds``, exact to the microsecond the store keeps."""
    us = round(seconds * 1_000_000)
    return timestamp_pb2.Timestamp(seconds=us // 1_000_000, nanos=(us % 1_000_000) * 1000)


# protobuf's valid ranges (google/protobuf/timestamp.proto, duration.proto).
_MIN_TIMESTAMP_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
_MAX_TIMESTAMP_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_DURATION_SECONDS = 315_576_000_000  # about 10,000 years


def check_timestamp(ts: timestamp_pb2.Timestamp, field: str) -> timestamp_pb2.Timestamp:
    """``ts`` if protobuf deems it valid, else InvalidArgument naming ``field``."""
    if not _MIN_TIMESTAMP_SECONDS <= ts.seconds <= _MAX_TIMESTAMP_SECONDS or not 0 <= ts.nanos < _NANOS:
        raise InvalidArgument(
            f"{field} is not a valid timestamp (seconds={ts.seconds}, nanos={ts.nanos}): it must lie between "
            "0001-01-01 and 9999-12-31 with nanos from 0 to 999999999",
            field=field,
        )
    return ts


def timestamp_us(ts: timestamp_pb2.Timestamp, field: str) -> int:
    """Microseconds since the epoch of a valid Timestamp (the store's resolution)."""
    check_timestamp(ts, field)
    return ts.seconds * 1_000_000 + ts.nanos // 1000


def duration(seconds: float) -> duration_pb2.Duration:
    """A Duration with nanosecond precision; seconds and nanos carry the same sign."""
    total = round(seconds * _NANOS)
    whole = int(math.copysign(abs(total) // _NANOS, total))
    return duration_pb2.Duration(seconds=whole, nanos=total - whole * _NANOS)


def seconds_of(d: duration_pb2.Duration, field: str) -> float:
    """Seconds of a valid Duration (seconds and nanos of one sign, within about 10,000 years),
    else InvalidArgument naming ``field``."""
    valid = (
        abs(d.seconds) <= _MAX_DURATION_SECONDS
        and abs(d.nanos) < _NANOS
        and not (d.seconds > 0 > d.nanos or d.seconds < 0 < d.nanos)
    )
    if not valid:
        raise InvalidArgument(
            f"{field} is not a valid duration (seconds={d.seconds}, nanos={d.nanos}): seconds and nanos must "
            "have the same sign, nanos within +-999999999 and seconds within +-315576000000",
            field=field,
        )
    return d.seconds + d.nanos / _NANOS


def _project(name: str) -> pfs_pb2.Project | None:
    return None if not name or name == DEFAULT_PROJECT else pfs_pb2.Project(name=name)


def pipeline_proto(project: str, name: str) -> pps_pb2.Pipeline:
    return pps_pb2.Pipeline(name=name, project=_project(project))


def job_proto(key: JobKey) -> pps_pb2.Job:
    return pps_pb2.Job(pipeline=pipeline_proto(key.project, key.pipeline), id=key.id)


def stats_proto(stats: Stats) -> pps_pb2.ProcessStats:
    """Zero durations stay unset, as in a job no datum has reported to yet."""
    out = pps_pb2.ProcessStats(download_bytes=stats.download_bytes, upload_bytes=stats.upload_bytes)
    for field, value in (
        ("download_time", stats.download_time),
        ("process_time", stats.process_time),
        ("upload_time", stats.upload_time),
    ):
        if value:
            getattr(out, field).CopyFrom(duration(value))
    return out


def _output_commit(job: Job) -> pfs_pb2.Commit:
    repo = pfs_pb2.Repo(name=job.output_repo, type=USER_REPO_TYPE, project=_project(job.key.project))
    return pfs_pb2.Commit(branch=pfs_pb2.Branch(repo=repo, name=job.output_branch), id=job.key.id)


def job_info(job: Job, details: pps_pb2.JobInfo.Details | None = None) -> pps_pb2.JobInfo:
    """The JobInfo of ``job``; ``details`` (the pipeline version's spec) only when asked for."""
    info = pps_pb2.JobInfo(
        job=job_proto(job.key),
        pipeline_version=job.pipeline_version,
        output_commit=_output_commit(job),
        restart=job.restart,
        data_processed=job.counts.processed,
        data_skipped=job.counts.skipped,
        data_total=job.total,
        data_failed=job.counts.failed,
        data_recovered=job.counts.recovered,
        stats=stats_proto(job.stats),
        state=job.state.name,  # the same names as pps_v2.JobState
        reason=job.reason,
    )
    for field, value in (("created", job.created), ("started", job.started), ("finished", job.finished)):
        if value:
            getattr(info, field).CopyFrom(timestamp(value))
    if details is not None:
        info.details.CopyFrom(details)
    return info


def fill_input_commits(details: pps_pb2.JobInfo.Details, commits: Mapping[tuple[str, str], str]) -> None:
    """Write each pfs input's commit ID for this job into ``details.input``, in place.

    ``commits`` maps (project, repo) to the ID of the input commit the job read, as in the
    seed's ``"commit": "fd9454d0..."``.
    """

    def walk(node: pps_pb2.Input) -> None:
        if node.HasField("pfs"):
            project = node.pfs.project or DEFAULT_PROJECT
            commit = commits.get((project, node.pfs.repo))
            if commit:
                node.pfs.commit = commit
        if node.HasField("cron"):
            commit = commits.get((node.cron.project or DEFAULT_PROJECT, node.cron.repo))
            if commit:
                node.cron.commit = commit
        for child in (*node.join, *node.group, *node.cross, *node.union):
            walk(child)

    if details.HasField("input"):
        walk(details.input)


def _hash_bytes(hex_hash: str) -> bytes:
    try:
        return bytes.fromhex(hex_hash)
    except ValueError:
        return hex_hash.encode()


def datum_file(inp: DatumInputView) -> pfs_pb2.FileInfo:
    """One input of a datum as a FileInfo: ``repo@commit:path`` with its size and hash."""
    repo = pfs_pb2.Repo(name=inp.repo, type=inp.repo_type or USER_REPO_TYPE, project=_project(inp.project))
    commit = pfs_pb2.Commit(branch=pfs_pb2.Branch(repo=repo, name=inp.branch), id=inp.commit)
    return pfs_pb2.FileInfo(
        file=pfs_pb2.File(commit=commit, path=inp.path),
        file_type="DIR" if inp.is_dir else "FILE",
        size_bytes=inp.size,
        hash=_hash_bytes(inp.hash),
    )


def input_file(inp: DatumInputView) -> pps_pb2.InputFile:
    return pps_pb2.InputFile(path=inp.path, hash=_hash_bytes(inp.hash))


def datum_info(view: DatumView) -> pps_pb2.DatumInfo:
    """A DatumInfo with tusk's attempts and reason, and its input files."""
    datum = pps_pb2.Datum(id=view.id)
    if view.job is not None:
        datum.job.CopyFrom(job_proto(view.job))
    return pps_pb2.DatumInfo(
        datum=datum,
        state=view.state.name,  # the same names as pps_v2.DatumState
        stats=stats_proto(view.stats),
        data=[datum_file(i) for i in view.inputs],
        attempts=view.attempts,
        reason=view.reason,
        page_token=view.page_token,
    )


def log_message(line: LogLine) -> pps_pb2.LogMessage:
    return pps_pb2.LogMessage(
        project_name=line.project,
        pipeline_name=line.pipeline,
        job_id=line.job_id,
        datum_id=line.datum_id,
        data=[input_file(i) for i in line.inputs],
        user=line.user,
        master=line.master,
        ts=timestamp(line.ts),
        message=line.message,
    )
