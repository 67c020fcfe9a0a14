"""The state every pipeline mixin shares: the store, PFS, jobs, hooks and listeners, lookups,
the change a hook is told, and how a pipeline is laid out in PFS (its output and spec repos).

See :mod:`tuskd.services.pipelines` for the semantics; :class:`PipelineBase` holds no use case.
"""

from __future__ import annotations

import enum
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tuskd import hostpaths
from tuskd.domain.errors import InvalidArgument, NotFound
from tuskd.domain.ids import new_global_id
from tuskd.domain.inputs import CronInput, cron_inputs, input_repos
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, RepoKey
from tuskd.domain.pipelines import (
    SPEC_REPO_TYPE,
    PipelineKey,
    PipelineSpec,
    egress_path,
    pipeline_not_found,
    spec_from_dict,
    spec_to_dict,
)
from tuskd.domain.states import JobState, is_terminal
from tuskd.store.base import PfsTx, Store, Tx
from tuskd.store.meta import MetaTx
from tuskd.store.pps import JobQuery, PipelineRow, PipelineVersionRow, PpsTx

from .job_terminate import JobTerminator
from .jobs import JobService
from .pfs import PfsService

__all__ = [
    "SPEC_BRANCH",
    "UNFINISHED_JOB_STATES",
    "PipelineBase",
    "PipelineChange",
    "PipelineChangeKind",
    "PipelineHook",
    "output_repo",
    "spec_repo",
]

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


class PipelineBase:
    """Construction, hooks and listeners, lookups and the kill of unfinished jobs, for every
    pipeline use case."""

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

    def _repo_exists(self, tx: PfsTx, repo: RepoKey) -> bool:
        try:
            self._pfs.inspect_repo(repo, tx=tx)
        except NotFound:
            return False
        return True

    def _check_inputs(self, tx: PfsTx, spec: PipelineSpec) -> None:
        """NOT_FOUND ``repo "x" not found`` for the first input repo that does not exist (cron
        repos are made by the pipeline)."""
        made = {_cron_repo(c) for c in cron_inputs(spec.input)}
        for leaf in input_repos(spec.input):
            repo = RepoKey.of(leaf.repo, leaf.project, leaf.repo_type)
            if repo not in made:
                self._pfs.inspect_repo(repo, tx=tx)

    def _make_cron_repos(self, tx: PfsTx, spec: PipelineSpec) -> None:
        """Each cron input's tick repo, if missing (its master branch comes with the provenance)."""
        for cron in cron_inputs(spec.input):
            repo = _cron_repo(cron)
            if not self._repo_exists(tx, repo):
                self._pfs.create_repo(repo, f"Cron tick repo for pipeline {spec.project}/{spec.name}.", tx=tx)

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
