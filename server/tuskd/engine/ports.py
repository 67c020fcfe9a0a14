"""The ports of the job engine: what it needs from the rest of the server, as Protocols.

The engine imports nothing of ``tuskd.services``. The services satisfy these Protocols
structurally (``JobService`` is a :class:`JobLedger`, ``PfsService`` a :class:`CommitPort`,
``PipelineService`` a :class:`PipelineSpecs`, ``EventHub`` a :class:`Notifier`) and
``tuskd.wiring`` passes them in. Each Protocol holds exactly the methods the engine calls, so
another implementation (a ledger in PostgreSQL, a commit port in front of S3) knows what it
must provide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Protocol

from tuskd.blobs.base import BlobRef
from tuskd.cancel import CancelToken
from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.inputs import CronInput
from tuskd.domain.jobs import Counts, Job, JobKey, Stats
from tuskd.domain.pfs import CommitInfo, CommitRef, CommitState, CommitStatus, FileInfo, RepoInfo, RepoKey
from tuskd.domain.pipelines import PipelineKey, PipelineSpec
from tuskd.domain.states import JobState
from tuskd.store.base import PfsTx, Tx
from tuskd.store.pps import JobRow, OutputEntry, PpsTx

__all__ = [
    "ANY_JOB_TOPIC",
    "JOB_LIFECYCLE_TOPIC",
    "CommitPort",
    "JobLedger",
    "Notifier",
    "OutputSession",
    "PipelineChangeView",
    "PipelineSpecs",
    "Terminator",
    "Wakeups",
]

ANY_JOB_TOPIC = "jobs"
"""The topic every recorded job change is published under: the dispatcher wakes on it. The
job ledger (``services/jobs.py``) publishes it after each change commits."""

JOB_LIFECYCLE_TOPIC = "jobs/lifecycle"
"""Published only when a job is created or reaches a terminal state: the dispatcher wakes on it
(not on every progress record)."""


class JobLedger(Protocol):
    """The job records: read a job, change it (one history entry per change), its tables."""

    def get(self, key: JobKey) -> JobRow:
        """The stored job; NotFound for an unknown one."""
        ...

    def job_set(self, set_id: str) -> list[JobRow]:
        """Every job of a job set; NotFound for an unknown set."""
        ...

    def tables(self, tx: Tx) -> PpsTx:
        """The PPS tables seen through ``tx`` (datum rows, outputs, pipelines, job listings)."""
        ...

    def change(
        self,
        key: JobKey,
        fn: Callable[[Job], Job],
        *,
        datums: Iterable[DatumChange] = (),
        outputs: Iterable[OutputEntry] = (),
        tx: Tx | None = None,
    ) -> Job:
        """Record ``fn(job)`` and the datum rows and outputs given, in ``tx`` or a write of its own."""
        ...

    def transition(self, key: JobKey, new: JobState, reason: str | None = None, *, tx: Tx | None = None) -> Job:
        """Move the job to ``new`` (FailedPrecondition if the state table forbids it)."""
        ...

    def record_progress(
        self,
        key: JobKey,
        counts: Counts,
        stats: Stats,
        datums: Iterable[DatumChange] = (),
        outputs: Iterable[OutputEntry] = (),
    ) -> Job:
        """Add finished datums' counts and stats and store their rows."""
        ...


class Terminator(Protocol):
    """The one terminate path (``services/job_terminate.py``): end a job in KILLED, FAILURE or
    UNRUNNABLE inside the caller's write transaction, its output commit finished with pachd's
    error and no datum left claiming to run."""

    def terminate(self, tx: PfsTx, key: JobKey, state: JobState, reason: str) -> Job: ...


class OutputSession(Protocol):
    """Staged changes to one open commit, applied at once by :meth:`commit`."""

    @property
    def pending(self) -> int: ...

    def add_file(self, path: str, chunks: Iterable[bytes], append: bool = False) -> BlobRef: ...

    def put_blob(self, path: str, ref: BlobRef) -> None: ...

    def delete_file(self, path: str) -> None: ...

    def commit(self, still_wanted: Callable[[], bool] | None = None, *, tx: PfsTx | None = None) -> CommitInfo:
        """Apply the staged changes (``tx``: inside the caller's unit of work)."""
        ...

    def abort(self) -> None: ...

    def __enter__(self) -> OutputSession: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class CommitPort(Protocol):
    """Commits a job reads and writes: wait for inputs, walk their files, write and finish output."""

    def inspect_repo(self, repo: RepoKey) -> RepoInfo: ...

    def inspect_commit(
        self,
        commit: CommitRef,
        wait: CommitState = ...,
        *,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
        tx: PfsTx | None = None,
    ) -> CommitInfo:
        """The commit, after waiting (``cancel``-able) until it reaches ``wait`` (``tx``: read
        through the caller's transaction, only without a wait)."""
        ...

    def commit_status(
        self, commit: CommitRef, wait: CommitState = ..., *, cancel: CancelToken | None = None
    ) -> CommitStatus:
        """What the engine needs of a commit (cheaper than ``inspect_commit``), after waiting
        (``cancel``-able) until it reaches ``wait``."""
        ...

    def walk_files(
        self, commit: CommitRef, path: str = "/", number: int = 0, reverse: bool = False, marker: str | None = None
    ) -> Iterator[FileInfo]: ...

    def list_files(
        self, commit: CommitRef, path: str = "/", number: int = 0, reverse: bool = False, marker: str | None = None
    ) -> Iterator[FileInfo]: ...

    def changed_paths(self, old: CommitRef, new: CommitRef, limit: int) -> list[str] | None:
        """The file paths whose file differs between two commits of one repo, or None when the
        layers the two trees do not share hold more than ``limit`` paths (or the repos differ)."""
        ...

    def begin_modify(self, target: CommitRef) -> OutputSession: ...

    def finish_commit(
        self, commit: CommitRef, description: str = "", error: str = "", force: bool = False, *, tx: PfsTx | None = None
    ) -> None:
        """Finish ``commit`` (``error``: as failed), in ``tx`` or a write of its own."""
        ...


class PipelineSpecs(Protocol):
    """Pipeline specs as the cron ticker reads them."""

    def spec(self, key: PipelineKey, version: int | None = None) -> PipelineSpec: ...

    def cron_pipelines(self) -> list[tuple[PipelineKey, int, tuple[CronInput, ...]]]: ...


class PipelineChangeView(Protocol):
    """What the engine reads of a pipeline change its hooks are told about."""

    @property
    def pipeline(self) -> PipelineKey: ...

    @property
    def killed(self) -> tuple[JobKey, ...]: ...


class Wakeups(Protocol):
    """A subscription: :meth:`wait` returns when one of its topics was published (or it timed out)."""

    @property
    def cancelled(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def __enter__(self) -> Wakeups: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Notifier(Protocol):
    """In-process change notification (``services/events.py``'s hub carries the same calls)."""

    def publish(self, *topics: str) -> None: ...

    def subscribe(self, *topics: str) -> Wakeups: ...
