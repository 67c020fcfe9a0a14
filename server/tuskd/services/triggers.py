"""The PFS observer that turns output commits into jobs, in the transaction that opens them.

Hook points (registered once in wiring.py with ``PfsService.add_observer``):

* ``CommitEvent(STARTED)`` on a branch of a ``user`` repo that is a pipeline's output branch
  (the repo is named like the pipeline, the branch is the spec's ``output_branch``): create the
  pipeline's job for that commit, CREATED, with the commit set's ID as job ID and the pipeline's
  current version, inside the PFS write transaction (``JobService.create_job(tx, ...)``). PFS
  opens such AUTO commits whenever a commit starts upstream of the output branch (an input
  commit, a spec commit from an update or rerun, a new provenance from create/update), once per
  output branch per commit set, so a commit to ``images`` under a 3-pipeline DAG gives 3 jobs
  sharing the commit set's ID; and creating a pipeline gives one job for the current input heads.
* A stopped pipeline gets no job: its AUTO commit stays open (downstream jobs wait for it, as
  they wait for any unfinished input) until ``PipelineService.start`` gives every such commit its
  job, oldest first. Nothing is lost and no commit is left open for good.
* ``RepoEvent(DELETING)`` of a pipeline's output repo or spec repo is refused
  (FAILED_PRECONDITION) unless forced: delete the pipeline instead. PipelineService removes the
  pipeline row before it deletes those repos, so its own deletion passes.

* ``CommitEvent(DELETED)`` of a job's output commit (DropCommitSet, SquashCommitSet, a forced
  repo delete): the job, unless it is finished, is KILLED in the same transaction with the
  event's cause as its reason (``commit set <id> was dropped``), so every wait on it returns
  (services/job_terminate.py, the one terminate path). Kill hooks (``add_kill_hook``; the
  engine's) are told after that commits and stop what still runs of it.

Finished commits are the job engine's business, not this module's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from tuskd.domain.errors import FailedPrecondition
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import USER_REPO_TYPE, CommitEvent, CommitEventKind, PfsEvent, RepoEvent, RepoEventKind
from tuskd.domain.pipelines import SPEC_REPO_TYPE
from tuskd.domain.states import JobState, is_terminal
from tuskd.store.base import PfsTx, Tx
from tuskd.store.pps import JobRow, PipelineRow

from .job_terminate import JobTerminator
from .jobs import JobService

__all__ = ["JobTrigger", "KillHook", "open_job"]

KillHook = Callable[[JobKey, str], None]
"""Told ``(job, reason)`` after the transaction that killed the job commits (never inside it)."""
"""Called inside the transaction that KILLED a job because its output commit went (key, reason)."""


def open_job(jobs: JobService, tx: Tx, pipeline: PipelineRow, output_branch: str, set_id: str) -> JobRow | None:
    """Create the CREATED job of ``pipeline`` for commit set ``set_id`` unless it already exists."""
    key = JobKey(pipeline.project, pipeline.name, set_id)
    if jobs.tables(tx).get_job(key) is not None:
        return None
    return jobs.create_job(tx, key, pipeline.version, pipeline.name, output_branch)


def _output_branch(spec_json: str) -> str:
    # Only one field is needed: reading it from the stored JSON keeps this path cheap.
    return str(json.loads(spec_json).get("output_branch") or "master")


class JobTrigger:
    """``PfsService`` observer: ``pfs.add_observer(trigger, commit_kinds=JobTrigger.COMMIT_KINDS)``."""

    COMMIT_KINDS = frozenset({CommitEventKind.STARTED, CommitEventKind.DELETED})
    """The commit events it acts on (the others are not built for it)."""

    def __init__(self, jobs: JobService) -> None:
        self._jobs = jobs
        # The output commit of a job this observer ends is deleted already: none to finish.
        self._terminator = JobTerminator(jobs, None)
        self._kill_hooks: list[KillHook] = []

    def add_kill_hook(self, hook: KillHook) -> None:
        self._kill_hooks.append(hook)

    def __call__(self, tx: PfsTx, event: PfsEvent) -> None:
        if isinstance(event, CommitEvent) and event.kind is CommitEventKind.STARTED:
            self._on_started(tx, event)
        elif isinstance(event, CommitEvent) and event.kind is CommitEventKind.DELETED:
            self._on_deleted(tx, event)
        elif isinstance(event, RepoEvent) and event.kind is RepoEventKind.DELETING and not event.force:
            self._on_deleting(tx, event)

    def _on_started(self, tx: PfsTx, event: CommitEvent) -> None:
        commit = event.commit.commit
        if commit.branch is None or commit.repo.type != USER_REPO_TYPE:
            return
        t = self._jobs.tables(tx)
        pipeline = t.get_pipeline(commit.repo.project, commit.repo.name)
        if pipeline is None or pipeline.stopped:
            return
        version = t.get_pipeline_version(pipeline.id, pipeline.version)
        if version is None:  # pragma: no cover - a pipeline row always has its current version
            return
        output_branch = _output_branch(version.spec_json)
        if commit.branch != output_branch:
            return
        open_job(self._jobs, tx, pipeline, output_branch, commit.id)

    def _on_deleted(self, tx: PfsTx, event: CommitEvent) -> None:
        commit = event.commit.commit
        if commit.repo.type != USER_REPO_TYPE:
            return
        key = JobKey(commit.repo.project, commit.repo.name, commit.id)
        row = self._jobs.tables(tx).get_job(key)
        if row is None or row.job.output_repo != commit.repo.name or is_terminal(row.job.state):
            return
        reason = event.cause or f"output commit {commit.repo}@{commit.id} was deleted"
        self._terminator.terminate(tx, key, JobState.JOB_KILLED, reason)
        for hook in self._kill_hooks:
            tx.after_commit(functools.partial(hook, key, reason))

    def _on_deleting(self, tx: PfsTx, event: RepoEvent) -> None:
        repo = event.repo
        if repo.type not in (USER_REPO_TYPE, SPEC_REPO_TYPE):
            return
        if self._jobs.tables(tx).get_pipeline(repo.project, repo.name) is None:
            return
        what = "output" if repo.type == USER_REPO_TYPE else "spec"
        raise FailedPrecondition(
            f'cannot delete repo "{repo}": it is the {what} repo of pipeline "{repo.name}"; '
            "delete the pipeline instead (or use force)",
            reason="REPO_OF_PIPELINE",
            repo=str(repo),
            pipeline=repo.name,
        )
