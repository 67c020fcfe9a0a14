"""Ending and pausing pipelines: delete (one, or all downstream first), stop and start."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tuskd.domain.errors import FailedPrecondition, NotFound
from tuskd.domain.inputs import cron_inputs, input_repos
from tuskd.domain.pfs import BranchKey, CommitRef
from tuskd.domain.pipelines import PipelineKey, PipelineState
from tuskd.store.base import PfsTx
from tuskd.store.pps import JobQuery, PipelineRow

from .pipeline_base import (
    PipelineBase,
    PipelineChange,
    PipelineChangeKind,
    _cron_repo,
    output_repo,
    spec_repo,
)
from .triggers import open_job

__all__ = ["PipelineLifecycle"]

log = logging.getLogger(__name__)


class PipelineLifecycle(PipelineBase):
    """Delete, stop and start."""

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
        self._jobs.removed(tx, pipeline=(key.project, key.name))  # the read model forgets them (here and elsewhere)
        t.delete_pipeline(row.id)
        out = output_repo(key)
        if self._repo_exists(tx, out):
            if keep_repo:
                branch = BranchKey(out, spec.output_branch)
                try:
                    self._pfs.inspect_branch(branch, tx=tx)
                except NotFound:
                    pass
                else:  # the kept repo stops following the inputs
                    self._pfs.create_branch(branch, provenance=(), tx=tx)
                # Commits opened while the pipeline was stopped have no job to finish them.
                for commit in list(self._pfs.list_commits(out, all=True, tx=tx)):
                    if commit.commit.branch == spec.output_branch and commit.finishing is None:
                        self._pfs.finish_commit(
                            CommitRef(out, id=commit.commit.id), error="pipeline deleted", force=True, tx=tx
                        )
            else:
                self._pfs.delete_repo(out, force=force, tx=tx)
        if self._repo_exists(tx, spec_repo(key)):
            self._pfs.delete_repo(spec_repo(key), force=True, tx=tx)
        for cron in cron_inputs(spec.input):  # even with keep_repo, as pachd: they only trigger jobs
            if self._repo_exists(tx, _cron_repo(cron)):
                self._pfs.delete_repo(_cron_repo(cron), force=True, tx=tx)
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

    # -- stop, start ------------------------------------------------------------------------

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
            if self._repo_exists(tx, out):
                for commit in list(self._pfs.list_commits(out, reverse=True, all=True, tx=tx)):
                    if commit.commit.branch == spec.output_branch and commit.finishing is None:
                        open_job(self._jobs, tx, row, spec.output_branch, commit.commit.id)
            self._notify(tx, PipelineChange(PipelineChangeKind.STARTED, key, row.version))
            log.info("pipeline started", extra={"pipeline": str(key)})
