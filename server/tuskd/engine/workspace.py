"""Lay out one datum's private working tree and collect what its user code wrote.

A running job gets a :class:`JobSpace`; each of its concurrently running datums borrows a
*slot* (one per worker, reused datum after datum) holding::

    <work root>/<job>/<slot>/in/<input name>/<path in the repo>   the datum's input files
    <work root>/<job>/<slot>/out/                                  appears at /pfs/out
    <work root>/<job>/<slot>/tmp/                                  the user code's TMPDIR
    <scratch root>/<job>/<slot>/                                   the sandbox's private space

``in/<input name>`` is what the sandbox shows at ``/pfs/<input name>``, so user code finds an
input file at ``/pfs/<input name>/<path in the repo>`` exactly as in Pachyderm (a glob that
matched a directory brings its whole subtree; ``/`` brings the whole commit).

Cost per datum is a few metadata operations, because metadata operations are what a datum of a
small program costs most on a real disk (a mkdir or a file creation can take a millisecond):

* Input files are hard links to the content-addressed blobs, never copies. That is safe only
  where the inputs are mounted read-only (the namespace sandbox): blobs are shared by every file
  and commit with the same content, and user code runs as the server's user, so a write through
  a hard link would corrupt them. Without a read-only mount (``link=False``, the fallback
  sandbox) files are copied. A failed link (another filesystem) falls back to a copy too.
* Slots are reused: the next datum unlinks the previous datum's input links (and the
  directories made for them) and links its own; ``out`` and ``tmp`` are emptied, not remade.
* Each slot holds a :class:`~tuskd.engine.sandbox.Sandbox` taken from the workspace's pool
  (when it has one) for the job's life: its namespace helper mounts the slot's directories once
  and keeps them mounted datum after datum, which is why a slot's ``in/<name>``, ``out`` and
  scratch directories are emptied and refilled, never removed and recreated, while the slot
  lives. The sandbox goes back to the pool when the job's space closes.
* The sandbox's scaffolding (its /pfs root of mount points) lives under the scratch root, a
  tmpfs (``/dev/shm``) where there is one. Nothing big goes there: outputs and TMPDIR stay on
  the data directory's disk.

Collecting ``out/`` is engine/outputs.py's job: regular files only (a symlink, a FIFO, a socket
or a device fails the datum), within the per-datum size limit, under the datum's deadline and
cancel event.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuskd.blobs.base import BlobStore
from tuskd.engine.datum_runner import clear_dir
from tuskd.engine.janitor import Janitor
from tuskd.engine.outputs import DEFAULT_OUTPUT_LIMIT, CollectedFile, collect_outputs
from tuskd.engine.sandbox import Sandbox, SandboxPool

__all__ = [
    "CollectedFile",
    "DatumTree",
    "InputFile",
    "JobSpace",
    "LaidOutInput",
    "Slot",
    "Workspace",
    "default_scratch_root",
    "remove_tree",
]

log = logging.getLogger(__name__)

REMOVE_AFTER_SECONDS = 1.0
"""A retired job space's trees are removed this long after the job's datums end (its sandboxes
are reset at once): the job's last writes then do not share the interpreter with the removal."""


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
    """One reusable datum tree; used by one datum at a time."""

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
        self._clear_inputs()
        clear_dir(self.out_dir)
        clear_dir(self.tmp_dir)
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


def default_scratch_root(engine_id: str) -> Path | None:
    """A per-server directory on ``/dev/shm`` when it is a writable tmpfs, else None."""
    shm = Path("/dev/shm")
    try:
        if not shm.is_dir() or not os.access(shm, os.W_OK | os.X_OK):
            return None
        if os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize < 64 << 20:
            return None
    except OSError:
        return None
    return shm / f"tusk-{engine_id}"


