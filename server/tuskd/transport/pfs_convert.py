"""Converts between pfs_v2 messages and the PFS domain model (both directions, nothing else).

Requests: names get Pachyderm's defaults (project ``default``, repo type ``user``, branch
``master`` when a commit names neither ID nor branch); a commit's repo may come from
``commit.repo`` or ``commit.branch.repo`` (clients fill either). Responses: timestamps are set
only when reached, file hashes are the raw sha256 bytes, directory paths end in ``/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

from google.protobuf import timestamp_pb2

from tusk.proto.pfs_v2 import pfs_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.pfs import (
    DEFAULT_BRANCH,
    BranchInfo,
    BranchKey,
    CommitInfo,
    CommitKey,
    CommitRef,
    CommitSetInfo,
    CommitState,
    FileDiff,
    FileInfo,
    OriginKind,
    RepoInfo,
    RepoKey,
)
from tuskd.transport.job_convert import check_timestamp

__all__ = [
    "RawChunks",
    "branch_info",
    "branch_key",
    "branch_pb",
    "commit_info",
    "commit_pb",
    "commit_ref",
    "commit_set_info",
    "commit_state",
    "diff_response",
    "file_info",
    "optional_time",
    "origin_kind",
    "repo_info",
    "repo_key",
    "repo_pb",
    "timestamp",
]


# -- requests -> domain --------------------------------------------------------------------------


def repo_key(pb: pfs_pb2.Repo) -> RepoKey:
    return RepoKey.of(pb.name, project=pb.project.name, type=pb.type)


def branch_key(pb: pfs_pb2.Branch) -> BranchKey:
    return BranchKey(repo_key(pb.repo), pb.name)


def commit_ref(pb: pfs_pb2.Commit) -> CommitRef:
    """A commit as a request names it: by ID, by branch (head), ancestry allowed; master by default."""
    repo = pb.repo if pb.repo.name else pb.branch.repo
    branch = pb.branch.name
    if not pb.id and not branch:
        branch = DEFAULT_BRANCH
    return CommitRef(repo_key(repo), branch=branch, id=pb.id)


def commit_state(value: int) -> CommitState:
    try:
        return CommitState(value)
    except ValueError:
        raise InvalidArgument(f"unknown commit state {value}") from None


def origin_kind(value: int) -> OriginKind:
    try:
        return OriginKind(value)
    except ValueError:
        raise InvalidArgument(f"unknown origin kind {value}") from None


def optional_time(ts: timestamp_pb2.Timestamp, present: bool, field: str) -> datetime | None:
    return check_timestamp(ts, field).ToDatetime(tzinfo=UTC) if present else None


class RawChunks:
    """Reads a ModifyFile stream, merging consecutive raw AddFile messages for one path.

    Pachyderm's AddFile appends to the path, and clients split a large file into many AddFile
    messages for the same path; :meth:`chunks` yields their bytes one message at a time, so the
    whole stream reaches the blob store without being held in memory.
    """

    def __init__(self, requests: Iterator[pfs_pb2.ModifyFileRequest]) -> None:
        self._requests = requests
        self._peeked: pfs_pb2.ModifyFileRequest | None = None

    def __iter__(self) -> RawChunks:
        return self

    def __next__(self) -> pfs_pb2.ModifyFileRequest:
        if self._peeked is not None:
            request, self._peeked = self._peeked, None
            return request
        return next(self._requests)

    def chunks(self, first: pfs_pb2.AddFile) -> Iterator[bytes]:
        """The bytes of ``first`` and of every raw AddFile right after it for the same path."""
        yield first.raw.value
        while True:
            try:
                request = next(self)
            except StopIteration:
                return
            add = request.add_file if request.WhichOneof("body") == "add_file" else None
            if add is None or add.path != first.path or add.WhichOneof("source") == "url":
                self._peeked = request
                return
            yield add.raw.value


# -- domain -> responses -------------------------------------------------------------------------


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def repo_pb(key: RepoKey) -> pfs_pb2.Repo:
    return pfs_pb2.Repo(name=key.name, type=key.type, project=pfs_pb2.Project(name=key.project))


def branch_pb(key: BranchKey) -> pfs_pb2.Branch:
    return pfs_pb2.Branch(repo=repo_pb(key.repo), name=key.name)


def commit_pb(key: CommitKey) -> pfs_pb2.Commit:
    repo = repo_pb(key.repo)
    commit = pfs_pb2.Commit(repo=repo, id=key.id)
    if key.branch:
        commit.branch.CopyFrom(pfs_pb2.Branch(repo=repo, name=key.branch))
    return commit


def repo_info(info: RepoInfo) -> pfs_pb2.RepoInfo:
    return pfs_pb2.RepoInfo(
        repo=repo_pb(info.repo),
        created=timestamp(info.created),
        size_bytes_upper_bound=info.size_bytes,
        description=info.description,
        branches=[branch_pb(b) for b in info.branches],
        details=pfs_pb2.RepoInfo.Details(size_bytes=info.size_bytes),
        metadata=dict(info.metadata),
    )


def branch_info(info: BranchInfo) -> pfs_pb2.BranchInfo:
    out = pfs_pb2.BranchInfo(
        branch=branch_pb(info.branch),
        provenance=[branch_pb(b) for b in info.provenance],
        subvenance=[branch_pb(b) for b in info.subvenance],
        direct_provenance=[branch_pb(b) for b in info.direct_provenance],
        created_at=timestamp(info.created_at),
        updated_at=timestamp(info.updated_at),
        metadata=dict(info.metadata),
    )
    if info.head is not None:
        out.head.CopyFrom(commit_pb(info.head))
    return out


def commit_info(info: CommitInfo) -> pfs_pb2.CommitInfo:
    # As pachd, a CommitInfo names its commit by repo and ID only (commit.branch stays empty).
    out = pfs_pb2.CommitInfo(
        commit=pfs_pb2.Commit(repo=repo_pb(info.commit.repo), id=info.commit.id),
        origin=pfs_pb2.CommitOrigin(kind=cast(pfs_pb2.OriginKind, int(info.origin))),
        description=info.description,
        child_commits=[commit_pb(c) for c in info.children],
        started=timestamp(info.started),
        direct_provenance=[commit_pb(c) for c in info.direct_provenance],
        direct_subvenance=[commit_pb(c) for c in info.direct_subvenance],
        error=info.error,
        size_bytes_upper_bound=info.size_bytes,
        details=pfs_pb2.CommitInfo.Details(size_bytes=info.size_bytes),
        created_at=timestamp(info.started),
        metadata=dict(info.metadata),
    )
    if info.parent is not None:
        out.parent_commit.CopyFrom(commit_pb(info.parent))
    if info.finishing is not None:
        out.finishing.CopyFrom(timestamp(info.finishing))
    if info.finished is not None:
        out.finished.CopyFrom(timestamp(info.finished))
        out.updated_at.CopyFrom(timestamp(info.finished))
    return out


def commit_set_info(info: CommitSetInfo) -> pfs_pb2.CommitSetInfo:
    return pfs_pb2.CommitSetInfo(
        commit_set=pfs_pb2.CommitSet(id=info.id),
        commits=[commit_info(c) for c in info.commits],
    )


def file_info(info: FileInfo) -> pfs_pb2.FileInfo:
    out = pfs_pb2.FileInfo(
        file=pfs_pb2.File(commit=commit_pb(info.commit), path=info.path),
        file_type=cast(pfs_pb2.FileType, int(info.file_type)),
        size_bytes=info.size_bytes,
        hash=bytes.fromhex(info.hash),
    )
    if info.committed is not None:
        out.committed.CopyFrom(timestamp(info.committed))
    return out


def diff_response(diff: FileDiff) -> pfs_pb2.DiffFileResponse:
    out = pfs_pb2.DiffFileResponse()
    if diff.new is not None:
        out.new_file.CopyFrom(file_info(diff.new))
    if diff.old is not None:
        out.old_file.CopyFrom(file_info(diff.old))
    return out
