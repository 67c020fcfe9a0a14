"""Helpers shared by the PFS service modules: event topics, timestamps, graph closure, name cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tuskd.domain.pfs import BranchKey, CommitKey, PfsEvent, RepoKey
from tuskd.store.base import CommitRow, PfsTx

Observer = Callable[[PfsTx, PfsEvent], None]

MAX_LIST_NUMBER = 100_000


def repo_topic(repo: RepoKey) -> str:
    """Event topic published whenever anything about ``repo`` (its commits, branches) changes."""
    return f"pfs/repo/{repo.project}/{repo.name}/{repo.type}"


def commit_set_topic(set_id: str) -> str:
    """Event topic published whenever a commit of the commit set changes."""
    return f"pfs/commitset/{set_id}"


def _ts(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _opt_ts(us: int | None) -> datetime | None:
    return None if us is None else _ts(us)


def _closure(start: int, edges: dict[int, set[int]]) -> set[int]:
    seen: set[int] = set()
    todo = list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


class _Names:
    """Per-operation cache of repo and branch names by store id."""

    def __init__(self, tx: PfsTx) -> None:
        self.tx = tx
        self._repos: dict[int, RepoKey] = {}
        self._branches: dict[int, BranchKey] = {}

    def repo(self, repo_id: int) -> RepoKey:
        key = self._repos.get(repo_id)
        if key is None:
            key = self._repos[repo_id] = self.tx.get_repo_by_id(repo_id).key
        return key

    def branch(self, branch_id: int) -> BranchKey:
        key = self._branches.get(branch_id)
        if key is None:
            row = self.tx.get_branch_by_id(branch_id)
            key = self._branches[branch_id] = BranchKey(self.repo(row.repo_id), row.name)
        return key

    def commit(self, row: CommitRow) -> CommitKey:
        return CommitKey(self.repo(row.repo_id), row.set_id, row.branch)
