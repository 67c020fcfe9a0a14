"""PFS repos: create, inspect, list, delete (alone, by project, all), and the metadata owner of a target."""

from __future__ import annotations

from collections.abc import Sequence

from tuskd.domain.errors import AlreadyExists, FailedPrecondition
from tuskd.domain.pfs import (
    BranchKey,
    CommitEvent,
    CommitEventKind,
    CommitRef,
    RepoEvent,
    RepoEventKind,
    RepoInfo,
    RepoKey,
    check_user_repo_type,
)
from tuskd.store.base import PfsTx, RepoRow
from tuskd.store.meta import MetaKind

from .pfs_base import PfsBase
from .pfs_shared import _Names, commit_set_topic, repo_topic


class RepoOps(PfsBase):
    """Repo use cases."""

    def create_repo(
        self,
        repo: RepoKey,
        description: str = "",
        update: bool = False,
        *,
        system: bool = False,
        tx: PfsTx | None = None,
    ) -> RepoInfo:
        """Create ``repo``; with ``update`` an existing one gets the new description instead.

        Only ``system`` callers (the pipeline service) may create repos of a type other than user.
        """
        if not system:
            check_user_repo_type(repo)
        with self._writing(tx) as tx:
            row = tx.get_repo(repo)
            if row is not None:
                if not update:
                    raise AlreadyExists(f"repo {repo.qualified} already exists", reason="REPO_EXISTS", repo=str(repo))
                tx.update_repo_description(row.id, description)
                row = tx.get_repo_by_id(row.id)
            else:
                row = tx.insert_repo(repo, description, self._now())
                self._emit(tx, RepoEvent(RepoEventKind.CREATED, repo))
            self._publish_after(tx, repo_topic(repo))
            return self._repo_info(tx, row)

    def inspect_repo(self, repo: RepoKey, *, tx: PfsTx | None = None) -> RepoInfo:
        with self._reading(tx) as tx:
            return self._repo_info(tx, self._repo_row(tx, repo))

    def list_repos(self, type: str = "", projects: Sequence[str] = (), *, tx: PfsTx | None = None) -> list[RepoInfo]:
        """Repos, newest first; ``type`` "" means every type, ``projects`` empty every project."""
        with self._reading(tx) as tx:
            return [self._repo_info(tx, r) for r in tx.list_repos(type or None, projects)]

    def delete_repo(self, repo: RepoKey, force: bool = False, *, tx: PfsTx | None = None) -> bool:
        """Delete a repo with its branches, commits and file trees; False if there was none.

        Refused (FAILED_PRECONDITION) while a branch of another repo has one of its branches in
        its provenance (a pipeline reads it), unless ``force``, which also cuts those links.
        A repo that does not exist is not an error (as pachd): the answer says nothing was deleted.
        """
        with self._writing(tx) as tx:
            row = tx.get_repo(repo)
            if row is None:
                return False
            self._delete_repo_tx(tx, row, force)
            return True

    def delete_repos(self, projects: Sequence[str] = (), force: bool = False) -> list[RepoKey]:
        """Delete every user repo of ``projects`` (all projects when empty), in one transaction."""
        with self.store.write() as tx:
            deleted = []
            for row in tx.list_repos(None, projects):
                if tx.get_repo(row.key) is not None:
                    self._delete_repo_tx(tx, row, force)
                    deleted.append(row.key)
            return deleted

    def metadata_owner(self, tx: PfsTx, target: RepoKey | BranchKey | CommitRef) -> tuple[MetaKind, int]:
        """The kind and store id that a metadata map of ``target`` hangs off (NOT_FOUND if none)."""
        if isinstance(target, RepoKey):
            return MetaKind.REPO, self._repo_row(tx, target).id
        if isinstance(target, BranchKey):
            return MetaKind.BRANCH, self._branch_row(tx, self._repo_row(tx, target.repo), target.name).id
        return MetaKind.COMMIT, self._resolve(tx, target).id

    def _delete_repo_tx(self, tx: PfsTx, row: RepoRow, force: bool) -> None:
        names = _Names(tx)
        own = {b.id for b in tx.list_branches(row.id)}
        dependents: dict[int, set[int]] = {}
        for branch_id, prov_id in tx.branch_provenance_edges():
            if prov_id in own and branch_id not in own:
                dependents.setdefault(branch_id, set()).add(prov_id)
        if dependents and not force:
            users = ", ".join(sorted(str(names.branch(b)) for b in dependents))
            raise FailedPrecondition(
                f'cannot delete repo "{row.key}": it is in the provenance of {users}; delete those first or use force',
                reason="REPO_HAS_SUBVENANCE",
                repo=str(row.key),
            )
        self._emit(tx, RepoEvent(RepoEventKind.DELETING, row.key, force))
        prov, _ = self._branch_graph(tx)
        for branch_id, cut in dependents.items():
            tx.set_branch_provenance(branch_id, sorted(prov.get(branch_id, set()) - cut))
        topics = {repo_topic(row.key)}
        for commit in tx.iter_commits(row.id, newest_first=True):
            topics.add(commit_set_topic(commit.set_id))
            if commit.finished_us is None:
                info = self._commit_info(tx, commit, names)
                self._emit(tx, CommitEvent(CommitEventKind.DELETED, info, cause=f'repo "{row.key}" was deleted'))
        tx.delete_repo(row.id)
        self._publish_after(tx, *sorted(topics))

    def delete_all(self, *, tx: PfsTx | None = None) -> None:
        """Delete every repo (forcefully), as pfs_v2.API/DeleteAll does."""
        with self._writing(tx) as tx:
            for row in tx.list_repos():
                if tx.get_repo(row.key) is not None:
                    self._delete_repo_tx(tx, row, force=True)
