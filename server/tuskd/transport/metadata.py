"""metadata.API/EditMetadata: pickers converted to names, edits applied in one transaction."""

from __future__ import annotations

from typing import Any

import grpc

from tusk.proto.metadata import metadata_pb2, metadata_pb2_grpc
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.metadata import AddKey, ClusterTarget, DeleteKey, EditKey, MetadataOp, ProjectTarget, Replace
from tuskd.domain.pfs import DEFAULT_PROJECT, BranchKey, CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineKey
from tuskd.services.metadata import MetadataEdit, MetadataTarget
from tuskd.transport.base import ServicerBase
from tuskd.transport.unimplemented import complete_servicer


def _picked(picker: Any, what: str) -> str:
    chosen = picker.WhichOneof("picker")
    if chosen is None:
        raise InvalidArgument(f"the {what} picker is empty", reason="INVALID_PICKER", field=what)
    return str(chosen)


def _project(picker: pfs_pb2.ProjectPicker) -> str:
    return picker.name if picker.WhichOneof("picker") else DEFAULT_PROJECT


def repo_of(picker: pfs_pb2.RepoPicker) -> RepoKey:
    _picked(picker, "repo")
    name = picker.name
    return RepoKey.of(name.name, _project(name.project), name.type)


def branch_of(picker: pfs_pb2.BranchPicker) -> BranchKey:
    _picked(picker, "branch")
    return BranchKey(repo_of(picker.name.repo), picker.name.name)


def commit_of(picker: pfs_pb2.CommitPicker) -> CommitRef:
    kind = _picked(picker, "commit")
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


def _pipeline(picker: pps_pb2.PipelinePicker) -> PipelineKey:
    _picked(picker, "pipeline")
    return PipelineKey(_project(picker.name.project), picker.name.name)


def _target(edit: metadata_pb2.Edit) -> MetadataTarget:
    kind = edit.WhichOneof("target")
    if kind == "project":
        return ProjectTarget(_picked(edit.project, "project") and edit.project.name)
    if kind == "repo":
        return repo_of(edit.repo)
    if kind == "branch":
        return branch_of(edit.branch)
    if kind == "commit":
        return commit_of(edit.commit)
    if kind == "pipeline":
        return _pipeline(edit.pipeline)
    if kind == "cluster":
        return ClusterTarget()
    raise InvalidArgument("an edit needs a target (project, repo, branch, commit, pipeline or cluster)")


def _op(edit: metadata_pb2.Edit) -> MetadataOp:
    kind = edit.WhichOneof("op")
    if kind == "replace":
        return Replace(dict(edit.replace.replacement))
    if kind == "add_key":
        return AddKey(edit.add_key.key, edit.add_key.value)
    if kind == "edit_key":
        return EditKey(edit.edit_key.key, edit.edit_key.value)
    if kind == "delete_key":
        return DeleteKey(edit.delete_key.key)
    raise InvalidArgument("an edit needs an operation (replace, add_key, edit_key or delete_key)")


@complete_servicer(metadata_pb2.DESCRIPTOR.services_by_name["API"])
class MetadataApi(ServicerBase, metadata_pb2_grpc.APIServicer):
    def EditMetadata(
        self, request: metadata_pb2.EditMetadataRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.EditMetadataResponse:
        self.deps.metadata.edit([MetadataEdit(_target(e), _op(e)) for e in request.edits])
        return metadata_pb2.EditMetadataResponse()
