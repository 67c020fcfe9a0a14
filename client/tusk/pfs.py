"""Client API for versioned data (pfs_v2.API): repos, branches, commits, commit sets, files.

Things are named as on pachctl's command line, or with the protobuf messages:

* a repo: ``"images"`` (``"project/images"`` outside the default project; ``"edges.spec"`` for a
  repo of another type than ``user``);
* a branch: ``"images@master"``;
* a commit: ``"images@master"`` (the branch head), ``"images@<32-hex id>"``, ``"images@master^2"``
  (ancestry), ``"images@master=<id>"``;
* a file: ``"images@master:/dir/a.png"``.

:func:`parse_repo`, :func:`parse_branch`, :func:`parse_commit` and :func:`parse_file` are the one
parser of these forms; the CLI uses them too.

Streaming RPCs return iterators; leaving one early cancels its call, so the server frees the
thread at once. Uploads stream in chunks of :data:`CHUNK_SIZE` bytes with a bounded queue: a file
is never held in memory. Every failed call raises a :class:`tusk.errors.TuskError` subclass.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2

from tusk.errors import translated
from tusk.pfs_files import CHUNK_SIZE, FileMethods, ModifyFile, join_path
from tusk.pfs_maintenance import MaintenanceMethods
from tusk.pfs_names import (
    BranchLike,
    CommitLike,
    FileLike,
    RepoLike,
    Stream,
    commit_state,
    format_commit,
    format_repo,
    parse_branch,
    parse_commit,
    parse_file,
    parse_origin,
    parse_repo,
    stream,
    to_timestamp,
)
from tusk.pfs_projects import ProjectMethods
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc

__all__ = [
    "CHUNK_SIZE",
    "BranchLike",
    "CommitLike",
    "FileLike",
    "ModifyFile",
    "PfsClient",
    "RepoLike",
    "Stream",
    "commit_state",
    "format_commit",
    "format_repo",
    "join_path",
    "parse_branch",
    "parse_commit",
    "parse_file",
    "parse_repo",
]


class PfsClient(FileMethods, ProjectMethods, MaintenanceMethods):
    """``client.pfs``: every pfs_v2 RPC as a typed method (files: :mod:`tusk.pfs_files`; projects:
    :mod:`tusk.pfs_projects`; commit maintenance, fsck and egress: :mod:`tusk.pfs_maintenance`)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = pfs_pb2_grpc.APIStub(channel)

    # -- repos ------------------------------------------------------------------------------

    @translated
    def create_repo(
        self, repo: RepoLike, *, description: str = "", update: bool = False, timeout: float | None = 30.0
    ) -> None:
        """Create a repo (AlreadyExists if it exists, unless ``update``: then set its description)."""
        request = pfs_pb2.CreateRepoRequest(repo=parse_repo(repo), description=description, update=update)
        self.stub.CreateRepo(request, timeout=timeout)

    @translated
    def inspect_repo(self, repo: RepoLike, *, timeout: float | None = 30.0) -> pfs_pb2.RepoInfo:
        return self.stub.InspectRepo(pfs_pb2.InspectRepoRequest(repo=parse_repo(repo)), timeout=timeout)

    def list_repo(
        self, *, type: str = "user", projects: Iterable[str] = (), timeout: float | None = 60.0
    ) -> Stream[pfs_pb2.RepoInfo]:
        """Repos of one ``type`` (``""``: every type: user, spec, meta ...)."""
        request = pfs_pb2.ListRepoRequest(type=type, projects=[pfs_pb2.Project(name=p) for p in projects])
        return stream(self.stub.ListRepo(request, timeout=timeout))

    @translated
    def delete_repo(self, repo: RepoLike, *, force: bool = False, timeout: float | None = 60.0) -> bool:
        """Delete a repo with its branches and commits (FailedPrecondition while a pipeline reads
        it, unless ``force``); whether it existed."""
        response = self.stub.DeleteRepo(pfs_pb2.DeleteRepoRequest(repo=parse_repo(repo), force=force), timeout=timeout)
        return bool(response.deleted)

    @translated
    def delete_all(self, *, timeout: float | None = 60.0) -> None:
        """Delete every repo (and so every commit and file)."""
        from google.protobuf import empty_pb2

        self.stub.DeleteAll(empty_pb2.Empty(), timeout=timeout)

    # -- branches ---------------------------------------------------------------------------

    @translated
    def create_branch(
        self,
        branch: BranchLike,
        *,
        head: CommitLike | None = None,
        provenance: Iterable[BranchLike] = (),
        new_commit_set: bool = False,
        timeout: float | None = 30.0,
    ) -> None:
        """Create or move a branch: ``head`` (``repo@id``/``repo@branch``) becomes its head;
        ``provenance`` branches feed it (a commit to them opens one on this branch)."""
        request = pfs_pb2.CreateBranchRequest(
            branch=parse_branch(branch),
            provenance=[parse_branch(p) for p in provenance],
            new_commit_set=new_commit_set,
        )
        if head is not None:
            request.head.CopyFrom(parse_commit(head))
        self.stub.CreateBranch(request, timeout=timeout)

    @translated
    def inspect_branch(self, branch: BranchLike, *, timeout: float | None = 30.0) -> pfs_pb2.BranchInfo:
        return self.stub.InspectBranch(pfs_pb2.InspectBranchRequest(branch=parse_branch(branch)), timeout=timeout)

    def list_branch(
        self, repo: RepoLike | None = None, *, reverse: bool = False, timeout: float | None = 60.0
    ) -> Stream[pfs_pb2.BranchInfo]:
        """The branches of ``repo`` (every repo's when None)."""
        request = pfs_pb2.ListBranchRequest(reverse=reverse)
        if repo is not None:
            request.repo.CopyFrom(parse_repo(repo))
        return stream(self.stub.ListBranch(request, timeout=timeout))

    @translated
    def delete_branch(self, branch: BranchLike, *, force: bool = False, timeout: float | None = 30.0) -> None:
        request = pfs_pb2.DeleteBranchRequest(branch=parse_branch(branch), force=force)
        self.stub.DeleteBranch(request, timeout=timeout)

    # -- commits ----------------------------------------------------------------------------

    @translated
    def start_commit(
        self,
        branch: BranchLike,
        *,
        parent: CommitLike | None = None,
        description: str = "",
        timeout: float | None = 30.0,
    ) -> pfs_pb2.Commit:
        """Open a commit on ``branch`` (FailedPrecondition while one is open there)."""
        request = pfs_pb2.StartCommitRequest(branch=parse_branch(branch), description=description)
        if parent is not None:
            request.parent.CopyFrom(parse_commit(parent))
        return self.stub.StartCommit(request, timeout=timeout)

    @translated
    def finish_commit(
        self,
        commit: CommitLike,
        *,
        description: str = "",
        error: str = "",
        force: bool = False,
        timeout: float | None = 30.0,
    ) -> None:
        """Finish an open commit; a non-empty ``error`` marks it failed (jobs reading it turn
        unrunnable)."""
        request = pfs_pb2.FinishCommitRequest(
            commit=parse_commit(commit), description=description, error=error, force=force
        )
        self.stub.FinishCommit(request, timeout=timeout)

    @translated
    def inspect_commit(
        self, commit: CommitLike, *, wait: bool | str | int = False, timeout: float | None = None
    ) -> pfs_pb2.CommitInfo:
        """One commit; with ``wait`` (``True`` = ``"finished"``, or ``"started"``, ``"ready"``,
        ``"finishing"``), once it reached that state."""
        request = pfs_pb2.InspectCommitRequest(commit=parse_commit(commit), wait=commit_state(wait))  # type: ignore[arg-type]  # CommitState values are ints
        return self.stub.InspectCommit(request, timeout=timeout)

    def wait_commit(self, commit: CommitLike, *, timeout: float | None = None) -> pfs_pb2.CommitInfo:
        """``inspect_commit(commit, wait=True)``: the commit once it is finished."""
        return self.inspect_commit(commit, wait=True, timeout=timeout)

    def list_commit(
        self,
        repo: RepoLike | CommitLike,
        *,
        to: CommitLike | None = None,
        from_: CommitLike | None = None,
        number: int = 0,
        reverse: bool = False,
        all: bool = False,
        origin_kind: str | int | None = None,
        started_time: datetime | timestamp_pb2.Timestamp | None = None,
        timeout: float | None = 60.0,
    ) -> Stream[pfs_pb2.CommitInfo]:
        """Commits of a repo, newest first. ``"repo@branch"`` lists the branch's history (its head
        and ancestors); ``number`` caps the count; ``from_`` excludes that commit and older."""
        if isinstance(repo, str) and "@" in repo:
            to = to if to is not None else repo
            repo = repo.partition("@")[0]
        elif isinstance(repo, pfs_pb2.Commit):
            to = to if to is not None else repo
            repo = repo.repo if repo.repo.name else repo.branch.repo
        request = pfs_pb2.ListCommitRequest(
            repo=parse_repo(repo),
            number=number,
            reverse=reverse,
            all=all,
            origin_kind=parse_origin(origin_kind),  # type: ignore[arg-type]  # OriginKind values are ints
        )
        if to is not None:
            request.to.CopyFrom(parse_commit(to))
        if from_ is not None:
            getattr(request, "from").CopyFrom(parse_commit(from_))
        if started_time is not None:
            request.started_time.CopyFrom(to_timestamp(started_time))
        return stream(self.stub.ListCommit(request, timeout=timeout))

    def subscribe_commit(
        self,
        repo: RepoLike,
        branch: str = "",
        *,
        from_: CommitLike | None = None,
        state: str | int = "started",
        all: bool = False,
        origin_kind: str | int | None = None,
        timeout: float | None = None,
    ) -> Stream[pfs_pb2.CommitInfo]:
        """The commits of ``repo`` (on ``branch`` if given), oldest first, once each reaches
        ``state``; then each new one as it happens, until the iterator is closed."""
        request = pfs_pb2.SubscribeCommitRequest(
            repo=parse_repo(repo),
            branch=branch,
            state=commit_state(state),  # type: ignore[arg-type]  # CommitState values are ints
            all=all,
            origin_kind=parse_origin(origin_kind),  # type: ignore[arg-type]  # OriginKind values are ints
        )
        if from_ is not None:
            getattr(request, "from").CopyFrom(parse_commit(from_))
        return stream(self.stub.SubscribeCommit(request, timeout=timeout))

    # -- commit sets ------------------------------------------------------------------------

    def inspect_commit_set(
        self, commit_set: str, *, wait: bool = False, timeout: float | None = None
    ) -> Stream[pfs_pb2.CommitInfo]:
        """The commits sharing one global ID, upstream first; with ``wait``, each once finished."""
        request = pfs_pb2.InspectCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=commit_set), wait=wait)
        return stream(self.stub.InspectCommitSet(request, timeout=timeout))

    def list_commit_set(self, *, project: str = "", timeout: float | None = 60.0) -> Stream[pfs_pb2.CommitSetInfo]:
        """Commit sets with their commits, newest first."""
        request = pfs_pb2.ListCommitSetRequest()
        if project:
            request.project.name = project
        return stream(self.stub.ListCommitSet(request, timeout=timeout))

    @translated
    def squash_commit_set(self, commit_set: str, *, timeout: float | None = 60.0) -> None:
        """Remove a commit set's commits, keeping their changes in their children."""
        self.stub.SquashCommitSet(
            pfs_pb2.SquashCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=commit_set)), timeout=timeout
        )

    @translated
    def drop_commit_set(self, commit_set: str, *, timeout: float | None = 60.0) -> None:
        """Remove a commit set's commits and their changes (only commits without children)."""
        self.stub.DropCommitSet(
            pfs_pb2.DropCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=commit_set)), timeout=timeout
        )
