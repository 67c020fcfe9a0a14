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

import os
import queue
import re
import threading
from collections.abc import Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import grpc
from google.protobuf import timestamp_pb2, wrappers_pb2

from tusk import errors
from tusk.errors import translated, translated_stream
from tusk.pfs_maintenance import MaintenanceMethods
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

CHUNK_SIZE = 2 * 1024 * 1024  # bytes per AddFile message: well under the 64 MiB message limit
_QUEUE_DEPTH = 4  # chunks buffered between the caller and gRPC: bounds an upload's memory

RepoLike = str | pfs_pb2.Repo
BranchLike = str | pfs_pb2.Branch
CommitLike = str | pfs_pb2.Commit
FileLike = str | pfs_pb2.File
Data = bytes | bytearray | memoryview | IO[bytes] | Path
T = TypeVar("T")
Stream = Generator[T, None, None]  # what streaming methods return: close() cancels the call

_COMMIT_ID = re.compile(r"^[0-9a-f]{32}$")
_STATES = {
    "started": pfs_pb2.STARTED,
    "ready": pfs_pb2.READY,
    "finishing": pfs_pb2.FINISHING,
    "finished": pfs_pb2.FINISHED,
}
_ORIGINS = {"user": pfs_pb2.USER, "auto": pfs_pb2.AUTO, "fsck": pfs_pb2.FSCK}


# -- names ---------------------------------------------------------------------------------------


def parse_repo(repo: RepoLike, project: str = "") -> pfs_pb2.Repo:
    """``[project/]name[.type]`` as a ``pfs_pb2.Repo`` (a Repo is returned as is)."""
    if isinstance(repo, pfs_pb2.Repo):
        return repo
    text = repo.strip()
    proj, _, name = text.rpartition("/")
    name, _, repo_type = name.partition(".")
    return pfs_pb2.Repo(name=name, type=repo_type or "user", project=pfs_pb2.Project(name=proj or project or "default"))


def parse_branch(branch: BranchLike, project: str = "") -> pfs_pb2.Branch:
    """``repo@branch`` (``repo`` alone: its ``master``) as a ``pfs_pb2.Branch``."""
    if isinstance(branch, pfs_pb2.Branch):
        return branch
    repo_part, _, name = branch.partition("@")
    if _COMMIT_ID.match(name) or any(c in name for c in "^~="):
        raise errors.InvalidArgument(f"{branch!r} names a commit, not a branch: write it as <repo>@<branch>")
    return pfs_pb2.Branch(repo=parse_repo(repo_part, project), name=name or "master")


def parse_commit(commit: CommitLike, project: str = "") -> pfs_pb2.Commit:
    """``repo@branch``, ``repo@<id>``, ``repo@branch^2``, ``repo@branch=<id>`` or ``repo`` (its
    master) as a ``pfs_pb2.Commit``."""
    if isinstance(commit, pfs_pb2.Commit):
        return commit
    repo_part, _, ref = commit.partition("@")
    repo = parse_repo(repo_part, project)
    ref = ref.strip() or "master"
    if "=" in ref:  # pachctl's branch=id: that commit, reached through that branch
        name, _, commit_id = ref.partition("=")
        return pfs_pb2.Commit(repo=repo, branch=pfs_pb2.Branch(repo=repo, name=name), id=commit_id)
    if _COMMIT_ID.match(ref) or any(c in ref for c in "^~"):
        return pfs_pb2.Commit(repo=repo, id=ref)  # the server resolves ids and ancestry
    return pfs_pb2.Commit(repo=repo, branch=pfs_pb2.Branch(repo=repo, name=ref))


def parse_file(file: FileLike, project: str = "", default_path: str = "/") -> pfs_pb2.File:
    """``repo@ref:/path`` as a ``pfs_pb2.File``; without ``:/path``, ``default_path``."""
    if isinstance(file, pfs_pb2.File):
        return file
    commit_part, sep, path = file.partition(":")
    return pfs_pb2.File(commit=parse_commit(commit_part, project), path=_abs(path) if sep else default_path)


