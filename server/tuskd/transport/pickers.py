"""Pachyderm's pickers (pfs_v2 Project/Repo/Branch/CommitPicker, pps_v2 PipelinePicker) as domain refs.

Used by the metadata API and by the pfs/pps RPCs that take pickers (the walks, the summaries).
"""

from __future__ import annotations

from typing import Any

from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.pfs import DEFAULT_PROJECT, BranchKey, CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineKey

__all__ = ["branch_of", "commit_of", "picked", "pipeline_of", "project_names", "repo_of"]


def picked(picker: Any, what: str) -> str:
    """Which alternative ``picker`` holds (INVALID_ARGUMENT when it holds none)."""
    chosen = picker.WhichOneof("picker")
    if chosen is None:
        raise InvalidArgument(f"the {what} picker is empty", reason="INVALID_PICKER", field=what)
    return str(chosen)


def _project(picker: pfs_pb2.ProjectPicker) -> str:
    return picker.name if picker.WhichOneof("picker") else DEFAULT_PROJECT


def project_names(pickers: Any) -> list[str]:
    """Project names from name pickers; pachd's error for any other (or an empty) picker."""
    names = []
    for picker in pickers:
        if picker.WhichOneof("picker") != "name":
            raise InvalidArgument(
                "project picker is of an unknown type: <nil>", reason="INVALID_PICKER", field="projects"
            )
        names.append(picker.name)
    return names


def repo_of(picker: pfs_pb2.RepoPicker) -> RepoKey:
    picked(picker, "repo")
    name = picker.name
    return RepoKey.of(name.name, _project(name.project), name.type)


def branch_of(picker: pfs_pb2.BranchPicker) -> BranchKey:
    picked(picker, "branch")
    return BranchKey(repo_of(picker.name.repo), picker.name.name)


def commit_of(picker: pfs_pb2.CommitPicker) -> CommitRef:
    kind = picked(picker, "commit")
    if kind == "branch_head":
        branch = branch_of(picker.branch_head)
        return CommitRef(branch.repo, branch=branch.name)
    if kind == "id":
        return CommitRef(repo_of(picker.id.repo), id=picker.id.id)
    if kind == "ancestor":
        start = commit_of(picker.ancestor.start)
        suffix = f"^{picker.ancestor.offset}"
        if start.id:
            return CommitRef(start.repo, id=start.id + suffix)
        return CommitRef(start.repo, branch=start.branch + suffix)
    raise InvalidArgument("commit pickers by branch root are not supported by tusk", field="commit")


def pipeline_of(picker: pps_pb2.PipelinePicker) -> PipelineKey:
    picked(picker, "pipeline")
    return PipelineKey(_project(picker.name.project), picker.name.name)
