"""Client methods for projects (pfs_v2 CreateProject, InspectProject(V2), ListProject, DeleteProject).

Mixed into :class:`tusk.pfs.PfsClient`, so they are ``client.pfs.create_project(...)`` and so on.
Every repo and pipeline lives in a project; ``default`` always exists.
"""

from __future__ import annotations

from typing import Any

from tusk.errors import translated, translated_stream
from tusk.proto.pfs_v2 import pfs_pb2

__all__ = ["ProjectMethods"]

ProjectLike = str | pfs_pb2.Project


def _project(project: ProjectLike) -> pfs_pb2.Project:
    return project if isinstance(project, pfs_pb2.Project) else pfs_pb2.Project(name=project)


class ProjectMethods:
    stub: Any  # pfs_pb2_grpc.APIStub, set by PfsClient

    @translated
    def create_project(
        self, project: ProjectLike, *, description: str = "", update: bool = False, timeout: float | None = 30.0
    ) -> None:
        """Create a project (AlreadyExists if it exists); with ``update``, set the description of an
        existing one (NotFound if it does not exist)."""
        request = pfs_pb2.CreateProjectRequest(project=_project(project), description=description, update=update)
        self.stub.CreateProject(request, timeout=timeout)

    @translated
    def inspect_project(self, project: ProjectLike, *, timeout: float | None = 30.0) -> pfs_pb2.ProjectInfo:
        return self.stub.InspectProject(pfs_pb2.InspectProjectRequest(project=_project(project)), timeout=timeout)

    @translated
    def inspect_project_v2(
        self, project: ProjectLike, *, timeout: float | None = 30.0
    ) -> pfs_pb2.InspectProjectV2Response:
        """The project's info and its pipeline defaults (``defaults_json``, ``{}`` when none are set)."""
        request = pfs_pb2.InspectProjectV2Request(project=_project(project))
        return self.stub.InspectProjectV2(request, timeout=timeout)

    def list_project(self, *, timeout: float | None = 60.0) -> list[pfs_pb2.ProjectInfo]:
        """Every project, ``default`` included."""
        call = self.stub.ListProject(pfs_pb2.ListProjectRequest(), timeout=timeout)
        return list(translated_stream(call))

    @translated
    def delete_project(self, project: ProjectLike, *, force: bool = False, timeout: float | None = 60.0) -> None:
        """Delete an empty project (FailedPrecondition naming the repos still in it)."""
        request = pfs_pb2.DeleteProjectRequest(project=_project(project), force=force)
        self.stub.DeleteProject(request, timeout=timeout)
