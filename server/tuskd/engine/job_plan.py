"""A job's datum plan (step 2 of engine/job_runner.py): in full over its input commits' files,
or from the change since the previous successful job's input commit.

The full plan lists every file of every input commit, plans every datum (domain/datums.py) and
compares each with the previous successful job's datums (same ID and hash, SUCCESS or SKIPPED:
the datum is skipped).

The incremental plan makes the work grow with the change, not with the repo. It reads the paths
that changed between the previous job's input commit and this job's (PfsService
``changed_paths``: the layers the two trees do not share), plans only the datums those paths
touch (domain/datum_changes.py says which, and why that is exact), and leaves every other datum
of the previous job to be carried over in SQL, as a SKIPPED row with its outputs, in the same
transaction as the job's RUNNING change (store ``carry_skipped_datums``). It applies only when
all of these hold, else the job is planned in full:

* the job has no datum row yet (not a resume after a restart or an internal error);
* the pipeline's input is a single pfs or cron input (no cross, join, group or union);
* the previous successful job ran the same input and salt (its spec's, when its pipeline
  version differs), read a commit of the same repo and branch, and every one of its
  datums is SUCCESS or SKIPPED (a RECOVERED datum runs again);
* the file layers the two input commits do not share hold at most
  ``max(INCREMENTAL_MIN_PATHS, its data_total // 4)`` paths.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tuskd.domain.datum_changes import change_scope
from tuskd.domain.datums import Datum, Listing, plan_datums
from tuskd.domain.errors import NotFound
from tuskd.domain.inputs import PfsInput, validate_input
from tuskd.domain.jobs import Job
from tuskd.domain.pfs import CommitKey, CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineSpec
from tuskd.domain.states import DatumState
from tuskd.engine.job_context import EngineContext, JobInputs
from tuskd.store.pps import JobRow

__all__ = ["INCREMENTAL_MIN_PATHS", "Carry", "JobPlan", "ListingOf", "plan_job"]

log = logging.getLogger("tuskd.engine.job_runner")  # a job's whole run logs under one name

INCREMENTAL_MIN_PATHS = 64
"""An incremental plan is made while at most this many paths changed, or a quarter of the previous
job's datums if that is more; a bigger change is planned in full (listing the whole commit once
is then cheaper than reading each changed part of it)."""

ListingOf = Callable[[JobInputs, Sequence[str]], Listing]
"""The files of each input's commit below the given roots (``("/",)``: every file)."""

_SKIPPABLE = (DatumState.SUCCESS, DatumState.SKIPPED)
_NOT_SKIPPABLE = tuple(s for s in DatumState if s not in _SKIPPABLE)


@dataclass(frozen=True, slots=True)
class Carry:
    """The previous job's datums to carry over as SKIPPED rows (store ``carry_skipped_datums``)."""

    from_row: int  # the previous successful job
    leave_out: frozenset[str]  # its datum IDs the change touched: planned again, not carried
    rewrite: tuple[str, str]  # in each carried row's inputs: the old input commit -> the new one


@dataclass(frozen=True)
class JobPlan:
    """The datums planned in Python and what the previous successful job says about them."""

    datums: list[Datum]
    previous_row: int | None = None  # the previous successful job, whose outputs skipped datums reuse
    previous: dict[str, str] = field(default_factory=dict)  # its SUCCESS/SKIPPED datum ID -> hash
    carry: Carry | None = None  # its other datums, carried in SQL


def plan_job(
    ctx: EngineContext,
    spec: PipelineSpec,
    job: Job,
    inputs: JobInputs,
    previous: JobRow | None,
    fresh: bool,
    listing_of: ListingOf,
) -> JobPlan:
    """The plan of ``job`` (``previous``: the last successful job of its pipeline, None when
    nothing is skipped; ``fresh``: the job has no datum row yet)."""
    if previous is not None and fresh:
        plan = _incremental(ctx, spec, job, inputs, previous, listing_of)
        if plan is not None:
            return plan
    datums = plan_datums(spec.input, listing_of(inputs, ("/",)))
    if previous is None:
        return JobPlan(datums)
    with ctx.store.read() as tx:
        hashes = ctx.jobs.tables(tx).datum_hashes(previous.row, _SKIPPABLE)
    return JobPlan(datums, previous.row, hashes)


