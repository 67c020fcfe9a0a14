"""Pipelines as a service: create, update, inspect, list, delete, stop, start and rerun.

Every use case is one store write transaction that also holds the PFS changes it causes, so a
pipeline, its output repo, its output branch's provenance and the job that appears for the
current input heads commit (or roll back) together. How a pipeline is laid out in PFS, as in
Pachyderm 2.x:

* the output repo ``<pipeline>`` (created if missing) has an output branch (``output_branch``,
  default ``master``) whose direct provenance is every input branch plus ``<pipeline>.spec@master``;
* the spec repo ``<pipeline>.spec`` (repo type ``spec``) gets one commit per new version and per
  rerun. Its commit propagates to the output branch like an input commit does, which is how an
  update or a rerun gets a job over the current input heads without touching the inputs.

Jobs are not created here: :mod:`tuskd.services.triggers` creates a job whenever a commit starts
on a pipeline's output branch (inside the same transaction), so creation, update, rerun and
input commits all get their job the same way.

Stopping, updating, deleting (and rerunning with ``reprocess``) kill unfinished jobs: this
service records them KILLED with a reason and finishes their open output commits with that reason
as the commit error, in its transaction, then calls every registered hook (``add_hook``) in that
same transaction with a :class:`PipelineChange` naming the killed jobs; listeners
(``add_listener``: the job engine, which stops their processes) get the change after it commits,
so no code of theirs runs inside this service's transaction.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from tuskd import hostpaths
from tuskd.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.ids import new_global_id
from tuskd.domain.inputs import CronInput, cron_inputs, input_repos, with_cron_start
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, CommitKey, CommitRef, RepoKey
from tuskd.domain.pipelines import (
    SPEC_REPO_TYPE,
    PipelineInfo,
    PipelineKey,
    PipelineSpec,
    PipelineState,
    egress_path,
    pipeline_not_found,
    pipeline_state,
    spec_from_dict,
    spec_to_dict,
    validate_pipeline_spec,
)
from tuskd.domain.states import JobState, is_terminal
from tuskd.store.base import PfsTx, Store, Tx
from tuskd.store.meta import MetaKind, MetaTx
from tuskd.store.pps import JobQuery, PipelineRow, PipelineVersionRow, PpsTx

from .job_terminate import JobTerminator
from .jobs import JobService
from .pfs import PfsService
from .triggers import open_job

__all__ = [
    "UNFINISHED_JOB_STATES",
    "PipelineChange",
    "PipelineChangeKind",
    "PipelineHook",
    "PipelineService",
    "output_repo",
    "spec_repo",
]

log = logging.getLogger(__name__)

UNFINISHED_JOB_STATES: tuple[JobState, ...] = tuple(
    s for s in JobState if s != JobState.JOB_STATE_UNKNOWN and not is_terminal(s)
)
SPEC_BRANCH = "master"


class PipelineChangeKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"  # also a rerun with reprocess (a new version with a new salt)
    RERUN = "rerun"
    STOPPED = "stopped"
    STARTED = "started"
    DELETED = "deleted"


@dataclass(frozen=True)
class PipelineChange:
    """What a hook is told, inside the transaction that made the change.

    ``killed`` are the jobs this change has just recorded as KILLED (their output commits are
    finished with the reason as error); the engine should stop their work once the transaction
    commits. ``version`` is the pipeline's version after the change.
    """

    kind: PipelineChangeKind
    pipeline: PipelineKey
    version: int
    killed: tuple[JobKey, ...] = ()
    reason: str = ""


PipelineHook = Callable[[Tx, PipelineChange], None]


def output_repo(key: PipelineKey) -> RepoKey:
    return RepoKey.of(key.name, key.project)


def spec_repo(key: PipelineKey) -> RepoKey:
    return RepoKey.of(key.name, key.project, SPEC_REPO_TYPE)


def _cron_repo(cron: CronInput) -> RepoKey:
    return RepoKey.of(cron.repo, cron.project)


def _ts(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _dump(spec: PipelineSpec) -> str:
    return json.dumps(spec_to_dict(spec), separators=(",", ":"), sort_keys=True)


def _provenance(spec: PipelineSpec) -> list[BranchKey]:
    """The output branch's direct provenance: every input branch, then the spec branch."""
    branches = [
        BranchKey(RepoKey.of(leaf.repo, leaf.project, leaf.repo_type), leaf.branch) for leaf in input_repos(spec.input)
    ]
    branches.append(BranchKey(spec_repo(spec.key), SPEC_BRANCH))
    return list(dict.fromkeys(branches))


