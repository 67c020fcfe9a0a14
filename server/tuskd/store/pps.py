"""The PPS part of the metadata store interface: pipelines, jobs, job history, datums.

``PpsTx`` is used inside a transaction of the main :class:`tuskd.store.base.Store`; the store
implementation provides it through ``pps(tx)`` (wired once in wiring.py), so PPS writes join
the same atomic transaction as PFS writes (a finished input commit and its new jobs commit
together).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.errors import Aborted
from tuskd.domain.jobs import DatumRecord, Job, JobKey
from tuskd.domain.states import DatumState, JobState

from .base import Tx


@dataclass(frozen=True, slots=True)
class PipelineRow:
    id: int
    project: str
    name: str
    version: int
    state: int
    stopped: bool
    reason: str
    created_us: int
    updated_us: int


@dataclass(frozen=True, slots=True)
class PipelineVersionRow:
    pipeline_id: int
    version: int
    spec_json: str
    user_spec_json: str
    created_us: int


@dataclass(frozen=True, slots=True)
class JobRow:
    row: int  # creation order; also the listing cursor
    job: Job
    seq: int  # number of recorded changes of this job


@dataclass(frozen=True, slots=True)
class JobEvent:
    seq: int  # per-target: the job's own seq, or the job set's seq
    snapshot: str  # JSON of the job after the change (domain.jobs.job_to_dict)


@dataclass(frozen=True, slots=True)
class DatumRow:
    record: DatumRecord
    inputs_json: str


class DatumConflict(Aborted):
    """A datum change found its row in another state than the ledger expected (a concurrent
    writer got there first): ABORTED, never INTERNAL."""

    reason = "DATUM_CONFLICT"


@dataclass(frozen=True, slots=True)
class OutputEntry:
    datum_id: str
    path: str
    blob: str
    size: int


@dataclass(frozen=True)
class JobQuery:
    """Filters and a keyset cursor for listing jobs (all optional)."""

    project: str | None = None
    pipeline: str | None = None
    projects: Sequence[str] = ()
    set_ids: Sequence[str] = ()
    states: Sequence[JobState] = ()
    pipeline_version: int | None = None
    after_row: int | None = None  # strictly after this row in the listing order
    newest_first: bool = True
    created_before_us: int | None = None
    created_after_us: int | None = None
    limit: int | None = None


class PpsTx(Tx, Protocol):
    # -- pipelines --------------------------------------------------------------------------
    def insert_pipeline(self, project: str, name: str, state: int, now_us: int) -> PipelineRow: ...
    def get_pipeline(self, project: str, name: str) -> PipelineRow | None: ...
    def list_pipelines(self, projects: Sequence[str] = ()) -> list[PipelineRow]: ...
    def update_pipeline(
        self,
        pipeline_id: int,
        now_us: int,
        *,
        version: int | None = None,
        state: int | None = None,
        stopped: bool | None = None,
        reason: str | None = None,
    ) -> None: ...
    def delete_pipeline(self, pipeline_id: int) -> None: ...
    def insert_pipeline_version(
        self, pipeline_id: int, version: int, spec_json: str, user_spec_json: str, now_us: int
    ) -> None: ...
    def get_pipeline_version(self, pipeline_id: int, version: int) -> PipelineVersionRow | None: ...

    # -- jobs -------------------------------------------------------------------------------
    def insert_job(self, job: Job, snapshot: str, now_us: int) -> JobRow: ...
    def get_job(self, key: JobKey) -> JobRow | None: ...
    def jobs_in_set(self, set_id: str) -> list[JobRow]: ...
    def list_jobs(self, query: JobQuery) -> list[JobRow]: ...
    def count_jobs(self) -> int: ...
    def save_job(self, row: int, job: Job, snapshot: str, now_us: int) -> tuple[int, int]:
        """Store the job's new state and append it to the change history.

        Returns the job's new seq and its job set's new seq."""
        ...

    def job_events(self, row: int, after_seq: int) -> list[JobEvent]: ...
    def set_events(self, set_id: str, after_seq: int) -> list[JobEvent]: ...
    def set_seq(self, set_id: str) -> int: ...
    def delete_job(self, row: int) -> None: ...
    def unfinished_jobs(self) -> list[JobRow]: ...
    def unfinished_job_keys(self) -> list[JobKey]:
        """The keys of ``unfinished_jobs``, oldest first, without reading the jobs themselves
        (what the dispatcher reads on every job created or ended)."""
        ...

    def last_successful_job(self, project: str, pipeline: str, before_row: int) -> JobRow | None: ...

    # -- datums -----------------------------------------------------------------------------
    def upsert_datums(self, job_row: int, changes: Iterable[DatumChange], now_us: int) -> None:
        """Write the datum ledger's changes: a change whose ``before`` is UNKNOWN inserts the
        row; any other updates the row only while it is still in ``before``. A change that finds
        its row in another state (or a row where it expected none) is refused: DatumConflict,
        and the caller's transaction must not commit."""
        ...

    def get_datum(self, job_row: int, datum_id: str) -> DatumRow | None: ...
    def list_datums(
        self,
        job_row: int,
        states: Sequence[DatumState] = (),
        after_id: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[DatumRow]: ...
    def datum_hashes(
        self, job_row: int, states: Sequence[DatumState], datum_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """datum id -> hash for the job's datums in ``states`` (for skipping); with
        ``datum_ids``, only those datums."""
        ...

    def carry_skipped_datums(
        self, from_row: int, to_row: int, leave_out: Collection[str], rewrite: tuple[str, str], now_us: int
    ) -> int:
        """The datum ledger's skip (no row -> SKIPPED, domain/datum_ledger.py ``skip``) in bulk,
        without a row passing through Python: every SUCCESS or SKIPPED datum of job ``from_row``
        whose ID is not in ``leave_out`` gets a SKIPPED row in job ``to_row`` -- same ID and hash,
        no attempts, reason or stats, its ``inputs_json`` with the text ``rewrite[0]`` replaced by
        ``rewrite[1]`` -- and its outputs copied to ``to_row``. Returns how many rows it wrote.
        A row already there: DatumConflict, and the caller's transaction must not commit."""
        ...

    def put_datum_outputs(self, job_row: int, entries: Iterable[OutputEntry]) -> None: ...
    def datum_outputs(self, job_row: int, datum_ids: Sequence[str] | None = None) -> list[OutputEntry]: ...
    def copy_datum_outputs(self, from_row: int, to_row: int, datum_ids: Sequence[str]) -> None: ...
