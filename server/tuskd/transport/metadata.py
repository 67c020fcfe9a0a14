"""metadata.API/EditMetadata: pickers converted to names, edits applied in one transaction."""

from __future__ import annotations

import grpc

from tusk.proto.metadata import metadata_pb2, metadata_pb2_grpc
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.metadata import AddKey, ClusterTarget, DeleteKey, EditKey, MetadataOp, ProjectTarget, Replace
from tuskd.services.metadata import MetadataEdit, MetadataTarget
from tuskd.transport.base import ServicerBase
from tuskd.transport.pickers import branch_of, commit_of, picked, pipeline_of, repo_of
from tuskd.transport.unimplemented import complete_servicer


def _target(edit: metadata_pb2.Edit) -> MetadataTarget:
    kind = edit.WhichOneof("target")
    if kind == "project":
        return ProjectTarget(picked(edit.project, "project") and edit.project.name)
    if kind == "repo":
        return repo_of(edit.repo)
    if kind == "branch":
        return branch_of(edit.branch)
    if kind == "commit":
        return commit_of(edit.commit)
    if kind == "pipeline":
        return pipeline_of(edit.pipeline)
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