class PipelineService:
    """Every pps_v2 pipeline use case, transport-agnostic."""

    def __init__(
        self,
        store: Store,
        pfs: PfsService,
        jobs: JobService,
        meta_tables: Callable[[Tx], MetaTx],
        *,
        clock: Callable[[], float] = time.time,
        new_salt: Callable[[], str] = new_global_id,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir``: the server's data directory, which no egress URL may point into."""
        self._store = store
        self._data_dir = data_dir
        self._pfs = pfs
        self._jobs = jobs
        self._terminator = JobTerminator(jobs, pfs)
        self._meta = meta_tables
        self._clock = clock
        self._new_salt = new_salt
        self._hooks: list[PipelineHook] = []
        self._listeners: list[Callable[[PipelineChange], None]] = []

    # -- plumbing ---------------------------------------------------------------------------

    def _check_egress(self, spec: PipelineSpec) -> None:
        """Egress copies files with the server's privileges: never into its own data directory."""
        if not spec.egress_url or self._data_dir is None:
            return
        if hostpaths.inside(egress_path(spec.egress_url), [self._data_dir]):
            raise InvalidArgument(
                f"egress URL {spec.egress_url!r} points into the server's data directory; egress to a "
                "directory outside it",
                reason="INVALID_PIPELINE_SPEC",
                field="egress.URL",
            )

    def add_hook(self, hook: PipelineHook) -> Callable[[], None]:
        """Call ``hook(tx, change)`` inside the write transaction of every pipeline change.

        A hook may write through ``tx`` (same transaction) or raise to refuse the change; slow
        work (killing processes) belongs in ``tx.after_commit``. Returns a remover.
        """
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook)

    def add_listener(self, listener: Callable[[PipelineChange], None]) -> Callable[[], None]:
        """Call ``listener(change)`` after every pipeline change commits (on the writer's thread,
        outside the transaction; never for a change rolled back). Returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, tx: Tx, change: PipelineChange) -> None:
        for hook in list(self._hooks):
            hook(tx, change)
        for listener in list(self._listeners):
            tx.after_commit(functools.partial(listener, change))

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    def _tables(self, tx: Tx) -> PpsTx:
        return self._jobs.tables(tx)

    @staticmethod
    def _not_found(key: PipelineKey) -> NotFound:
        return pipeline_not_found(key.project, key.name)

    def _row(self, t: PpsTx, key: PipelineKey) -> PipelineRow:
        row = t.get_pipeline(key.project, key.name)
        if row is None:
            raise self._not_found(key)
        return row

    @staticmethod
    def _version_row(t: PpsTx, row: PipelineRow, version: int) -> PipelineVersionRow:
        found = t.get_pipeline_version(row.id, version)
        if found is None:  # pragma: no cover - every version row is written with its pipeline
            raise NotFound(f'pipeline "{row.name}" has no version {version}', reason="PIPELINE_VERSION_NOT_FOUND")
        return found

    def _spec(self, t: PpsTx, row: PipelineRow, version: int | None = None) -> PipelineSpec:
        return spec_from_dict(json.loads(self._version_row(t, row, version or row.version).spec_json))

    def _repo_exists(self, repo: RepoKey) -> bool:
        try:
            self._pfs.inspect_repo(repo)
        except NotFound:
            return False
        return True

    def _check_inputs(self, spec: PipelineSpec) -> None:
        """NOT_FOUND ``repo "x" not found`` for the first input repo that does not exist (cron
        repos are made by the pipeline)."""
        made = {_cron_repo(c) for c in cron_inputs(spec.input)}
        for leaf in input_repos(spec.input):
            repo = RepoKey.of(leaf.repo, leaf.project, leaf.repo_type)
            if repo not in made:
                self._pfs.inspect_repo(repo)

    def _make_cron_repos(self, spec: PipelineSpec) -> None:
        """Each cron input's tick repo, if missing (its master branch comes with the provenance)."""
        for cron in cron_inputs(spec.input):
            repo = _cron_repo(cron)
            if not self._repo_exists(repo):
                self._pfs.create_repo(repo, f"Cron tick repo for pipeline {spec.project}/{spec.name}.")

    # -- killing ----------------------------------------------------------------------------

    def _kill_unfinished(
        self, tx: PfsTx, key: PipelineKey, reason: str, below_version: int | None = None
    ) -> tuple[JobKey, ...]:
        """End every unfinished job of the pipeline (older than ``below_version``) as KILLED with
        ``reason``, through the one terminate path (its output commit gets pachd's error)."""
        rows = self._tables(tx).list_jobs(
            JobQuery(project=key.project, pipeline=key.name, states=UNFINISHED_JOB_STATES, newest_first=False)
        )
        killed: list[JobKey] = []
        for r in rows:
            if below_version is not None and r.job.pipeline_version >= below_version:
                continue
            self._terminator.terminate(tx, r.job.key, JobState.JOB_KILLED, reason)
            killed.append(r.job.key)
        return tuple(killed)

    # -- create and update ------------------------------------------------------------------

    def create(
        self,
        spec: PipelineSpec,
        *,
        user_spec_json: str = "",
        update: bool = False,
        reprocess: bool = False,
        dry_run: bool = False,
    ) -> int:
        """Create the pipeline, or with ``update`` replace its spec (version + 1); return the version.

        ``reprocess`` (with update) renews the salt so no datum is skipped. ``dry_run`` checks
        everything and changes nothing (returns 0).
        """
        spec = validate_pipeline_spec(spec)
        self._check_egress(spec)
        spec = replace(spec, input=with_cron_start(spec.input, datetime.fromtimestamp(self._clock(), UTC)))
        key = spec.key
        with self._store.write() as tx:
            t = self._tables(tx)
            row = t.get_pipeline(key.project, key.name)
            if row is not None and not update:
                shown = f"{key.project}/{key.name}"
                raise AlreadyExists(f'pipeline "{shown}" already exists', reason="PIPELINE_EXISTS", pipeline=str(key))
            self._check_inputs(spec)
            if row is not None:
                old = self._spec(t, row)
                if spec.output_branch != old.output_branch:
                    raise InvalidArgument(
                        f'cannot change the output branch of pipeline "{key}" from "{old.output_branch}" '
                        f'to "{spec.output_branch}"; delete and recreate the pipeline instead',
                        reason="INVALID_PIPELINE_SPEC",
                        field="output_branch",
                    )
            if dry_run:
                return 0
            if row is None:
                return self._create_tx(tx, spec, user_spec_json)
            return self._update_tx(tx, row, spec, user_spec_json, reprocess)

    def _create_tx(self, tx: PfsTx, spec: PipelineSpec, user_spec_json: str) -> int:
        t = self._tables(tx)
        key = spec.key
        now_us = self._now_us()
        spec = replace(spec, salt=spec.salt or self._new_salt())
        row = t.insert_pipeline(key.project, key.name, int(PipelineState.PIPELINE_RUNNING), now_us)
        t.update_pipeline(row.id, now_us, version=1)
        t.insert_pipeline_version(row.id, 1, _dump(spec), user_spec_json, now_us)
        out = output_repo(key)
        if not self._repo_exists(out):
            self._pfs.create_repo(out, f"Output repo for pipeline {key}.")
        self._pfs.create_repo(spec_repo(key), f"Spec repo for pipeline {key}.", update=True, system=True)
        self._make_cron_repos(spec)
        # The output branch follows its inputs from now on; this opens its first commit (with
        # the current input heads, or empty commits made for missing input branches), and the
        # trigger gives that commit its job.
        self._pfs.create_branch(BranchKey(out, spec.output_branch), provenance=_provenance(spec))
        self._notify(tx, PipelineChange(PipelineChangeKind.CREATED, key, 1))
        log.info("pipeline created", extra={"pipeline": str(key)})
        return 1

    def _new_version(
        self, tx: PfsTx, row: PipelineRow, spec: PipelineSpec, user_spec_json: str
    ) -> tuple[int, tuple[JobKey, ...]]:
        """Store ``spec`` as the next version and kill the older versions' unfinished jobs."""
        t = self._tables(tx)
        version = row.version + 1
        now_us = self._now_us()
        t.update_pipeline(row.id, now_us, version=version)
        t.insert_pipeline_version(row.id, version, _dump(spec), user_spec_json, now_us)
        killed = self._kill_unfinished(
            tx, PipelineKey(row.project, row.name), f"pipeline updated to version {version}", below_version=version
        )
        return version, killed

    def _update_tx(self, tx: PfsTx, row: PipelineRow, spec: PipelineSpec, user_spec_json: str, reprocess: bool) -> int:
        t = self._tables(tx)
        key = spec.key
        old = self._spec(t, row)
        salt = self._new_salt() if reprocess else (spec.salt or old.salt)
        spec = replace(spec, salt=salt)
        self._make_cron_repos(spec)
        version, killed = self._new_version(tx, row, spec, user_spec_json)
        new_prov, old_prov = _provenance(spec), _provenance(old)
        if set(new_prov) != set(old_prov):
            # New provenance opens the output commit (and so the job) by itself.
            self._pfs.create_branch(BranchKey(output_repo(key), spec.output_branch), provenance=new_prov)
        else:
            self._spec_commit(key, f"version {version}")
        self._notify(tx, PipelineChange(PipelineChangeKind.UPDATED, key, version, killed, "pipeline updated"))
        log.info("pipeline updated", extra={"pipeline": str(key), "version": version})
        return version

    def _spec_commit(self, key: PipelineKey, description: str) -> None:
        """A finished commit on the spec branch: propagates to the output branch (a new job)."""
        info = self._pfs.start_commit(BranchKey(spec_repo(key), SPEC_BRANCH), description=description)
        self._pfs.finish_commit(CommitRef(info.commit.repo, id=info.commit.id))

    # -- reads ------------------------------------------------------------------------------

    def spec(self, key: PipelineKey, version: int | None = None) -> PipelineSpec:
        """The validated spec of ``version`` (default: the current one), salt included."""
        with self._store.read() as tx:
            t = self._tables(tx)
            return self._spec(t, self._row(t, key), version)

    def _info(self, tx: Tx, row: PipelineRow, version: int | None = None) -> PipelineInfo:
        t = self._tables(tx)
        key = PipelineKey(row.project, row.name)
        vrow = self._version_row(t, row, version or row.version)
        last = t.list_jobs(JobQuery(project=key.project, pipeline=key.name, limit=1))
        busy = t.list_jobs(JobQuery(project=key.project, pipeline=key.name, states=UNFINISHED_JOB_STATES, limit=1))
        spec_commit: CommitKey | None = None
        if vrow.version == row.version:
            try:
                spec_commit = self._pfs.inspect_branch(BranchKey(spec_repo(key), SPEC_BRANCH)).head
            except NotFound:
                spec_commit = None
        spec = spec_from_dict(json.loads(vrow.spec_json))
        return PipelineInfo(
            key=key,
            version=vrow.version,
            spec=spec,
            state=pipeline_state(row.stopped, bool(busy), spec.autoscaling),
            stopped=row.stopped,
            reason=row.reason,
            last_job_state=last[0].job.state if last else JobState.JOB_STATE_UNKNOWN,
            created=_ts(row.created_us),
            updated=_ts(vrow.created_us),
            spec_commit=spec_commit,
            user_spec_json=vrow.user_spec_json,
            effective_spec_json=vrow.spec_json,
            metadata=self._meta(tx).metadata(MetaKind.PIPELINE, row.id),
        )

    def metadata_owner(self, tx: Tx, key: PipelineKey) -> tuple[MetaKind, int]:
        """The kind and store id that the pipeline's metadata map hangs off (NOT_FOUND if none)."""
        return MetaKind.PIPELINE, self._row(self._tables(tx), key).id

    def inspect(self, key: PipelineKey) -> PipelineInfo:
        with self._store.read() as tx:
            return self._info(tx, self._row(self._tables(tx), key))

    def list_pipelines(
        self,
        *,
        pipeline: PipelineKey | None = None,
        projects: Sequence[str] = (),
        history: int = 0,
        commit_set: str = "",
    ) -> list[PipelineInfo]:
        """Pipelines, most recently created first; each followed by up to ``history`` earlier
        versions (-1: all of them). ``commit_set`` keeps the pipelines with a job in that set."""
        if history < -1:
            raise InvalidArgument(f"history must be -1 (all versions), 0 or positive, not {history}")
        with self._store.read() as tx:
            t = self._tables(tx)
            if pipeline is not None:
                rows = [self._row(t, pipeline)]
            else:
                rows = sorted(t.list_pipelines(projects), key=lambda r: (r.created_us, r.id), reverse=True)
            if commit_set:
                in_set = {(r.job.key.project, r.job.key.pipeline) for r in t.jobs_in_set(commit_set)}
                rows = [r for r in rows if (r.project, r.name) in in_set]
            out: list[PipelineInfo] = []
            for row in rows:
                oldest = 1 if history == -1 else max(1, row.version - history)
                for version in range(row.version, oldest - 1, -1):
                    out.append(self._info(tx, row, version))
            return out

    def cron_pipelines(self) -> list[tuple[PipelineKey, int, tuple[CronInput, ...]]]:
        """Every running pipeline with cron inputs: its key, version and cron inputs."""
        out: list[tuple[PipelineKey, int, tuple[CronInput, ...]]] = []
        with self._store.read() as tx:
            t = self._tables(tx)
            for row in t.list_pipelines(()):
                if row.stopped:
                    continue
                text = self._version_row(t, row, row.version).spec_json
                if '"cron"' not in text:  # cheap: most pipelines have none
                    continue
                crons = cron_inputs(spec_from_dict(json.loads(text)).input)
                if crons:
                    out.append((PipelineKey(row.project, row.name), row.version, tuple(crons)))
        return out

    # -- delete -----------------------------------------------------------------------------

    def delete(
        self, key: PipelineKey, *, force: bool = False, keep_repo: bool = False, must_exist: bool = True
    ) -> bool:
        """Delete the pipeline, its jobs, its spec repo and (unless ``keep_repo``) its output repo.

        Refused while another pipeline reads its output repo, unless ``force`` (which cuts that
        link) or ``keep_repo``. A missing pipeline is NOT_FOUND with ``must_exist``, else a no-op
        (returns False).
        """
        with self._store.write() as tx:
            t = self._tables(tx)
            row = t.get_pipeline(key.project, key.name)
            if row is None:
                if must_exist:
                    raise self._not_found(key)
                return False
            self._delete_tx(tx, row, force=force, keep_repo=keep_repo)
            return True

    def _delete_tx(self, tx: PfsTx, row: PipelineRow, *, force: bool, keep_repo: bool) -> None:
        t = self._tables(tx)
        key = PipelineKey(row.project, row.name)
        spec = self._spec(t, row)
        killed = self._kill_unfinished(tx, key, "pipeline deleted")
        self._notify(tx, PipelineChange(PipelineChangeKind.DELETED, key, row.version, killed, "pipeline deleted"))
        for job in t.list_jobs(JobQuery(project=key.project, pipeline=key.name)):
            t.delete_job(job.row)
        t.delete_pipeline(row.id)
        out = output_repo(key)
        if self._repo_exists(out):
            if keep_repo:
                branch = BranchKey(out, spec.output_branch)
                try:
                    self._pfs.inspect_branch(branch)
                except NotFound:
                    pass
                else:  # the kept repo stops following the inputs
                    self._pfs.create_branch(branch, provenance=())
                # Commits opened while the pipeline was stopped have no job to finish them.
                for commit in list(self._pfs.list_commits(out, all=True)):
                    if commit.commit.branch == spec.output_branch and commit.finishing is None:
                        self._pfs.finish_commit(
                            CommitRef(out, id=commit.commit.id), error="pipeline deleted", force=True
                        )
            else:
                self._pfs.delete_repo(out, force=force)
        if self._repo_exists(spec_repo(key)):
            self._pfs.delete_repo(spec_repo(key), force=True)
        for cron in cron_inputs(spec.input):  # even with keep_repo, as pachd: they only trigger jobs
            if self._repo_exists(_cron_repo(cron)):
                self._pfs.delete_repo(_cron_repo(cron), force=True)
        log.info("pipeline deleted", extra={"pipeline": str(key)})

    def delete_all(self, *, force: bool = False, keep_repo: bool = False, projects: Sequence[str] = ()) -> int:
        """Delete every pipeline (of ``projects``, when given), downstream ones first; returns
        how many were deleted."""
        with self._store.write() as tx:
            t = self._tables(tx)
            rows = t.list_pipelines(projects)
            by_key = {PipelineKey(r.project, r.name): r for r in rows}
            readers: dict[PipelineKey, set[PipelineKey]] = {k: set() for k in by_key}
            for k, r in by_key.items():
                for leaf in input_repos(self._spec(t, r).input):
                    upstream = PipelineKey(leaf.project, leaf.repo)
                    if upstream in readers and leaf.repo_type == "user":
                        readers[upstream].add(k)
            done: set[PipelineKey] = set()
            while len(done) < len(by_key):
                ready = sorted(k for k in by_key if k not in done and readers[k] <= done)
                if not ready:  # pragma: no cover - PFS refuses provenance cycles
                    raise FailedPrecondition("pipelines read each other's output in a cycle")
                for k in ready:
                    self._delete_tx(tx, by_key[k], force=force, keep_repo=keep_repo)
                    done.add(k)
            return len(done)

    # -- stop, start, rerun -----------------------------------------------------------------

    def stop(self, key: PipelineKey, *, must_exist: bool = True) -> bool:
        """Pause the pipeline: kill its unfinished jobs; new output commits get no job until
        :meth:`start`. Stopping a stopped pipeline is a no-op. Returns False if it is missing
        and not ``must_exist``."""
        with self._store.write() as tx:
            t = self._tables(tx)
            row = t.get_pipeline(key.project, key.name)
            if row is None:
                if must_exist:
                    raise self._not_found(key)
                return False
            if row.stopped:
                return True
            t.update_pipeline(row.id, self._now_us(), stopped=True, state=int(PipelineState.PIPELINE_PAUSED))
            killed = self._kill_unfinished(tx, key, "pipeline stopped")
            self._notify(tx, PipelineChange(PipelineChangeKind.STOPPED, key, row.version, killed, "pipeline stopped"))
            log.info("pipeline stopped", extra={"pipeline": str(key)})
            return True

    def start(self, key: PipelineKey) -> None:
        """Resume a stopped pipeline: every output commit opened while it was stopped gets its
        job now (oldest first). Starting a running pipeline is a no-op."""
        with self._store.write() as tx:
            t = self._tables(tx)
            row = self._row(t, key)
            if not row.stopped:
                return
            t.update_pipeline(row.id, self._now_us(), stopped=False, state=int(PipelineState.PIPELINE_RUNNING))
            row = self._row(t, key)
            spec = self._spec(t, row)
            out = output_repo(key)
            if self._repo_exists(out):
                for commit in list(self._pfs.list_commits(out, reverse=True, all=True)):
                    if commit.commit.branch == spec.output_branch and commit.finishing is None:
                        open_job(self._jobs, tx, row, spec.output_branch, commit.commit.id)
            self._notify(tx, PipelineChange(PipelineChangeKind.STARTED, key, row.version))
            log.info("pipeline started", extra={"pipeline": str(key)})

    def rerun(self, key: PipelineKey, *, reprocess: bool = False) -> None:
        """A new job over the current input heads (through a spec commit). With ``reprocess``, a
        new version with a new salt first (so nothing is skipped; older jobs are killed)."""
        with self._store.write() as tx:
            t = self._tables(tx)
            row = self._row(t, key)
            kind, version = PipelineChangeKind.RERUN, row.version
            killed: tuple[JobKey, ...] = ()
            if reprocess:
                current = self._version_row(t, row, row.version)
                spec = replace(spec_from_dict(json.loads(current.spec_json)), salt=self._new_salt())
                version, killed = self._new_version(tx, row, spec, current.user_spec_json)
                kind = PipelineChangeKind.UPDATED
            self._spec_commit(key, f"rerun of version {version}")
            self._notify(tx, PipelineChange(kind, key, version, killed, "pipeline rerun"))
            log.info("pipeline rerun", extra={"pipeline": str(key), "reprocess": reprocess})