def _abs(path: str) -> str:
    return path if path.startswith("/") else f"/{path}"


def format_repo(repo: pfs_pb2.Repo, with_project: bool = False) -> str:
    """pachctl's spelling of a repo: ``images``, ``edges.spec``, ``proj/images``."""
    name = repo.name if repo.type in ("", "user") else f"{repo.name}.{repo.type}"
    project = repo.project.name
    if with_project or (project and project != "default"):
        return f"{project or 'default'}/{name}"
    return name


def format_commit(commit: pfs_pb2.Commit) -> str:
    """``images@<id>`` (or ``images@master`` for a head not yet resolved to an ID)."""
    repo = commit.repo if commit.repo.name else commit.branch.repo
    return f"{format_repo(repo)}@{commit.id or commit.branch.name}"


def commit_state(state: bool | str | int) -> int:
    """A ``pfs_pb2`` CommitState from ``True`` (finished), a word (``finished``) or a value."""
    if state is True:
        return int(pfs_pb2.FINISHED)
    if state is False:
        return int(pfs_pb2.COMMIT_STATE_UNKNOWN)
    if isinstance(state, str):
        try:
            return int(_STATES[state.lower()])
        except KeyError:
            raise errors.InvalidArgument(f"unknown commit state {state!r}: use one of {', '.join(_STATES)}") from None
    return int(state)


def _origin(kind: str | int | None) -> int:
    if kind is None:
        return int(pfs_pb2.ORIGIN_KIND_UNKNOWN)
    if isinstance(kind, str):
        try:
            return int(_ORIGINS[kind.lower()])
        except KeyError:
            raise errors.InvalidArgument(f"unknown commit origin {kind!r}: use user, auto or fsck") from None
    return int(kind)


