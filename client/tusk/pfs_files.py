"""``client.pfs`` methods for files: writing them (one ModifyFile stream per commit, uploads
streamed in chunks of :data:`CHUNK_SIZE` bytes through a bounded queue, so a file is never held in
memory) and reading them (content, tar, inspect, list, walk, glob, diff).

Mixed into :class:`tusk.pfs.PfsClient`, so they are ``client.pfs.put_file(...)`` and so on.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import grpc
from google.protobuf import wrappers_pb2

from tusk import errors
from tusk.errors import translated
from tusk.pfs_names import CommitLike, FileLike, Stream, abs_path, parse_commit, parse_file, stream
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc

__all__ = ["CHUNK_SIZE", "FileMethods", "ModifyFile", "join_path"]

CHUNK_SIZE = 2 * 1024 * 1024  # bytes per AddFile message: well under the 64 MiB message limit
_QUEUE_DEPTH = 4  # chunks buffered between the caller and gRPC: bounds an upload's memory

Data = bytes | bytearray | memoryview | IO[bytes] | Path


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
        path = abs_path(path)
        if not append:
            self.delete_file(path)
        # A first, empty message so an empty upload still makes the file.
        self._send(pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue())))
        for chunk in _chunks(data):
            add = pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=chunk))
            self._send(pfs_pb2.ModifyFileRequest(add_file=add))

    def put_file_url(self, path: str, url: str, *, recursive: bool = False, append: bool = False) -> None:
        """Have the server fetch ``url`` into ``path`` (``recursive`` for a directory URL)."""
        path = abs_path(path)
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
        self._send(pfs_pb2.ModifyFileRequest(delete_file=pfs_pb2.DeleteFile(path=abs_path(path))))

    def copy_file(self, dst: str, src: FileLike, *, append: bool = False) -> None:
        """Copy a file or directory of any commit (``repo@ref:/path``) to ``dst``."""
        copy = pfs_pb2.CopyFile(dst=abs_path(dst), src=parse_file(src), append=append)
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
    base = abs_path(base).rstrip("/")
    return f"{base}/{rel}" if rel else base or "/"


class FileMethods:
    stub: Any  # pfs_pb2_grpc.APIStub, set by PfsClient

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
        request = pfs_pb2.GetFileRequest(
            file=pfs_pb2.File(commit=parse_commit(commit), path=abs_path(path)), offset=offset
        )
        return (message.value for message in stream(self.stub.GetFile(request, timeout=timeout)))

    def get_file_bytes(self, commit: CommitLike, path: str, *, offset: int = 0, timeout: float | None = None) -> bytes:
        """``get_file`` joined: for files that fit in memory."""
        return b"".join(self.get_file(commit, path, offset=offset, timeout=timeout))

    def get_file_tar(self, commit: CommitLike, path: str = "/", *, timeout: float | None = None) -> Stream[bytes]:
        """A tar stream of a file or directory (paths relative to the repo root), in chunks."""
        request = pfs_pb2.GetFileRequest(file=pfs_pb2.File(commit=parse_commit(commit), path=abs_path(path)))
        return (message.value for message in stream(self.stub.GetFileTAR(request, timeout=timeout)))

    @translated
    def inspect_file(self, commit: CommitLike, path: str, *, timeout: float | None = 30.0) -> pfs_pb2.FileInfo:
        request = pfs_pb2.InspectFileRequest(file=pfs_pb2.File(commit=parse_commit(commit), path=abs_path(path)))
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
            file=pfs_pb2.File(commit=parsed, path=abs_path(path)), number=number, reverse=reverse
        )
        if after:
            request.paginationMarker.CopyFrom(pfs_pb2.File(commit=parsed, path=abs_path(after)))
        return stream(self.stub.ListFile(request, timeout=timeout))

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
            file=pfs_pb2.File(commit=parsed, path=abs_path(path)), number=number, reverse=reverse
        )
        if after:
            request.paginationMarker.CopyFrom(pfs_pb2.File(commit=parsed, path=abs_path(after)))
        return stream(self.stub.WalkFile(request, timeout=timeout))

    def glob_file(self, commit: CommitLike, pattern: str, *, timeout: float | None = 60.0) -> Stream[pfs_pb2.FileInfo]:
        """Files and directories matching a glob (``/*``, ``/**.png``, ``/{a,b}``...), as pipeline
        inputs match them."""
        request = pfs_pb2.GlobFileRequest(commit=parse_commit(commit), pattern=pattern)
        return stream(self.stub.GlobFile(request, timeout=timeout))

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
            new_file=pfs_pb2.File(commit=parse_commit(new_commit), path=abs_path(new_path)), shallow=shallow
        )
        if old_commit is not None:
            request.old_file.CopyFrom(
                pfs_pb2.File(
                    commit=parse_commit(old_commit), path=abs_path(old_path if old_path is not None else new_path)
                )
            )
        elif old_path is not None:
            raise errors.InvalidArgument("old_path needs old_commit (without it, the parent's same path is compared)")
        return stream(self.stub.DiffFile(request, timeout=timeout))
