"""``client.pfs`` methods for history, the provenance graph and the store: find_commits,
clear_commit, squash_commit, drop_commit, the four walks, repos_summary, fsck and egress.

Commits and branches are named as everywhere in the client (``"images@master"``,
``"images@<id>"``, or the protobuf messages); the walks turn them into Pachyderm's pickers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import tusk.pfs_names as names
from tusk.errors import translated, translated_stream
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc

__all__ = ["MaintenanceMethods", "branch_picker", "commit_picker"]


def _repo_picker(repo: pfs_pb2.Repo) -> pfs_pb2.RepoPicker:
    return pfs_pb2.RepoPicker(
        name=pfs_pb2.RepoPicker.RepoName(
            project=pfs_pb2.ProjectPicker(name=repo.project.name or "default"), name=repo.name, type=repo.type
        )
    )


def branch_picker(branch: names.BranchLike) -> pfs_pb2.BranchPicker:
    pb = names.parse_branch(branch)
    return pfs_pb2.BranchPicker(name=pfs_pb2.BranchPicker.BranchName(repo=_repo_picker(pb.repo), name=pb.name))


def commit_picker(commit: names.CommitLike) -> pfs_pb2.CommitPicker:
    """A commit picker: by global ID when the commit names one, else by branch head."""
    pb = names.parse_commit(commit)
    repo = pb.repo if pb.repo.name else pb.branch.repo
    if pb.id:
        return pfs_pb2.CommitPicker(id=pfs_pb2.CommitPicker.CommitByGlobalId(repo=_repo_picker(repo), id=pb.id))
    return pfs_pb2.CommitPicker(branch_head=branch_picker(pb.branch))


def _cancelling(call: Any) -> Iterator[Any]:
    try:
        yield from translated_stream(call)
    finally:
        call.cancel()


class MaintenanceMethods:
    stub: pfs_pb2_grpc.APIStub

    def find_commits(
        self, start: names.CommitLike, path: str, *, limit: int = 0, timeout: float | None = 60.0
    ) -> Iterator[pfs_pb2.FindCommitsResponse]:
        """Commits from ``start`` back that changed ``path``, then a last answer naming the last
        commit searched (``last_searched_commit``)."""
        request = pfs_pb2.FindCommitsRequest(start=names.parse_commit(start), file_path=path, limit=limit)
        return _cancelling(self.stub.FindCommits(request, timeout=timeout))

    @translated
    def clear_commit(self, commit: names.CommitLike, *, timeout: float | None = 30.0) -> None:
        """Discard everything written to an open commit so far."""
        self.stub.ClearCommit(pfs_pb2.ClearCommitRequest(commit=names.parse_commit(commit)), timeout=timeout)

    @translated
    def squash_commit(self, commit: names.CommitLike, *, recursive: bool = False, timeout: float | None = 60.0) -> None:
        """Remove one commit, keeping its changes in its children (``recursive``: and its subvenance)."""
        request = pfs_pb2.SquashCommitRequest(commit=names.parse_commit(commit), recursive=recursive)
        self.stub.SquashCommit(request, timeout=timeout)

    @translated
    def drop_commit(self, commit: names.CommitLike, *, recursive: bool = False, timeout: float | None = 60.0) -> None:
        """Remove one commit without children and its changes (``recursive``: and its subvenance)."""
        request = pfs_pb2.DropCommitRequest(commit=names.parse_commit(commit), recursive=recursive)
        self.stub.DropCommit(request, timeout=timeout)

    def walk_commit_provenance(
        self,
        start: Iterable[names.CommitLike],
        *,
        max_commits: int = 0,
        max_depth: int = 0,
        timeout: float | None = 60.0,
    ) -> Iterator[pfs_pb2.CommitInfo]:
        request = pfs_pb2.WalkCommitProvenanceRequest(
            start=[commit_picker(c) for c in start], max_commits=max_commits, max_depth=max_depth
        )
        return _cancelling(self.stub.WalkCommitProvenance(request, timeout=timeout))

    def walk_commit_subvenance(
        self,
        start: Iterable[names.CommitLike],
        *,
        max_commits: int = 0,
        max_depth: int = 0,
        timeout: float | None = 60.0,
    ) -> Iterator[pfs_pb2.CommitInfo]:
        request = pfs_pb2.WalkCommitSubvenanceRequest(
            start=[commit_picker(c) for c in start], max_commits=max_commits, max_depth=max_depth
        )
        return _cancelling(self.stub.WalkCommitSubvenance(request, timeout=timeout))

    def walk_branch_provenance(
        self,
        start: Iterable[names.BranchLike],
        *,
        max_branches: int = 0,
        max_depth: int = 0,
        timeout: float | None = 60.0,
    ) -> Iterator[pfs_pb2.BranchInfo]:
        request = pfs_pb2.WalkBranchProvenanceRequest(
            start=[branch_picker(b) for b in start], max_branches=max_branches, max_depth=max_depth
        )
        return _cancelling(self.stub.WalkBranchProvenance(request, timeout=timeout))

    def walk_branch_subvenance(
        self,
        start: Iterable[names.BranchLike],
        *,
        max_branches: int = 0,
        max_depth: int = 0,
        timeout: float | None = 60.0,
    ) -> Iterator[pfs_pb2.BranchInfo]:
        request = pfs_pb2.WalkBranchSubvenanceRequest(
            start=[branch_picker(b) for b in start], max_branches=max_branches, max_depth=max_depth
        )
        return _cancelling(self.stub.WalkBranchSubvenance(request, timeout=timeout))

    @translated
    def repos_summary(self, projects: Sequence[str], *, timeout: float | None = 30.0) -> list[pfs_pb2.ReposSummary]:
        """Per project: how many user repos and their total size (projects without repos left out)."""
        request = pfs_pb2.ReposSummaryRequest(projects=[pfs_pb2.ProjectPicker(name=p) for p in projects])
        return list(self.stub.ReposSummary(request, timeout=timeout).summaries)

    def fsck(self, *, fix: bool = False, timeout: float | None = None) -> Iterator[str]:
        """Every consistency problem found (missing or corrupt file content); nothing when healthy."""
        for response in _cancelling(self.stub.Fsck(pfs_pb2.FsckRequest(fix=fix), timeout=timeout)):
            yield response.error or response.fix

    @translated
    def egress(self, commit: names.CommitLike, url: str, *, timeout: float | None = None) -> int:
        """Copy every file of ``commit`` to ``url`` (``file:///dir``); the number of bytes written."""
        request = pfs_pb2.EgressRequest(
            commit=names.parse_commit(commit), object_storage=pfs_pb2.ObjectStorageEgress(url=url)
        )
        return int(self.stub.Egress(request, timeout=timeout).object_storage.bytes_written)