def _timestamp(when: datetime | timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    if isinstance(when, timestamp_pb2.Timestamp):
        return when
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


def _stream(call: Any) -> Stream[Any]:
    """A server stream with typed errors; closing the iterator early cancels the call."""
    try:
        yield from translated_stream(call)
    finally:
        call.cancel()


def _chunks(data: Data, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The bytes of ``data`` in chunks, reading files as they are sent."""
    if isinstance(data, Path):
        with data.open("rb") as f:
            yield from _chunks(f, chunk_size)
        return
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    while True:
        chunk = data.read(chunk_size)
        if not chunk:
            return
        yield chunk


# -- several changes in one commit ---------------------------------------------------------------

_END = object()


class ModifyFile(AbstractContextManager["ModifyFile"]):
    """Changes to one commit sent as one ModifyFile stream (``client.pfs.modify_file(...)``).

    Each call sends its messages at once, through a small bounded queue, so uploads stream;
    nothing is visible until the block ends without an exception. Putting to a branch with no
    open commit makes exactly one commit for the whole block. If the block raises, the stream is
    cancelled and the commit is left exactly as it was.
    """

    def __init__(self, stub: pfs_pb2_grpc.APIStub, commit: pfs_pb2.Commit, timeout: float | None = None) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._closed = threading.Event()
        self._call = stub.ModifyFile.future(self._requests(), timeout=timeout)
        self._done = False
        self._send(pfs_pb2.ModifyFileRequest(set_commit=commit))

    def _requests(self) -> Iterator[pfs_pb2.ModifyFileRequest]:
        while not self._closed.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                return
            assert isinstance(item, pfs_pb2.ModifyFileRequest)
            yield item

    def _failure(self) -> errors.TuskError:
        try:
            self._call.result()
        except grpc.RpcError as err:
            return errors.from_rpc_error(err)
        except grpc.FutureCancelledError:
            return errors.Cancelled("the ModifyFile stream was cancelled")
        return errors.FailedPrecondition("the server ended the ModifyFile stream early")

    def _send(self, item: object) -> None:
        if self._done:
            raise errors.FailedPrecondition("this ModifyFile stream is already closed")
        while True:
            if self._call.done():
                self._done = True
                raise self._failure()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def put_file(self, path: str, data: Data, *, append: bool = False) -> None:
        """Write ``data`` (bytes, a binary file object read to its end, or a local Path) to
        ``path``, replacing what is there unless ``append``."""
        path = _abs(path)
        if not append:
            self.delete_file(path)
        # A first, empty message so an empty upload still makes the file.
        self._send(pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue())))
        for chunk in _chunks(data):
            add = pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=chunk))
            self._send(pfs_pb2.ModifyFileRequest(add_file=add))

    def put_file_url(self, path: str, url: str, *, recursive: bool = False, append: bool = False) -> None:
        """Have the server fetch ``url`` into ``path`` (``recursive`` for a directory URL)."""
        path = _abs(path)
        if not append:
            self.delete_file(path)
        source = pfs_pb2.AddFile.URLSource(URL=url, recursive=recursive)
        self._send(pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path=path, url=source)))

    def put_files(self, local_dir: str | Path, dest: str = "/") -> list[str]:
        """Every file under ``local_dir`` (recursively) to ``dest/<relative path>``; the repo
        paths written, in order."""
        root = Path(local_dir)
        if not root.is_dir():
            raise errors.InvalidArgument(f"{root} is not a directory")
        written = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                local = Path(dirpath) / name
                target = join_path(dest, local.relative_to(root).as_posix())
                self.put_file(target, local)
                written.append(target)
        return written

    def delete_file(self, path: str) -> None:
        """Remove a file or a directory (nothing happens if it does not exist)."""
        self._send(pfs_pb2.ModifyFileRequest(delete_file=pfs_pb2.DeleteFile(path=_abs(path))))

    def copy_file(self, dst: str, src: FileLike, *, append: bool = False) -> None:
        """Copy a file or directory of any commit (``repo@ref:/path``) to ``dst``."""
        copy = pfs_pb2.CopyFile(dst=_abs(dst), src=parse_file(src), append=append)
        self._send(pfs_pb2.ModifyFileRequest(copy_file=copy))

    def close(self) -> None:
        """End the stream and wait until the server applied it (raises if it did not)."""
        if self._done:
            return
        self._send(_END)
        self._done = True
        try:
            self._call.result()
        except grpc.RpcError as err:
            raise errors.from_rpc_error(err) from None

    def abort(self) -> None:
        """Cancel the stream: nothing of it is applied."""
        self._done = True
        # Cancel before the request iterator ends: an iterator that simply ended would look
        # like a complete stream, and the server would apply it.
        self._call.cancel()
        self._closed.set()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def join_path(base: str, rel: str) -> str:
    """``/in`` + ``a/b.txt`` -> ``/in/a/b.txt`` (``base`` made absolute; an empty ``rel``: ``base``)."""
    base = _abs(base).rstrip("/")
    return f"{base}/{rel}" if rel else base or "/"


# -- the client ----------------------------------------------------------------------------------


class PfsClient(ProjectMethods, MaintenanceMethods):
    """``client.pfs``: every pfs_v2 RPC as a typed method (projects: :mod:`tusk.pfs_projects`; commit
    maintenance, fsck and egress: :mod:`tusk.pfs_maintenance`)."""

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
        return _stream(self.stub.ListRepo(request, timeout=timeout))

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
        return _stream(self.stub.ListBranch(request, timeout=timeout))

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
            origin_kind=_origin(origin_kind),  # type: ignore[arg-type]  # OriginKind values are ints
        )
        if to is not None:
            request.to.CopyFrom(parse_commit(to))
        if from_ is not None:
            getattr(request, "from").CopyFrom(parse_commit(from_))
        if started_time is not None:
            request.started_time.CopyFrom(_timestamp(started_time))
        return _stream(self.stub.ListCommit(request, timeout=timeout))

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
            origin_kind=_origin(origin_kind),  # type: ignore[arg-type]  # OriginKind values are ints
        )
        if from_ is not None:
            getattr(request, "from").CopyFrom(parse_commit(from_))
        return _stream(self.stub.SubscribeCommit(request, timeout=timeout))

    # -- commit sets ------------------------------------------------------------------------

    def inspect_commit_set(
        self, commit_set: str, *, wait: bool = False, timeout: float | None = None
    ) -> Stream[pfs_pb2.CommitInfo]:
        """The commits sharing one global ID, upstream first; with ``wait``, each once finished."""
        request = pfs_pb2.InspectCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=commit_set), wait=wait)
        return _stream(self.stub.InspectCommitSet(request, timeout=timeout))

    def list_commit_set(self, *, project: str = "", timeout: float | None = 60.0) -> Stream[pfs_pb2.CommitSetInfo]:
        """Commit sets with their commits, newest first."""
        request = pfs_pb2.ListCommitSetRequest()
        if project:
            request.project.name = project
        return _stream(self.stub.ListCommitSet(request, timeout=timeout))

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

    # -- files: writing ---------------------------------------------------------------------

    def modify_file(self, commit: CommitLike, *, timeout: float | None = None) -> ModifyFile:
        """Several changes to one commit in one stream::

        with client.pfs.modify_file("images@master") as mf:
            mf.put_file("/a.png", Path("a.png"))
            mf.delete_file("/old.png")
        """
        try:
            return ModifyFile(self.stub, parse_commit(commit), timeout)
        except grpc.RpcError as err:
            raise errors.from_rpc_error(err) from None

    def put_file(
        self, commit: CommitLike, path: str, data: Data, *, append: bool = False, timeout: float | None = None
    ) -> None:
        """Write ``data`` (bytes, a binary file object, or a local Path) to ``path``, streamed in
        chunks. To a branch with no open commit: one new, finished commit."""
        with self.modify_file(commit, timeout=timeout) as mf:
            mf.put_file(path, data, append=append)

    def put_files(
        self, commit: CommitLike, local_dir: str | Path, dest: str = "/", *, timeout: float | None = None
    ) -> list[str]:
        """Every file under ``local_dir`` to ``dest/<relative path>``, all in one commit; the repo
        paths written."""
        with self.modify_file(commit, timeout=timeout) as mf:
            return mf.put_files(local_dir, dest)

    def put_file_url(
        self, commit: CommitLike, path: str, url: str, *, recursive: bool = False, timeout: float | None = None
    ) -> None:
        with self.modify_file(commit, timeout=timeout) as mf:
            mf.put_file_url(path, url, recursive=recursive)

    def delete_file(self, commit: CommitLike, path: str, *, timeout: float | None = None) -> None:
        with self.modify_file(commit, timeout=timeout) as mf:
            mf.delete_file(path)

    def copy_file(self, src: FileLike, dst: FileLike, *, append: bool = False, timeout: float | None = None) -> None:
        """Copy ``repo@ref:/path`` to ``repo@branch:/path`` (any repos)."""
        target = parse_file(dst)
        with self.modify_file(target.commit, timeout=timeout) as mf:
            mf.copy_file(target.path, src, append=append)

    # -- files: reading ---------------------------------------------------------------------

    def get_file(
        self, commit: CommitLike, path: str, *, offset: int = 0, timeout: float | None = None
    ) -> Stream[bytes]:
        """The content of a file (a directory: its files' contents in path order), in chunks."""
        request = pfs_pb2.GetFileRequest(file=pfs_pb2.File(commit=parse_commit(commit), path=_abs(path)), offset=offset)
        return (message.value for message in _stream(self.stub.GetFile(request, timeout=timeout)))

    def get_file_bytes(self, commit: CommitLike, path: str, *, offset: int = 0, timeout: float | None = None) -> bytes:
        """``get_file`` joined: for files that fit in memory."""
        return b"".join(self.get_file(commit, path, offset=offset, timeout=timeout))

    def get_file_tar(self, commit: CommitLike, path: str = "/", *, timeout: float | None = None) -> Stream[bytes]:
        """A tar stream of a file or directory (paths relative to the repo root), in chunks."""
        request = pfs_pb2.GetFileRequest(file=pfs_pb2.File(commit=parse_commit(commit), path=_abs(path)))
        return (message.value for message in _stream(self.stub.GetFileTAR(request, timeout=timeout)))

    @translated
    def inspect_file(self, commit: CommitLike, path: str, *, timeout: float | None = 30.0) -> pfs_pb2.FileInfo:
        request = pfs_pb2.InspectFileRequest(file=pfs_pb2.File(commit=parse_commit(commit), path=_abs(path)))
        return self.stub.InspectFile(request, timeout=timeout)

    def list_file(
        self,
        commit: CommitLike,
        path: str = "/",
        *,
        number: int = 0,
        reverse: bool = False,
        after: str = "",
        timeout: float | None = 60.0,
    ) -> Stream[pfs_pb2.FileInfo]:
        """The entries of a directory (directories end in ``/``), in path order; ``after``
        resumes after that path, ``number`` caps the count."""
        parsed = parse_commit(commit)
        request = pfs_pb2.ListFileRequest(
            file=pfs_pb2.File(commit=parsed, path=_abs(path)), number=number, reverse=reverse
        )
        if after:
            request.paginationMarker.CopyFrom(pfs_pb2.File(commit=parsed, path=_abs(after)))
        return _stream(self.stub.ListFile(request, timeout=timeout))

    def walk_file(
        self,
        commit: CommitLike,
        path: str = "/",
        *,
        number: int = 0,
        reverse: bool = False,
        after: str = "",
        timeout: float | None = 60.0,
    ) -> Stream[pfs_pb2.FileInfo]:
        """Every file and directory under ``path`` (itself included), depth first, in path order."""
        parsed = parse_commit(commit)
        request = pfs_pb2.WalkFileRequest(
            file=pfs_pb2.File(commit=parsed, path=_abs(path)), number=number, reverse=reverse
        )
        if after:
            request.paginationMarker.CopyFrom(pfs_pb2.File(commit=parsed, path=_abs(after)))
        return _stream(self.stub.WalkFile(request, timeout=timeout))

    def glob_file(self, commit: CommitLike, pattern: str, *, timeout: float | None = 60.0) -> Stream[pfs_pb2.FileInfo]:
        """Files and directories matching a glob (``/*``, ``/**.png``, ``/{a,b}``...), as pipeline
        inputs match them."""
        request = pfs_pb2.GlobFileRequest(commit=parse_commit(commit), pattern=pattern)
        return _stream(self.stub.GlobFile(request, timeout=timeout))

    def diff_file(
        self,
        new_commit: CommitLike,
        new_path: str = "/",
        *,
        old_commit: CommitLike | None = None,
        old_path: str | None = None,
        shallow: bool = False,
        timeout: float | None = 60.0,
    ) -> Stream[pfs_pb2.DiffFileResponse]:
        """What differs under ``new_path`` between ``new_commit`` and ``old_commit`` (default: its
        parent). Each response has ``new_file`` (added or changed), ``old_file`` (removed or
        changed) or both; ``shallow`` stops at the first level."""
        request = pfs_pb2.DiffFileRequest(
            new_file=pfs_pb2.File(commit=parse_commit(new_commit), path=_abs(new_path)), shallow=shallow
        )
        if old_commit is not None:
            request.old_file.CopyFrom(
                pfs_pb2.File(commit=parse_commit(old_commit), path=_abs(old_path if old_path is not None else new_path))
            )
        elif old_path is not None:
            raise errors.InvalidArgument("old_path needs old_commit (without it, the parent's same path is compared)")
        return _stream(self.stub.DiffFile(request, timeout=timeout))
