"""A datum's tree on disk: the inputs it reads, the directories it writes, reused datum after datum.

A :class:`Slot` is one such tree (its layout is in engine/workspace.py's docstring); ``prepare``
makes it hold exactly one datum's inputs, ``clear`` empties it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuskd.blobs.base import BlobStore
from tuskd.engine.datum_runner import clear_dir
from tuskd.engine.sandbox import Sandbox

__all__ = ["DatumTree", "InputFile", "LaidOutInput", "Slot", "remove_tree"]


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


@dataclass(frozen=True)
class DatumTree:
    """A laid-out datum: host directories for the sandbox and what laying out cost."""

    inputs: Mapping[str, Path]
    out_dir: Path
    tmp_dir: Path
    scratch_dir: Path
    bytes: int
    seconds: float


@dataclass(eq=False)
class Slot:
    """One reusable datum tree with its sandbox; used by one datum at a time, kept across jobs
    (engine/slot_pool.py)."""

    root: Path
    scratch: Path
    in_root: Path
    out_dir: Path
    tmp_dir: Path
    names: set[str] = field(default_factory=set)  # input dirs that exist under in/
    files: list[Path] = field(default_factory=list)  # links made for the current datum
    dirs: list[Path] = field(default_factory=list)  # directories made for them, in order
    sandbox: Sandbox | None = None  # from the workspace's pool; None without one
    link: bool = True  # inputs are hard links to blobs (only behind read-only mounts)

    def prepare(self, inputs: Sequence[LaidOutInput], blobs: BlobStore) -> DatumTree:
        """Hold exactly ``inputs`` (placed from ``blobs``), with ``out`` and ``tmp`` empty."""
        started = time.monotonic()
        self.clear()
        made: set[Path] = set()
        dirs: dict[str, Path] = {}
        total = 0
        for item in inputs:
            base = dirs.get(item.name)
            if base is None:
                base = dirs[item.name] = self.in_root / item.name
                if item.name not in self.names:
                    base.mkdir(exist_ok=True)
                    self.names.add(item.name)
                made.add(base)
            for file in item.files:
                rel = file.path.lstrip("/")
                if not rel:
                    continue
                target = base / rel
                self._make_parents(target.parent, made)
                # False: the same path brought twice (e.g. by two group members).
                if blobs.materialize(file.blob, target, link=self.link):
                    self.files.append(target)
                    total += file.size
        return DatumTree(dirs, self.out_dir, self.tmp_dir, self.scratch, total, time.monotonic() - started)

    def clear(self) -> None:
        """Hold nothing: no inputs, ``out`` and ``tmp`` empty (what the last datum left goes)."""
        self._clear_inputs()
        clear_dir(self.out_dir)
        clear_dir(self.tmp_dir)

    def _make_parents(self, directory: Path, made: set[Path]) -> None:
        if directory in made:
            return
        missing: list[Path] = []
        while directory not in made and not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for new in reversed(missing):
            new.mkdir()
            made.add(new)
            self.dirs.append(new)
        made.add(directory)

    def _clear_inputs(self) -> None:
        if not self.link:
            # Copies are writable: user code may have added files anywhere under in/.
            clear_dir(self.in_root)
            self.names.clear()
            self.files.clear()
            self.dirs.clear()
            return
        for path in self.files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.files.clear()
        for directory in reversed(self.dirs):
            try:
                directory.rmdir()
            except OSError:  # not empty: something unexpected is in there; start clean
                remove_tree(directory)
        self.dirs.clear()



def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything under it, even read-only directories user code left."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            clear_dir(path)
            path.rmdir()
        else:
            path.unlink()
