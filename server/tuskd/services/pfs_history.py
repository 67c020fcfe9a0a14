"""Per-commit history use cases of pfs_v2: FindCommits, ClearCommit, SquashCommit, DropCommit,
and the provenance/subvenance walks of commits and branches.

They follow pachd 2.12 (server/pfs/server/server_commit.go, pfsdb's provenance queries):

* FindCommits walks from a commit to its ancestors; a commit is a hit when the exact path was
  written or deleted in that commit's own changes (its diff layer), not when it merely holds
  the file. Every visited commit must be finished.
* SquashCommit/DropCommit act on one commit and, with ``recursive``, on every commit downstream
  of it (its full subvenance); without ``recursive`` such a commit is refused. The jobs whose
  output commits are removed are stopped first, as pachd stops them.
* The walks are breadth first from each start in turn, nearest first, the start itself left
  out; ``max_depth``/``max_commits``/``max_branches`` 0 mean pachd's defaults (1000 and 10,000).

Errors carry pachd's texts. pachd answers most of them with UNKNOWN; tusk gives the canonical
code of the situation (FAILED_PRECONDITION, NOT_FOUND, UNAVAILABLE), as docs/api.md says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from tuskd.domain import paths
from tuskd.domain.errors import FailedPrecondition, Unavailable
from tuskd.domain.pfs import BranchInfo, BranchKey, CommitInfo, CommitKey, CommitRef, OriginKind, RepoKey
from tuskd.store.base import CommitRow, PfsTx

from .pfs import PfsService

__all__ = ["MAX_SEARCH_DEPTH", "MAX_WALK_RESULTS", "FindCommitsResult", "PfsHistory", "pachd_commit"]

# pachd's pfsdb defaults for the provenance walks (MaxSearchDepth, the query's LIMIT).
MAX_SEARCH_DEPTH: Final = 1000
MAX_WALK_RESULTS: Final = 10_000

_SPEC_REPO_TYPE: Final = "spec"

K = TypeVar("K")


def pachd_repo(repo: RepoKey) -> str:
    """A repo as pachd prints it: ``project/name`` (``project/name.type`` off the user type)."""
    name = repo.name if repo.type == "user" else f"{repo.name}.{repo.type}"
    return f"{repo.project}/{name}"


def pachd_commit(commit: CommitKey) -> str:
    """A commit as pachd prints it in errors: ``project/repo@id``."""
    return f"{pachd_repo(commit.repo)}@{commit.id}"


@dataclass(frozen=True, slots=True)
class FindCommitsResult:
    """One FindCommits answer: a hit (``found``) or the final ``last_searched`` commit."""

    commits_searched: int
    found: CommitKey | None = None
    last_searched: CommitKey | None = None


def _bfs(starts: Sequence[K], edges: Callable[[K], Sequence[K]], max_depth: int, limit: int) -> list[K]:
    """Nodes reachable from ``starts`` (not counting a start unless reached again), nearest first."""
    depth_cap = max_depth if max_depth > 0 else MAX_SEARCH_DEPTH
    cap = limit if limit > 0 else MAX_WALK_RESULTS
    out: list[K] = []
    seen: set[K] = set()
    frontier = list(starts)
    for _ in range(depth_cap):
        following: list[K] = []
        for node in frontier:
            for nxt in edges(node):
                if nxt in seen:
                    continue
                seen.add(nxt)
                out.append(nxt)
                if len(out) >= cap:
                    return out
                following.append(nxt)
        if not following:
            break
        frontier = following
    return out


class PfsHistory:
    """History operations on single commits and the provenance graph (over :class:`PfsService`)."""

    def __init__(self, pfs: PfsService, stop_jobs: Callable[[Sequence[CommitKey]], None] | None = None) -> None:
        """``stop_jobs`` stops the jobs writing to commits about to be removed (the engine's)."""
        self._pfs = pfs
        self._stop_jobs = stop_jobs

    # -- FindCommits ------------------------------------------------------------------------

    def find_commits(
        self, start: CommitRef, file_path: str, limit: int = 0, *, still_wanted: Callable[[], bool] | None = None
    ) -> Iterator[FindCommitsResult]:
        """Commits from ``start`` back through its ancestors that changed ``file_path``, newest
        first, each with how many commits were searched before it; then one final answer naming
        the last commit searched. ``limit`` hits end the search (0: no limit). ``still_wanted``
        returning False ends it early with that final answer (the client's deadline is near)."""
        path = paths.normalize_path(file_path)
        searched = 0
        ref: CommitRef = start
        last: CommitKey | None = None
        found = 0
        while True:
            if still_wanted is not None and not still_wanted():
                break
            with self._pfs.store.read() as tx:
                row = self._pfs.resolve_commit(tx, ref)
                info = self._pfs.commit_info_of(tx, row)
                if row.finished_us is None:
                    raise Unavailable(
                        f"commit {pachd_commit(info.commit)} not finished",
                        reason="COMMIT_NOT_FINISHED",
                        commit=info.commit.id,
                    )
                hit = row.diff_layer_id is not None and tx.get_layer_entry(row.diff_layer_id, path) is not None
            last = info.commit
            if hit:
                found += 1
                yield FindCommitsResult(searched, found=info.commit)
            searched += 1
            if (limit and found >= limit) or info.parent is None:
                break
            ref = CommitRef(info.parent.repo, id=info.parent.id)
        if last is None:  # stopped before the first commit: name the start as pachd does
            with self._pfs.store.read() as tx:
                last = self._pfs.commit_info_of(tx, self._pfs.resolve_commit(tx, start)).commit
        yield FindCommitsResult(searched, last_searched=last)

    # -- ClearCommit ------------------------------------------------------------------------

    def clear_commit(self, commit: CommitRef) -> None:
        """Drop everything written to an open commit so far (it stays open, now empty of changes)."""
        with self._pfs.store.write() as tx:
            row = self._pfs.resolve_commit(tx, commit)
            if row.finishing_us is not None:
                raise FailedPrecondition("cannot clear finished commit", reason="COMMIT_FINISHED")
            layer = row.diff_layer_id
            if layer is not None:
                written = [entry.path for entry in tx.scan_layer(layer)]
                tx.delete_layer_entries(layer, written)
                tx.refresh_layer_size(layer)

    # -- SquashCommit / DropCommit ----------------------------------------------------------

    def _with_subvenance(self, tx: PfsTx, commit: CommitRef, verb: str, recursive: bool) -> list[CommitRow]:
        row = self._pfs.resolve_commit(tx, commit)
        downstream = _bfs([row.id], tx.commit_subvenance, MAX_SEARCH_DEPTH, 0)
        rows = [row, *(r for r in map(tx.get_commit, downstream) if r is not None and r.id != row.id)]
        if len(rows) > 1 and not recursive:
            key = self._pfs.commit_info_of(tx, row).commit
            raise FailedPrecondition(
                f"cannot {verb} commit ({pachd_commit(key)}) with subvenance without recursive",
                reason="COMMIT_HAS_SUBVENANCE",
                commit=key.id,
            )
        return rows

    def _squashable(self, tx: PfsTx, commit: CommitRef, recursive: bool) -> list[CommitRow]:
        rows = self._with_subvenance(tx, commit, "squash", recursive)
        for row in rows:
            info = self._pfs.commit_info_of(tx, row)
            if info.commit.repo.type == _SPEC_REPO_TYPE and info.origin == OriginKind.USER:
                raise FailedPrecondition(
                    f"cannot squash commit {pachd_commit(info.commit)} because it updated a pipeline",
                    reason="SQUASH_PIPELINE_UPDATE",
                )
            if not info.children:
                raise FailedPrecondition(
                    "cannot squash a commit that has no children as that would cause data loss, "
                    f"use the drop operation instead: {pachd_commit(info.commit)}",
                    reason="SQUASH_WITHOUT_CHILDREN",
                )
        return rows

    def _droppable(self, tx: PfsTx, commit: CommitRef, recursive: bool) -> list[CommitRow]:
        rows = self._with_subvenance(tx, commit, "drop", recursive)
        for row in rows:
            if tx.commit_children(row.id):
                key = self._pfs.commit_info_of(tx, row).commit
                raise FailedPrecondition(
                    f"cannot drop a commit that has children: {pachd_commit(key)}", reason="DROP_WITH_CHILDREN"
                )
        return rows

    def _remove(self, commit: CommitRef, recursive: bool, squash: bool) -> None:
        checked = self._squashable if squash else self._droppable
        # Checked once before the jobs of the doomed commits are stopped (so a refused request
        # stops nothing), and again in the write that removes them.
        with self._pfs.store.read() as tx:
            doomed = [self._pfs.commit_info_of(tx, row).commit for row in checked(tx, commit, recursive)]
        if self._stop_jobs is not None:
            self._stop_jobs(doomed)
        with self._pfs.store.write() as tx:
            target = self._pfs.commit_info_of(tx, self._pfs.resolve_commit(tx, commit)).commit
            cause = f"commit {pachd_commit(target)} was {'squashed' if squash else 'dropped'}"
            self._pfs.remove_commits(tx, checked(tx, commit, recursive), squash=squash, cause=cause)

    def squash_commit(self, commit: CommitRef, recursive: bool = False) -> None:
        """Delete a commit (and with ``recursive`` its subvenance), its changes kept in its children."""
        self._remove(commit, recursive, squash=True)

    def drop_commit(self, commit: CommitRef, recursive: bool = False) -> None:
        """Delete a commit without children (and with ``recursive`` its subvenance) and its changes."""
        self._remove(commit, recursive, squash=False)

    # -- walks ------------------------------------------------------------------------------

    def _walk_commits(
        self, starts: Sequence[CommitRef], subvenance: bool, max_commits: int, max_depth: int
    ) -> list[CommitInfo]:
        with self._pfs.store.read() as tx:
            start_ids = [self._pfs.resolve_commit(tx, ref).id for ref in starts]
            edges = tx.commit_subvenance if subvenance else tx.commit_provenance
            out: list[CommitInfo] = []
            for start_id in start_ids:  # each start walked on its own, as pachd does
                for commit_id in _bfs([start_id], edges, max_depth, max_commits):
                    row = tx.get_commit(commit_id)
                    if row is not None:
                        out.append(self._pfs.commit_info_of(tx, row))
            return out

    def walk_commit_provenance(
        self, starts: Sequence[CommitRef], max_commits: int = 0, max_depth: int = 0
    ) -> list[CommitInfo]:
        """The commits each start depends on, directly or not, nearest first."""
        return self._walk_commits(starts, False, max_commits, max_depth)

    def walk_commit_subvenance(
        self, starts: Sequence[CommitRef], max_commits: int = 0, max_depth: int = 0
    ) -> list[CommitInfo]:
        """The commits that depend on each start, directly or not, nearest first."""
        return self._walk_commits(starts, True, max_commits, max_depth)

    def _walk_branches(
        self, starts: Sequence[BranchKey], subvenance: bool, max_branches: int, max_depth: int
    ) -> list[BranchInfo]:
        for start in starts:
            self._pfs.inspect_branch(start)  # NotFound for a missing repo or branch
        infos = {info.branch: info for info in self._pfs.list_branches()}
        direct: dict[BranchKey, list[BranchKey]] = {}
        for info in infos.values():
            for prov in info.direct_provenance:
                if subvenance:
                    direct.setdefault(prov, []).append(info.branch)
                else:
                    direct.setdefault(info.branch, []).append(prov)
        out: list[BranchInfo] = []
        for start in starts:
            for key in _bfs([start], lambda b: sorted(direct.get(b, ())), max_depth, max_branches):
                if key in infos:
                    out.append(infos[key])
        return out

    def walk_branch_provenance(
        self, starts: Sequence[BranchKey], max_branches: int = 0, max_depth: int = 0
    ) -> list[BranchInfo]:
        """The branches each start's commits come from, directly or not, nearest first."""
        return self._walk_branches(starts, False, max_branches, max_depth)

    def walk_branch_subvenance(
        self, starts: Sequence[BranchKey], max_branches: int = 0, max_depth: int = 0
    ) -> list[BranchInfo]:
        """The branches fed by each start, directly or not, nearest first."""
        return self._walk_branches(starts, True, max_branches, max_depth)
