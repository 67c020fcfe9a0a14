"""Projects: the namespaces of repos and pipelines, and their pipeline defaults.

"default" always exists. Creating a repo (and so a pipeline, whose output repo it creates) in a
project that does not exist is refused inside the repo's own write transaction (an observer of
PFS events), so no code path can create one behind the check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tuskd.domain.errors import AlreadyExists, FailedPrecondition, NotFound
from tuskd.domain.pfs import DEFAULT_PROJECT, PfsEvent, ProjectInfo, RepoEvent, RepoEventKind, check_name
from tuskd.store.base import PfsTx, Store, Tx, reading
from tuskd.store.meta import MetaTx, ProjectRow

from .pfs import PfsService
from .pipelines import PipelineService

__all__ = ["ProjectService", "project_not_found"]


def project_not_found(name: str) -> NotFound:
    return NotFound(f'project "{name}" not found', reason="PROJECT_NOT_FOUND", project=name)


def _info(row: ProjectRow) -> ProjectInfo:
    created = datetime.fromtimestamp(row.created_us / 1_000_000, UTC)
    return ProjectInfo(row.name, row.description, created, dict(row.metadata), row.defaults)


class ProjectService:
    def __init__(
        self,
        store: Store,
        meta_tables: Callable[[Tx], MetaTx],
        pfs: PfsService,
        pipelines: PipelineService,
        *,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._store = store
        self._meta = meta_tables
        self._pfs = pfs
        self._pipelines = pipelines
        self._clock = clock or (lambda: time.time_ns() // 1000)
        pfs.add_observer(self._check_repo_project, commit_kinds=())  # repo events only

    def _check_repo_project(self, tx: PfsTx, event: PfsEvent) -> None:
        if isinstance(event, RepoEvent) and event.kind is RepoEventKind.CREATED:
            name = event.repo.project
            if self._meta(tx).get_project(name) is None:
                message = f'cannot find project "{name}": project "{name}" not found'
                raise NotFound(message, reason="PROJECT_NOT_FOUND", project=name)

    def require(self, tx: Tx, name: str) -> ProjectRow:
        """The project's row, or NOT_FOUND with pachd's text."""
        row = self._meta(tx).get_project(name or DEFAULT_PROJECT)
        if row is None:
            raise project_not_found(name or DEFAULT_PROJECT)
        return row

    def create(self, name: str, description: str = "", update: bool = False) -> ProjectInfo:
        name = check_name(name or DEFAULT_PROJECT, "project")
        with self._store.write() as tx:
            meta = self._meta(tx)
            if meta.get_project(name) is not None:
                if not update:
                    raise AlreadyExists(f'project "{name}" already exists', reason="PROJECT_EXISTS", project=name)
                meta.update_project(name, description)
            elif update:
                raise project_not_found(name)
            else:
                meta.insert_project(name, description, self._clock())
            return _info(self.require(tx, name))

    def inspect(self, name: str, *, tx: PfsTx | None = None) -> ProjectInfo:
        with reading(self._store, tx) as tx:
            return _info(self.require(tx, name or DEFAULT_PROJECT))

    def list_projects(self) -> list[ProjectInfo]:
        with self._store.read() as tx:
            return [_info(row) for row in self._meta(tx).list_projects()]

    def delete(self, name: str, force: bool = False) -> None:
        """Delete a project that has no repos (pipelines have output repos, so none either).

        As on pachd, ``force`` does not delete what the project holds: delete its pipelines and
        repos first. "default" is emptied of nothing and kept: every request without a project
        names it.
        """
        name = name or DEFAULT_PROJECT
        with self._store.write() as tx:
            self.require(tx, name)
            repos = sorted(str(info.repo) for info in self._pfs.list_repos("", [name], tx=tx))
            if repos:
                raise FailedPrecondition(
                    f"cannot delete project {name}: " + "\n".join(f"repo {r} still exists" for r in repos),
                    reason="PROJECT_NOT_EMPTY",
                    project=name,
                )
            if name != DEFAULT_PROJECT:
                self._meta(tx).delete_project(name)

    def delete_all(self) -> None:
        """pfs_v2 DeleteAll: every repo, then every project; "default" is made anew (empty)."""
        with self._store.write() as tx:
            self._pfs.delete_all(tx=tx)
            meta = self._meta(tx)
            for row in meta.list_projects():
                meta.delete_project(row.name)
            meta.insert_project(DEFAULT_PROJECT, "", self._clock())

    def set_defaults(self, name: str, defaults_json: str) -> None:
        with self._store.write() as tx:
            self.require(tx, name)
            self._meta(tx).set_project_defaults(name or DEFAULT_PROJECT, defaults_json)

    def edit_metadata(self, name: str, edit: Callable[[dict[str, str]], dict[str, str]], tx: Tx) -> None:
        """Apply ``edit`` to the project's metadata map inside the caller's write transaction."""
        row = self.require(tx, name)
        self._meta(tx).set_project_metadata(row.name, edit(dict(row.metadata)))
