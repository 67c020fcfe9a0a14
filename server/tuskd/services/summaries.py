"""Per-project counts for dashboards: ReposSummary (pfs_v2) and PipelinesSummary (pps_v2).

Both follow pachd 2.12: a summary is given only for a requested project that has something to
count (a project without user repos, or without pipelines, is left out, as is a project that
does not exist), in the order the projects were asked for.

* ReposSummary counts USER repos and adds up their sizes (the size of each master head, what
  RepoInfo.size_bytes_upper_bound shows). Asked about no project, it answers no summary: that
  is pachd's behaviour, kept so that clients see the same thing.
* PipelinesSummary with no project summarises every project. A pipeline is paused (PAUSED),
  failed (FAILURE or CRASHING) or active (any other state); it is also unhealthy when its last
  job ended KILLED, FAILURE or UNRUNNABLE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tuskd.domain.pfs import USER_REPO_TYPE
from tuskd.domain.pipelines import PipelineState
from tuskd.domain.states import JobState

from .pfs import PfsService
from .pipelines import PipelineService
from .projects import ProjectService

__all__ = ["PipelinesSummary", "ReposSummary", "SummaryService"]

_FAILED: Final = frozenset({PipelineState.PIPELINE_FAILURE, PipelineState.PIPELINE_CRASHING})
_UNHEALTHY: Final = frozenset({JobState.JOB_KILLED, JobState.JOB_FAILURE, JobState.JOB_UNRUNNABLE})


@dataclass(slots=True)
class ReposSummary:
    project: str
    user_repo_count: int = 0
    size_bytes: int = 0


@dataclass(slots=True)
class PipelinesSummary:
    project: str
    active_pipelines: int = 0
    paused_pipelines: int = 0
    failed_pipelines: int = 0
    unhealthy_pipelines: int = 0


class SummaryService:
    def __init__(self, pfs: PfsService, pipelines: PipelineService, projects: ProjectService) -> None:
        self._pfs = pfs
        self._pipelines = pipelines
        self._projects = projects

    def repos_summary(self, projects: Sequence[str]) -> list[ReposSummary]:
        wanted = list(projects)  # a project asked twice is answered twice, as pachd does
        if not wanted:
            return []
        found: dict[str, ReposSummary] = {}
        for info in self._pfs.list_repos(USER_REPO_TYPE, wanted):
            summary = found.setdefault(info.repo.project, ReposSummary(info.repo.project))
            summary.user_repo_count += 1
            summary.size_bytes += info.size_bytes
        return [found[p] for p in wanted if p in found]

    def pipelines_summary(self, projects: Sequence[str]) -> list[PipelinesSummary]:
        wanted = list(projects) or [p.name for p in self._projects.list_projects()]
        found: dict[str, PipelinesSummary] = {}
        for info in self._pipelines.list_pipelines(projects=wanted):
            summary = found.setdefault(info.key.project, PipelinesSummary(info.key.project))
            if info.state in _FAILED:
                summary.failed_pipelines += 1
            elif info.state == PipelineState.PIPELINE_PAUSED:
                summary.paused_pipelines += 1
            else:
                summary.active_pipelines += 1
            if info.last_job_state in _UNHEALTHY:
                summary.unhealthy_pipelines += 1
        return [found[p] for p in wanted if p in found]