class Workspace:
    """Datum trees under ``root`` (one directory per running job); scratch under ``scratch_root``.

    ``sandboxes``: where slots take their sandbox from (closed with the workspace);
    ``output_limit``: bytes of output one datum may produce.
    """

    def __init__(
        self,
        root: Path,
        blobs: BlobStore,
        *,
        link: bool = True,
        scratch_root: Path | None = None,
        sandboxes: SandboxPool | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self.root = root
        self.scratch_root = scratch_root or root / ".scratch"
        self._blobs = blobs
        self._link = link
        self.sandboxes = sandboxes
        self.output_limit = output_limit
        self.janitor = Janitor()  # closes retired job spaces off the jobs' path

    def reset(self) -> None:
        """Remove everything an earlier server left (call when no job runs)."""
        remove_tree(self.root)
        remove_tree(self.scratch_root)
        self.root.mkdir(parents=True, exist_ok=True)

    def open_job(self, name: str) -> JobSpace:
        return JobSpace(self, self.root / name, self.scratch_root / name)

    def close(self) -> None:
        self.janitor.close()  # the retired spaces' sandboxes go back first
        if self.sandboxes is not None:
            self.sandboxes.close()
        remove_tree(self.scratch_root)

    # -- shared by job spaces -----------------------------------------------------------------

    def collect(
        self,
        out_dir: Path,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
        timeout: float | None = None,
    ) -> list[CollectedFile]:
        """Store every file under ``out_dir`` as a blob (not yet durable: the caller flushes the
        blob store before recording them); returns them in path order. OutputError when they
        cannot be collected, OutputCancelled on ``cancel`` (engine/outputs.py)."""
        return collect_outputs(
            out_dir, self._blobs, limit=self.output_limit, cancel=cancel, deadline=deadline, timeout=timeout
        )


class JobSpace:
    """The datum trees of one running job: slots borrowed by datums, removed at ``close``."""

    def __init__(self, workspace: Workspace, root: Path, scratch: Path) -> None:
        self._ws = workspace
        self.root = root
        self._scratch = scratch
        self._lock = threading.Lock()
        self._free: list[Slot] = []
        self._count = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot]:
        with self._lock:
            slot = self._free.pop() if self._free else None
            if slot is None:
                self._count += 1
                number = self._count
        if slot is None:
            base = self.root / str(number)
            slot = Slot(base, self._scratch / str(number), base / "in", base / "out", base / "tmp", link=self._ws._link)
            for directory in (slot.in_root, slot.out_dir, slot.tmp_dir, slot.scratch):
                directory.mkdir(parents=True, exist_ok=True)
            if self._ws.sandboxes is not None:
                slot.sandbox = self._ws.sandboxes.acquire()
        try:
            yield slot
        except BaseException:
            self._discard(slot)  # in an unknown state: never reused
            raise
        with self._lock:
            self._free.append(slot)

    def _discard(self, slot: Slot) -> None:
        if slot.sandbox is not None:
            slot.sandbox.close()  # in an unknown state too: not given back to the pool
            slot.sandbox = None
        remove_tree(slot.root)
        remove_tree(slot.scratch)

    def prepare(self, slot: Slot, inputs: Sequence[LaidOutInput]) -> DatumTree:
        """Make ``slot`` hold exactly ``inputs``, with ``out`` and ``tmp`` empty."""
        return slot.prepare(inputs, self._ws._blobs)

    def close(self) -> None:
        """Give the sandboxes back and remove every slot (no datum of the job may be running)."""
        self._close(self._take_sandboxes(), expected=False)

    def retire(self) -> None:
        """``close`` without waiting for it: the sandboxes are announced to the pool now (so
        the next job waits for them rather than start helpers) and reset on the workspace's
        janitor thread; the slots are removed there ``REMOVE_AFTER_SECONDS`` later."""
        sandboxes = self._take_sandboxes()
        if self._ws.sandboxes is not None:
            self._ws.sandboxes.expect(len(sandboxes))
        self._ws.janitor.submit(lambda: self._release(sandboxes, expected=True))
        self._ws.janitor.submit(self._remove, REMOVE_AFTER_SECONDS)

    def _take_sandboxes(self) -> list[Sandbox]:
        with self._lock:
            slots, self._free = self._free, []
        sandboxes = []
        for slot in slots:
            if slot.sandbox is not None:
                sandboxes.append(slot.sandbox)
                slot.sandbox = None
        return sandboxes

    def _close(self, sandboxes: list[Sandbox], *, expected: bool) -> None:
        self._release(sandboxes, expected=expected)
        self._remove()

    def _release(self, sandboxes: list[Sandbox], *, expected: bool) -> None:
        for sandbox in sandboxes:  # reset (mounts dropped) before the trees go
            try:
                if self._ws.sandboxes is not None:
                    self._ws.sandboxes.release(sandbox, expected=expected)
                else:
                    sandbox.close()
            except Exception:
                log.exception("could not give a sandbox back")

    def _remove(self) -> None:
        remove_tree(self.root)
        remove_tree(self._scratch)


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything under it, even read-only directories user code left."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            clear_dir(path)
            path.rmdir()
        else:
            path.unlink()
