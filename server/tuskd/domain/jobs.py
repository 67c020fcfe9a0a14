"""Jobs and datums as records, and the pure rules for changing them.

A ``Job`` is one execution of one pipeline version for one commit set. Every change goes
through :func:`transition` (state, via the one table in states.py) or :func:`add_counts`
(counters that only ever go up), so a change is either valid or refused here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from .errors import InvalidArgument, NotFound
from .states import DatumState, JobState, check_transition, is_terminal

# Bounds of the waits a client may ask for (docs/operations.md): a WaitJob heartbeat period and
# a StopJob grace period. Past a few hours they are mistakes, and past threading.TIMEOUT_MAX
# they would break the waits themselves.
MAX_HEARTBEAT_SECONDS: Final = 3600.0
MAX_GRACE_SECONDS: Final = 3600.0


def check_seconds(value: float, field: str, limit: float) -> float:
    """``value`` if it lies in ``[0, limit]``, else InvalidArgument naming ``field``."""
    if value < 0:
        raise InvalidArgument(f"{field} must not be negative", field=field)
    if value > limit:
        raise InvalidArgument(f"{field} of {value:g}s is more than the limit of {limit:g}s", field=field)
    return value


@dataclass(frozen=True)
class Stats:
    download_time: float = 0.0  # seconds
    process_time: float = 0.0
    upload_time: float = 0.0
    download_bytes: int = 0
    upload_bytes: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.download_time + other.download_time,
            self.process_time + other.process_time,
            self.upload_time + other.upload_time,
            self.download_bytes + other.download_bytes,
            self.upload_bytes + other.upload_bytes,
        )


@dataclass(frozen=True)
class Counts:
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    recovered: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.processed + other.processed,
            self.skipped + other.skipped,
            self.failed + other.failed,
            self.recovered + other.recovered,
        )

    @property
    def done(self) -> int:
        return self.processed + self.skipped + self.failed + self.recovered


@dataclass(frozen=True)
class JobKey:
    project: str
    pipeline: str
    id: str

    def __str__(self) -> str:
        prefix = "" if self.project == "default" else f"{self.project}/"
        return f"{prefix}{self.pipeline}@{self.id}"


@dataclass(frozen=True)
class Job:
    key: JobKey
    pipeline_version: int
    output_repo: str
    output_branch: str
    state: JobState = JobState.JOB_CREATED
    reason: str = ""
    restart: int = 0
    counts: Counts = Counts()
    total: int = 0
    stats: Stats = Stats()
    created: float = 0.0  # unix seconds; 0 = unset
    started: float = 0.0
    finished: float = 0.0

    @property
    def terminal(self) -> bool:
        return is_terminal(self.state)


def transition(job: Job, new: JobState, now: float, reason: str | None = None) -> Job:
    """The job in state ``new``; sets ``started`` on RUNNING and ``finished`` (and ``started`` if
    never set) on a terminal state. Raises FailedPrecondition for a move the table forbids."""
    check_transition(job.state, new, subject=f"job {job.key}")
    started, finished = job.started, job.finished
    if new == JobState.JOB_RUNNING and not started:
        started = now
    if is_terminal(new):
        finished = now
        started = started or now
    return replace(
        job,
        state=new,
        reason=job.reason if reason is None else reason,
        started=started,
        finished=finished,
    )


def add_counts(job: Job, counts: Counts, stats: Stats) -> Job:
    """Counters and stats only grow: a negative delta is a bug and is refused."""
    for value in (counts.processed, counts.skipped, counts.failed, counts.recovered):
        if value < 0:
            raise ValueError("job counters never go backwards")
    return replace(job, counts=job.counts + counts, stats=job.stats + stats)


@dataclass(frozen=True)
class DatumRecord:
    job: JobKey
    id: str
    hash: str
    state: DatumState = DatumState.UNKNOWN
    attempts: int = 0
    reason: str = ""
    stats: Stats = Stats()
    # A restarted datum waiting in STARTING: the outcome it had, which the job's counters
    # already count (domain/datum_ledger.py). None otherwise.
    counted: DatumState | None = None


def job_to_dict(job: Job) -> dict[str, object]:
    """A JSON-ready snapshot of a job (the change history keeps these)."""
    return {
        "project": job.key.project,
        "pipeline": job.key.pipeline,
        "id": job.key.id,
        "pipeline_version": job.pipeline_version,
        "output_repo": job.output_repo,
        "output_branch": job.output_branch,
        "state": int(job.state),
        "reason": job.reason,
        "restart": job.restart,
        "counts": [job.counts.processed, job.counts.skipped, job.counts.failed, job.counts.recovered],
        "total": job.total,
        "stats": [
            job.stats.download_time,
            job.stats.process_time,
            job.stats.upload_time,
            job.stats.download_bytes,
            job.stats.upload_bytes,
        ],
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
    }


def job_from_dict(data: dict[str, object]) -> Job:
    counts = data["counts"]
    stats = data["stats"]
    assert isinstance(counts, list) and isinstance(stats, list)
    return Job(
        key=JobKey(str(data["project"]), str(data["pipeline"]), str(data["id"])),
        pipeline_version=int(data["pipeline_version"]),  # type: ignore[call-overload]
        output_repo=str(data["output_repo"]),
        output_branch=str(data["output_branch"]),
        state=JobState(int(data["state"])),  # type: ignore[call-overload]
        reason=str(data["reason"]),
        restart=int(data["restart"]),  # type: ignore[call-overload]
        counts=Counts(*(int(c) for c in counts)),
        total=int(data["total"]),  # type: ignore[call-overload]
        stats=Stats(float(stats[0]), float(stats[1]), float(stats[2]), int(stats[3]), int(stats[4])),
        created=float(data["created"]),  # type: ignore[arg-type]
        started=float(data["started"]),  # type: ignore[arg-type]
        finished=float(data["finished"]),  # type: ignore[arg-type]
    )


def job_not_found(key: JobKey) -> NotFound:
    """pachd's NOT_FOUND for a job: ``jobs default/edges@<id> not found``."""
    return NotFound(f"jobs {key.project}/{key.pipeline}@{key.id} not found", reason="JOB_NOT_FOUND", job=str(key))


_TERMINAL_WORDS = {
    JobState.JOB_FAILURE: "failed",
    JobState.JOB_KILLED: "was killed",
    JobState.JOB_UNRUNNABLE: "is unrunnable",
}


def output_commit_error(key: JobKey, state: JobState, reason: str) -> str:
    """The error a failed, killed or unrunnable job leaves on its output commit (pachd's text:
    ``job <pipeline>@<id> was killed: <reason>``)."""
    return f"job {key} {_TERMINAL_WORDS.get(state, state.name)}: {reason}"
