"""Job use cases the job API needs beyond JobService: listings with Pachyderm's filters and
opaque page tokens, job sets in DAG order, subscriptions and waiting (stopping and
deleting are services/job_commands.py; datums are services/datum_queries.py).

Listings walk the jobs table on its row-id keyset (newest first), in bounded batches, so one
page costs the same however long the history is. Filters the store can apply (project,
pipeline, states, job set, created-time marker) go into the query; the rest (pipeline-version
history, input commits, jq) are checked per row on each batch.

Page tokens are :mod:`tuskd.domain.page_tokens`: opaque to clients, and refused
(INVALID_ARGUMENT) when replayed against other filters or forged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tuskd.domain.errors import InvalidArgument, NotFound, OutOfRange
from tuskd.domain.ids import check_global_id
from tuskd.domain.jobs import MAX_HEARTBEAT_SECONDS, Job, JobKey, check_seconds
from tuskd.domain.page_tokens import decode_job_token, encode_job_token
from tuskd.domain.pfs import DEFAULT_PROJECT, CommitRef, RepoKey, check_name
from tuskd.domain.pipelines import pipeline_not_found
from tuskd.domain.states import TERMINAL_JOB_STATES, JobState, is_terminal
from tuskd.services.datum_queries import (
    DatumInputView,
    DatumListing,
    DatumQueries,
    DatumRestarter,
    DatumView,
    inputs_of,
    matches_filters,
)
from tuskd.services.events import CancelToken, EventHub
from tuskd.services.job_commands import DEFAULT_STOP_REASON, JobStopper
from tuskd.services.job_views import Render
from tuskd.services.jobs import JobService, WatchItem, WatchTarget, from_snapshot, pipeline_topic
from tuskd.services.pfs import PfsService
from tuskd.store.base import Store
from tuskd.store.pps import JobQuery, JobRow, PipelineRow

__all__ = [
    "DEFAULT_STOP_REASON",
    "DatumInputView",
    "DatumListing",
    "DatumQueries",
    "DatumRestarter",
    "DatumView",
    "JobListing",
    "JobQueries",
    "JobSetListing",
    "JobStopper",
    "Listed",
    "inputs_of",
    "job_key",
    "matches_filters",
]

NON_TERMINAL_STATES: tuple[JobState, ...] = tuple(s for s in JobState if s not in TERMINAL_JOB_STATES)
_MAX_BATCH = 1000
# A filter over a batch of jobs (ListJob's jqFilter): which of them to keep, in order.
KeepJobs = Callable[[list[Job]], list[bool]]
_MIN_HEARTBEAT = 0.01
_INPUT_COMMITS_CACHE = 4096  # jobs whose input commit ids are remembered


def job_key(project: str, pipeline: str, job_id: str) -> JobKey:
    """A validated job name: project defaults to ``default``; the id must be a global id."""
    if not pipeline:
        raise InvalidArgument("a job needs a pipeline name (write it as <pipeline>@<id>)", field="job.pipeline")
    check_name(pipeline, "pipeline")
    check_global_id(job_id, "job id")
    return JobKey(project or DEFAULT_PROJECT, pipeline, job_id)


@dataclass(frozen=True)
class Listed:
    job: Job
    page_token: str  # empty unless paging was asked for
    seq: int = 0  # the job's change number as listed (0: unknown)


@dataclass(frozen=True)
class JobListing:
    """ListJob's filters, in domain terms."""

    projects: Sequence[str] = ()
    pipeline: tuple[str, str] | None = None  # (project, name)
    input_commits: Sequence[CommitRef] = ()
    history: int = 0
    marker_us: int | None = None
    number: int = 0
    reverse: bool = False
    states: Sequence[JobState] = ()
    page_size: int = 0
    page_token: str = ""
    jq: str = ""  # only fingerprinted here; the caller applies it through ``keep``

    def fingerprint(self) -> str:
        parts = {
            "projects": sorted(self.projects),
            "pipeline": list(self.pipeline) if self.pipeline else None,
            "input": [[str(c.repo), c.branch, c.id] for c in self.input_commits],
            "history": self.history,
            "marker": self.marker_us,
            "reverse": self.reverse,
            "states": sorted(int(s) for s in self.states),
            "jq": self.jq,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class JobSetListing:
    projects: Sequence[str] = ()
    marker_us: int | None = None
    number: int = 0
    reverse: bool = False


@dataclass
class _RowFilter:
    """The per-row checks a store query cannot express."""

    versions: dict[tuple[str, str], int] | None = None  # (project, pipeline) -> lowest version kept
    # One entry per requested input commit: its ID (the commit set's jobs read it) and the output
    # commits (project, repo, id) that have it as direct provenance (jobs of later sets can too).
    inputs: list[tuple[str, set[tuple[str, str, str]]]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.versions is not None or bool(self.inputs)

    def keep(self, job: Job) -> bool:
        if self.versions is not None:
            lowest = self.versions.get((job.key.project, job.key.pipeline))
            if lowest is not None and job.pipeline_version < lowest:
                return False
        output = (job.key.project, job.output_repo, job.key.id)
        return all(job.key.id == commit_id or output in outputs for commit_id, outputs in self.inputs)


class JobQueries:
    def __init__(
        self,
        store: Store,
        jobs: JobService,
        pfs: PfsService,
        hub: EventHub,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._pfs = pfs
        self._hub = hub
        self._input_commits: dict[JobKey, dict[tuple[str, str], str]] = {}

    # -- single jobs ------------------------------------------------------------------------

    def inspect(self, key: JobKey, wait: bool = False, cancel: CancelToken | None = None) -> Job:
        if wait:
            return self._jobs.wait_terminal(key, cancel)
        return self._jobs.get(key).job

    def inspect_rendered(self, key: JobKey, details: bool, render: Render) -> bytes:
        """The job's current state as ``render`` makes it, from the read model (services/job_views.py):
        rendered once per change, however many calls ask."""
        return self._jobs.views.view(key, details, render)

    def rendering(self, job: Job, details: bool, render: Render, seq: int = 0) -> bytes:
        """``job`` (as a listing or a wait read it; ``seq``: its change number when known) as
        ``render`` makes it: the read model's rendering when it holds this very change, else
        rendered now."""
        return self._jobs.views.rendering(job, details, render, seq)

    def input_commits(self, job: Job) -> dict[tuple[str, str], str]:
        """(project, repo) -> commit ID of each input commit the job reads (from PFS provenance).

        A job's output commit gets its provenance when it is opened and keeps it, so the answer
        is remembered per job (bounded), which keeps InspectJob with details off PFS."""
        known = self._input_commits.get(job.key)
        if known is not None:
            return known
        try:
            status = self._pfs.commit_status(  # not inspect_commit: no size walk of open ancestors
                CommitRef(RepoKey.of(job.output_repo, job.key.project), job.output_branch, job.key.id)
            )
        except (NotFound, InvalidArgument):
            return {}
        commits = {(c.repo.project, c.repo.name): c.id for c in status.direct_provenance}
        if len(self._input_commits) >= _INPUT_COMMITS_CACHE:
            self._input_commits.clear()
        self._input_commits[job.key] = commits
        return commits

    # -- waiting ----------------------------------------------------------------------------

    def wait(
        self,
        target: WatchTarget,
        after_seq: int,
        heartbeat: float,
        cancel: CancelToken | None = None,
    ) -> Iterator[WatchItem]:
        """WaitJob: validated, then JobService.watch (which replays history after ``after_seq``)."""
        if after_seq < 0:
            raise InvalidArgument("after_seq must not be negative", field="after_seq")
        check_seconds(heartbeat, "heartbeat_interval", MAX_HEARTBEAT_SECONDS)
        current = self._jobs.current_seq(target)  # NotFound for an unknown target
        if after_seq > current:
            raise OutOfRange(
                f"after_seq {after_seq} is ahead of the last change of {target} ({current}): "
                "pass a seq this server sent, or 0 to start over",
                reason="SEQ_AHEAD",
                current_seq=str(current),
            )
        return self._jobs.watch(target, after_seq, heartbeat=max(heartbeat, _MIN_HEARTBEAT), cancel=cancel)

    # -- listings ---------------------------------------------------------------------------

    def _pipeline_row(self, project: str, name: str) -> PipelineRow:
        with self._store.read() as tx:
            row = self._jobs.tables(tx).get_pipeline(project, name)
        if row is None:
            raise pipeline_not_found(project, name)
        return row

    def _row_filter(self, listing: JobListing) -> tuple[_RowFilter, JobQuery]:
        rf = _RowFilter()
        query = JobQuery(
            projects=tuple(listing.projects),
            states=tuple(listing.states),
            newest_first=not listing.reverse,
        )
        if listing.pipeline is not None:
            project, name = listing.pipeline
            row = self._pipeline_row(project, name)
            query = _replace(query, project=project, pipeline=name)
            if listing.history == 0:
                query = _replace(query, pipeline_version=row.version)
            elif listing.history > 0:
                rf.versions = {(project, name): row.version - listing.history}
        elif listing.history >= 0:
            with self._store.read() as tx:
                pipelines = self._jobs.tables(tx).list_pipelines(tuple(listing.projects))
            rf.versions = {(p.project, p.name): p.version - listing.history for p in pipelines}
        if listing.marker_us is not None:
            if listing.reverse:
                query = _replace(query, created_after_us=listing.marker_us)
            else:
                query = _replace(query, created_before_us=listing.marker_us)
        if listing.input_commits:
            set_ids: set[str] | None = None
            for ref in listing.input_commits:
                info = self._pfs.inspect_commit(ref)
                outputs = {(c.repo.project, c.repo.name, c.id) for c in info.direct_subvenance}
                rf.inputs.append((info.commit.id, outputs))
                ids = {info.commit.id} | {c[2] for c in outputs}
                set_ids = ids if set_ids is None else set_ids & ids
            # No common set: an impossible id keeps the query (and its cost) trivially empty.
            query = _replace(query, set_ids=tuple(sorted(set_ids or {"-"})))
        return rf, query

    def list_jobs(self, listing: JobListing, keep: KeepJobs | None = None) -> Iterator[Listed]:
        """Jobs matching ``listing`` (newest first unless reversed), each with its page token.

        Validation happens before the first job is produced, so errors surface as the call's
        status rather than mid-stream.
        """
        if listing.number < 0:
            raise InvalidArgument("number must not be negative", field="number")
        if listing.page_size < 0:
            raise InvalidArgument("page_size must not be negative", field="page_size")
        if listing.history < -1:
            raise InvalidArgument("history must be -1 (every version), 0 or positive", field="history")
        fingerprint = listing.fingerprint()
        after = decode_job_token(listing.page_token, fingerprint) if listing.page_token else None
        rf, query = self._row_filter(listing)
        limits = [n for n in (listing.number, listing.page_size) if n > 0]
        limit = min(limits) if limits else None
        return self._walk(query, after, limit, rf, keep, fingerprint if listing.page_size > 0 else "")

    def _walk(
        self,
        query: JobQuery,
        after: int | None,
        limit: int | None,
        rf: _RowFilter,
        keep: KeepJobs | None,
        fingerprint: str,
    ) -> Iterator[Listed]:
        filtered = rf.active or keep is not None
        sent = 0
        cursor = after
        while limit is None or sent < limit:
            want = None if limit is None else limit - sent
            if filtered or want is None:
                batch = _MAX_BATCH if want is None else min(_MAX_BATCH, max(want * 2, 64))
            else:
                batch = min(want, _MAX_BATCH)
            rows = self._jobs.list(_replace(query, after_row=cursor, limit=batch))
            wanted = [row for row in rows if rf.keep(row.job)]
            if keep is not None and wanted:  # one call per batch: jq runs out of process
                wanted = [row for row, kept in zip(wanted, keep([r.job for r in wanted]), strict=True) if kept]
            chosen = {row.row for row in wanted}
            for row in rows:
                cursor = row.row
                if row.row not in chosen:
                    continue
                yield Listed(row.job, encode_job_token(row.row, fingerprint) if fingerprint else "", row.seq)
                sent += 1
                if limit is not None and sent >= limit:
                    return
            if len(rows) < batch:
                return

    # -- job sets ---------------------------------------------------------------------------

    def _dag_order(self, set_id: str, rows: list[JobRow]) -> list[JobRow]:
        """Jobs upstream first, by the order of their output commits in the commit set."""
        try:
            commits = self._pfs.inspect_commit_set(set_id)
        except (NotFound, InvalidArgument):
            commits = []
        position = {(c.commit.repo.project, c.commit.repo.name): i for i, c in enumerate(commits)}
        return sorted(rows, key=lambda r: (position.get((r.job.key.project, r.job.output_repo), len(position)), r.row))

    def job_set(self, set_id: str, wait: bool = False, cancel: CancelToken | None = None) -> Iterator[Job]:
        """The jobs of a job set in DAG order; with ``wait``, each once it is terminal."""
        check_global_id(set_id, "job set")
        rows = self._dag_order(set_id, self._jobs.job_set(set_id))
        return self._job_set_iter(rows, wait, cancel)

    def _job_set_iter(self, rows: list[JobRow], wait: bool, cancel: CancelToken | None) -> Iterator[Job]:
        for row in rows:
            yield self._jobs.wait_terminal(row.job.key, cancel) if wait else row.job

    def list_job_sets(
        self, listing: JobSetListing, keep: Callable[[list[Job]], bool] | None = None
    ) -> Iterator[list[Job]]:
        """Job sets (newest first unless reversed), each as its jobs in DAG order."""
        if listing.number < 0:
            raise InvalidArgument("number must not be negative", field="number")
        return self._job_sets(listing, keep)

    def _job_sets(self, listing: JobSetListing, keep: Callable[[list[Job]], bool] | None) -> Iterator[list[Job]]:
        query = JobQuery(projects=tuple(listing.projects), newest_first=not listing.reverse)
        if listing.marker_us is not None:
            if listing.reverse:
                query = _replace(query, created_after_us=listing.marker_us)
            else:
                query = _replace(query, created_before_us=listing.marker_us)
        seen: set[str] = set()
        sent = 0
        cursor: int | None = None
        while True:
            rows = self._jobs.list(_replace(query, after_row=cursor, limit=_MAX_BATCH))
            for row in rows:
                cursor = row.row
                set_id = row.job.key.id
                if set_id in seen:
                    continue
                seen.add(set_id)
                with self._store.read() as tx:
                    members = self._jobs.tables(tx).jobs_in_set(set_id)
                if listing.projects:
                    members = [m for m in members if m.job.key.project in listing.projects]
                jobs = [m.job for m in self._dag_order(set_id, members)]
                if not jobs or (keep is not None and not keep(jobs)):
                    continue
                yield jobs
                sent += 1
                if listing.number and sent >= listing.number:
                    return
            if len(rows) < _MAX_BATCH:
                return

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, project: str, pipeline: str, cancel: CancelToken | None = None) -> Iterator[Job]:
        """A pipeline's unfinished jobs, then every change of its jobs (new ones included), until
        the caller cancels. Each change is sent exactly once, in order per job."""
        self._pipeline_row(project, pipeline)
        return self._subscribe(project, pipeline, cancel)

    def _subscribe(self, project: str, pipeline: str, cancel: CancelToken | None) -> Iterator[Job]:
        base = JobQuery(project=project, pipeline=pipeline)
        with self._hub.subscribe(pipeline_topic(project, pipeline), cancel=cancel) as sub:
            with self._store.read() as tx:
                t = self._jobs.tables(tx)
                newest = t.list_jobs(_replace(base, limit=1))
                opening = t.list_jobs(_replace(base, states=NON_TERMINAL_STATES, newest_first=False))
            high = newest[0].row if newest else 0
            tracked: dict[int, int] = {r.row: r.seq for r in opening}
            for r in opening:
                yield r.job
            while True:
                sub.check()
                sub.wait(None)
                sub.check()
                changes: list[tuple[int, int, Job]] = []
                with self._store.read() as tx:
                    t = self._jobs.tables(tx)
                    for r in t.list_jobs(_replace(base, after_row=high, newest_first=False)):
                        high = max(high, r.row)
                        tracked.setdefault(r.row, 0)
                    for row, seq in tracked.items():
                        changes += [(row, e.seq, from_snapshot(e.snapshot)) for e in t.job_events(row, seq)]
                for row, seq, job in sorted(changes, key=lambda c: (c[0], c[1])):
                    tracked[row] = seq
                    yield job
                for row in [r for r, _ in tracked.items() if _done(changes, r)]:
                    del tracked[row]


def _done(changes: list[tuple[int, int, Job]], row: int) -> bool:
    last = [job for r, _, job in changes if r == row]
    return bool(last) and is_terminal(last[-1].state)


def _replace(query: JobQuery, **changes: Any) -> JobQuery:
    return replace(query, **changes)
