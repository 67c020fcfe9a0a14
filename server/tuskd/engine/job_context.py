"""What the parts of one job's run share: the engine's context and the job's input commits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuskd.blobs.base import BlobStore
from tuskd.domain.inputs import PfsInput
from tuskd.domain.jobs import Job
from tuskd.domain.pfs import CommitKey
from tuskd.domain.pipelines import PipelineSpec
from tuskd.engine.executor import Executor
from tuskd.engine.logs import DatumLogs
from tuskd.engine.ports import CommitPort, JobLedger, Terminator
from tuskd.engine.workspace import Workspace
from tuskd.store.base import Store

__all__ = ["EngineContext", "JobInputs", "SpecLoader"]

SpecLoader = Callable[[Job], PipelineSpec]
"""The spec a job runs with (its pipeline's spec at the job's pipeline version)."""


@dataclass
class EngineContext:
    """What every runner of one engine shares."""

    store: Store
    jobs: JobLedger
    pfs: CommitPort
    blobs: BlobStore
    executor: Executor
    workspace: Workspace
    logs: DatumLogs
    load_spec: SpecLoader
    engine_id: str
    terminator: Terminator
    data_dir: Path | None = None  # egress never writes here
    clock: Callable[[], float] = time.time


@dataclass
class JobInputs:
    """The job's input commits, by (project, repo, repo type, branch)."""

    commits: dict[tuple[str, str, str, str], CommitKey]

    def commit_for(self, pfs: PfsInput) -> CommitKey | None:
        return self.commits.get((pfs.project, pfs.repo, pfs.repo_type, pfs.branch))

    def by_repo(self, repo: str, branch: str) -> CommitKey | None:
        """The commit read for a datum input (datum inputs name only the repo and branch)."""
        for (_, name, _, branch_name), commit in self.commits.items():
            if name == repo and branch_name == branch:
                return commit
        return None
