"""The project RPCs of pfs_v2.API, and DeleteRepos (a mixin of the pfs servicer)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2

from tusk.proto.pfs_v2 import pfs_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.pfs import DEFAULT_PROJECT, ProjectInfo
from tuskd.transport import pfs_convert as conv
from tuskd.transport.base import ServedDeps


def _project_info(info: ProjectInfo) -> pfs_pb2.ProjectInfo:
    out = pfs_pb2.ProjectInfo(
        project=pfs_pb2.Project(name=info.name),
        description=info.description,
        created_at=conv.timestamp(info.created),
    )
    out.metadata.update(info.metadata)
    return out


class ProjectRpcs:
    deps: ServedDeps

    def CreateProject(self, request: pfs_pb2.CreateProjectRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.projects.create(request.project.name, request.description, request.update)
        return empty_pb2.Empty()

    def InspectProject(
        self, request: pfs_pb2.InspectProjectRequest, context: grpc.ServicerContext
    ) -> pfs_pb2.ProjectInfo:
        return _project_info(self.deps.projects.inspect(request.project.name))

    def InspectProjectV2(
        self, request: pfs_pb2.InspectProjectV2Request, context: grpc.ServicerContext
    ) -> pfs_pb2.InspectProjectV2Response:
        info = self.deps.projects.inspect(request.project.name)
        return pfs_pb2.InspectProjectV2Response(info=_project_info(info), defaults_json=info.defaults_json or "{}")

    def ListProject(
        self, request: pfs_pb2.ListProjectRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.ProjectInfo]:
        for info in self.deps.projects.list_projects():
            yield _project_info(info)

    def DeleteProject(self, request: pfs_pb2.DeleteProjectRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.projects.delete(request.project.name, request.force)
        return empty_pb2.Empty()

    def DeleteRepos(
        self, request: pfs_pb2.DeleteReposRequest, context: grpc.ServicerContext
    ) -> pfs_pb2.DeleteReposResponse:
        if request.all and request.projects:
            raise InvalidArgument("set either all or projects, not both")
        projects = [] if request.all else [p.name or DEFAULT_PROJECT for p in request.projects]
        if not request.all and not projects:
            raise InvalidArgument("DeleteRepos needs projects, or all to delete the repos of every project")
        deleted = self.deps.pfs.delete_repos(projects, request.force)
        return pfs_pb2.DeleteReposResponse(repos=[conv.repo_pb(r) for r in deleted])
