"""Egress: copy a job's output files to the pipeline's ``egress.URL`` (``file://`` only).

Each output file ``/a/b.txt`` (a host file, or a stream of chunks such as a blob store's
``read_chunks``, so the blobs may live anywhere) is copied to ``<directory>/a/b.txt`` (parents created) through a
temporary file renamed into place, so a reader of the directory never sees half a file.
Files already in the directory that the output does not name are left alone; files it names
are replaced. The copy is a real copy, never a hard link: the directory belongs to the user,
and a write there must not reach the blob store. Nothing is ever written into the server's
data directory, however the URL or a symlink under it points there.

Any problem (bad URL, unwritable directory, disk full) raises :class:`EgressError` with a
message that names the URL and what went wrong; the job runner turns it into the FAILURE reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, TypeAlias
from urllib.parse import unquote, urlparse

from tuskd import hostpaths
from tuskd.domain.errors import FailedPrecondition, InvalidArgument

__all__ = ["EgressError", "LocalFileEgress", "Source", "egress_directory", "egress_files"]


# What one output file is copied from: a host file, or its content as chunks (read lazily).
Source: TypeAlias = Path | Iterable[bytes]


class EgressError(RuntimeError):
    """Egress failed; the message is the job's failure reason."""


def egress_directory(url: str) -> Path:
    """The local directory a ``file://`` URL names (EgressError for anything else)."""
    parsed = urlparse(url)
    if parsed.scheme.lower() != "file":
        raise EgressError(f"egress to {url} failed: only file:// URLs are supported")
    if parsed.netloc not in ("", "localhost"):
        raise EgressError(f"egress to {url} failed: the URL names another host")
    path = unquote(parsed.path)
    if not path.startswith("/"):
        raise EgressError(f"egress to {url} failed: the path must be absolute")
    return Path(path)


def _write(out: BinaryIO, source: Source) -> None:
    if isinstance(source, Path):
        with open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        return
    for chunk in source:
        out.write(chunk)


def egress_files(url: str, files: Iterable[tuple[str, Source]], data_dir: Path | None = None) -> int:
    """Copy ``(output path, source)`` pairs under the URL's directory; returns bytes copied.

    Nothing is written where a path resolves (symlinks followed) into ``data_dir``: the
    directory, and each file's parent once created, are checked before anything is written there.
    """
    root = egress_directory(url)
    forbidden = [data_dir] if data_dir is not None else []

    def check(directory: Path) -> Path:
        if hostpaths.inside(directory, forbidden):
            raise EgressError(
                f"egress to {url} failed: {hostpaths.real(directory)} is inside the server's data directory"
            )
        return Path(hostpaths.real(directory))

    copied = 0
    try:
        check(root)
        root.mkdir(parents=True, exist_ok=True)
        for path, source in files:
            rel = path.lstrip("/")
            if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
                raise EgressError(f"egress to {url} failed: output path {path!r} cannot be written safely")
            target = root / rel
            check(target.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            parent = check(target.parent)
            target = parent / target.name
            fd, tmp = tempfile.mkstemp(prefix=".tusk-egress-", dir=parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    _write(out, source)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            copied += os.path.getsize(target)
    except EgressError:
        raise
    except OSError as exc:
        where = exc.filename or root
        raise EgressError(f"egress to {url} failed: {exc.strerror or exc}: {where}") from exc
    return copied


class LocalFileEgress:
    """These functions for the pfs_v2 Egress RPC (services/pfs_egress.FileEgress, wired in
    wiring.py), with the client's errors: a bad URL is InvalidArgument, a failed copy
    FailedPrecondition; the messages are the same as a pipeline's egress failure reason."""

    def directory(self, url: str) -> Path:
        try:
            return egress_directory(url)
        except EgressError as exc:
            raise InvalidArgument(str(exc), reason="INVALID_EGRESS_URL", field="object_storage.url") from None

    def copy(self, url: str, files: Sequence[tuple[str, Source]]) -> int:
        try:
            return egress_files(url, files)
        except EgressError as exc:
            raise FailedPrecondition(str(exc), reason="EGRESS_FAILED") from None