def _incremental(
    ctx: EngineContext, spec: PipelineSpec, job: Job, inputs: JobInputs, previous: JobRow, listing_of: ListingOf
) -> JobPlan | None:
    change = _change(ctx, spec, job, inputs, previous)
    if isinstance(change, str):
        log.debug("job %s: planned in full: %s", job.key, change)
        return None
    scope = change_scope(change.pfs, change.paths)
    datums = plan_datums(spec.input, listing_of(inputs, scope.roots))
    with ctx.store.read() as tx:
        hashes = ctx.jobs.tables(tx).datum_hashes(previous.row, _SKIPPABLE, [d.id for d in datums])
    rewrite = (_commit_json(change.old.id), _commit_json(change.new.id))
    carry = Carry(previous.row, scope.ids | {d.id for d in datums}, rewrite)
    return JobPlan(datums, previous.row, hashes, carry)


@dataclass(frozen=True, slots=True)
class _Change:
    pfs: PfsInput  # the pipeline's one input, validated
    old: CommitKey  # the commit of it the previous job read
    new: CommitKey  # the commit of it this job reads
    paths: list[str]  # the file paths that differ between the two


def _change(ctx: EngineContext, spec: PipelineSpec, job: Job, inputs: JobInputs, previous: JobRow) -> _Change | str:
    """The input change since the previous job, or why the incremental plan cannot be sure."""
    pfs = validate_input(spec.input).leaf()
    if pfs is None:
        return "the input is a cross, join, group or union"
    if previous.job.pipeline_version != job.pipeline_version:
        try:
            before = ctx.load_spec(previous.job)
        except NotFound:
            return "the previous job's spec is gone"
        if before.input != spec.input or before.salt != spec.salt:
            return "the input or the salt changed since the previous job"
    with ctx.store.read() as tx:
        if ctx.jobs.tables(tx).list_datums(previous.row, states=_NOT_SKIPPABLE, limit=1):
            return "the previous job has datums to run again (RECOVERED)"
    commits = _commits(ctx, pfs, inputs, previous)
    if commits is None:
        return "the previous job read no commit of the same input"
    old, new = commits
    try:
        paths = ctx.pfs.changed_paths(
            CommitRef(old.repo, id=old.id), CommitRef(new.repo, id=new.id), _max_changed(previous)
        )
    except NotFound:
        return "the previous job's input commit is gone"
    if paths is None:
        return "too many paths changed"
    return _Change(pfs, old, new, paths)


def _commits(
    ctx: EngineContext, pfs: PfsInput, inputs: JobInputs, previous: JobRow
) -> tuple[CommitKey, CommitKey] | None:
    """The commits of ``pfs`` the previous job and this one read (both as the datum rows name
    them: ``JobInputs.by_repo``), or None."""
    new = inputs.commit_for(pfs)
    if new is None or inputs.by_repo(pfs.repo, pfs.branch) != new:
        return None
    prev = previous.job
    try:
        out = ctx.pfs.commit_status(CommitRef(RepoKey(prev.key.project, prev.output_repo), id=prev.key.id))
    except NotFound:
        return None
    before = JobInputs({(c.repo.project, c.repo.name, c.repo.type, c.branch or ""): c for c in out.direct_provenance})
    old = before.commit_for(pfs)
    if old is None or before.by_repo(pfs.repo, pfs.branch) != old or old.repo != new.repo:
        return None
    return old, new


def _max_changed(previous: JobRow) -> int:
    return max(INCREMENTAL_MIN_PATHS, previous.job.total // 4)


def _commit_json(commit_id: str) -> str:
    """How a datum row's inputs name their commit (engine/job_datums.py ``_datum_row``)."""
    return '"commit":' + json.dumps(commit_id)
