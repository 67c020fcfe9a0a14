"""Lay out one datum's private working tree and collect what its user code wrote.

A datum's tree lives under the job's work directory::

    <job dir>/<datum id>/in/<input name>/<path in the repo>   the datum's input files
    <job dir>/<datum id>/out/                                  appears at /pfs/out
    <job dir>/<datum id>/scratch/                              the sandbox's private space

``in/<input name>`` is what the sandbox shows at ``/pfs/<input name>``, so user code finds an
input file at ``/pfs/<input name>/<path in the repo>`` exactly as in Pachyderm (a glob that
matched a directory brings its whole subtree; ``/`` brings the whole commit).

Input files are hard links to the content-addressed blobs: laying out a datum costs a few
metadata operations, never a copy. That is safe only where the inputs are mounted read-only
(the namespace sandbox): blobs are shared by every file and commit with the same content, and
user code runs as the server's user, so a write through a hard link would corrupt them. Without
a read-only mount (``link=False``, the fallback sandbox) the files are copied instead.
A failed link (another filesystem) falls back to a copy too.

Collecting walks ``out/`` and stores every regular file (symlinks to regular files are followed)
as a blob; other entries (devices, sockets, dangling links, empty directories) are ignored, as
PFS has no place for them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tuskd.blobs.base import READ_CHUNK, BlobStore
from tuskd.engine.datum_runner import clear_dir

__all__ = ["CollectedFile", "DatumTree", "InputFile", "LaidOutInput", "Workspace"]


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file a datum reads: its path in the input repo (``/dir/a.txt``) and its blob."""

    path: str
    blob: str
    size: int


@dataclass(frozen=True, slots=True)
class LaidOutInput:
    """What to lay out for one input of a datum: the input's name and the files it brings."""

    name: str
    files: Sequence[InputFile]


@dataclass(frozen=True, slots=True)
class CollectedFile:
    """A file user code wrote to ``/pfs/out``: its path there (``/b.txt``) and the blob stored."""

    path: str
    blob: str
    size: int


@dataclass(frozen=True)
class DatumTree:
    """A laid-out datum: host directories for the sandbox and what laying out cost."""

    root: Path
    inputs: Mapping[str, Path]
    out_dir: Path
    scratch_dir: Path
    bytes: int
    seconds: float


class Workspace:
    """Makes and removes datum trees under ``root`` (one directory per job, made on demand)."""

    def __init__(self, root: Path, blobs: BlobStore, *, link: bool = True) -> None:
        self.root = root
        self._blobs = blobs
        self._link = link

    def job_dir(self, name: str) -> Path:
        return self.root / name

    def prepare(self, job_dir: Path, datum_id: str, inputs: Sequence[LaidOutInput]) -> DatumTree:
        """Create ``<job_dir>/<datum_id>`` afresh with the inputs laid out; empty out and scratch."""
        started = time.monotonic()
        root = job_dir / datum_id
        if root.exists():
            remove_tree(root)
        in_root = root / "in"
        made: set[Path] = set()
        dirs: dict[str, Path] = {}
        total = 0
        for item in inputs:
            base = dirs.get(item.name)
            if base is None:
                base = dirs[item.name] = in_root / item.name
                base.mkdir(parents=True, exist_ok=True)
                made.add(base)
            for file in item.files:
                rel = file.path.lstrip("/")
                if not rel:
                    continue
                target = base / rel
                parent = target.parent
                if parent not in made:
                    parent.mkdir(parents=True, exist_ok=True)
                    made.add(parent)
                if self._place(file.blob, target):
                    total += file.size
        out_dir = root / "out"
        scratch = root / "scratch"
        out_dir.mkdir(parents=True, exist_ok=True)
        scratch.mkdir(exist_ok=True)
        return DatumTree(root, dirs, out_dir, scratch, total, time.monotonic() - started)

    def _place(self, blob: str, target: Path) -> bool:
        source = self._blobs.path(blob)
        try:
            if self._link:
                os.link(source, target)
            else:
                shutil.copyfile(source, target)
        except FileExistsError:
            return False  # the same path brought twice (e.g. by two group members)
        except OSError as exc:
            if not self._link or exc.errno not in (errno.EXDEV, errno.EMLINK, errno.EPERM):
                raise
            shutil.copyfile(source, target)
        return True

    def collect(self, out_dir: Path) -> list[CollectedFile]:
        """Store every file under ``out_dir`` as a blob; returns them in path order."""
        found: list[CollectedFile] = []
        for path, host in _walk_files(out_dir, ""):
            ref = self._blobs.put_stream(_read(host))
            found.append(CollectedFile(path, ref.hash, ref.size))
        found.sort(key=lambda f: f.path)
        return found

    def remove(self, path: Path) -> None:
        remove_tree(path)


def _walk_files(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        path = f"{prefix}/{entry.name}"
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk_files(Path(entry.path), path)
            elif entry.is_file(follow_symlinks=True):
                yield path, Path(entry.path)
        except OSError:
            continue


def _read(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            yield chunk


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything under it, even read-only directories user code left."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            clear_dir(path)
            path.rmdir()
        else:
            path.unlink()
