"""Lay out one datum's private working tree and collect what its user code wrote.

A running job gets a :class:`JobSpace`; each of its concurrently running datums borrows a
*slot* (reused datum after datum, and job after job: engine/slot_pool.py) holding::

    <work root>/<slot>/in/<input name>/<path in the repo>   the datum's input files
    <work root>/<slot>/out/                                  appears at /pfs/out
    <work root>/<slot>/tmp/                                  the user code's TMPDIR
    <scratch root>/<slot>/                                   the sandbox's private space

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
* Each slot holds a :class:`~tuskd.engine.sandbox.Sandbox` (when the workspace has a pool of
  them) for the slot's life: its namespace helper mounts the slot's directories once and keeps
  them mounted datum after datum, which is why a slot's ``in/<name>``, ``out`` and scratch
  directories are emptied and refilled, never removed and recreated, while the slot lives.
  Between two jobs the slot is tidied: its sandbox reset (leftover processes killed, the layout
  unmounted) and its tree emptied.
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
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from tuskd.blobs.base import BlobStore
from tuskd.engine.datum_tree import DatumTree, InputFile, LaidOutInput, Slot, remove_tree
from tuskd.engine.janitor import Janitor
from tuskd.engine.outputs import DEFAULT_OUTPUT_LIMIT, CollectedFile, collect_outputs
from tuskd.engine.sandbox import SandboxPool
from tuskd.engine.slot_pool import SlotPool

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
    """Datum trees (slots) under ``root``, their sandboxes' scaffolding under ``scratch_root``.

    ``sandboxes``: where new slots take their sandbox from (closed with the workspace);
    ``output_limit``: bytes of output one datum may produce; ``keep``: slots kept between jobs.
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
        keep: int = 8,
    ) -> None:
        self.root = root
        self.scratch_root = scratch_root or root / ".scratch"
        self._blobs = blobs
        self._link = link
        self.sandboxes = sandboxes
        self.output_limit = output_limit
        self.janitor = Janitor()  # tidies the slots jobs gave back, off the jobs' path
        self.slots = SlotPool(self._new_slot, self.discard, self.janitor, keep)

    def reset(self) -> None:
        """Remove everything an earlier server left (call when no job runs)."""
        remove_tree(self.root)
        remove_tree(self.scratch_root)
        self.root.mkdir(parents=True, exist_ok=True)

    def open_job(self, name: str) -> JobSpace:
        """The slots of one job (``name``: for logs only; slots are shared between jobs)."""
        return JobSpace(self, name)

    def close(self) -> None:
        """Remove every slot (no datum may be running) and stop their sandboxes."""
        self.janitor.close()  # what jobs gave back is tidied first
        for slot in self.slots.close():
            self.discard(slot)
        if self.sandboxes is not None:
            self.sandboxes.close()
        remove_tree(self.scratch_root)

    def _new_slot(self, number: int) -> Slot:
        base = self.root / str(number)
        slot = Slot(base, self.scratch_root / str(number), base / "in", base / "out", base / "tmp", link=self._link)
        for directory in (slot.in_root, slot.out_dir, slot.tmp_dir, slot.scratch):
            directory.mkdir(parents=True, exist_ok=True)
        if self.sandboxes is not None:
            slot.sandbox = self.sandboxes.acquire()
        return slot

    def discard(self, slot: Slot) -> None:
        """Remove ``slot`` for good: its sandbox stopped, its directories removed."""
        if slot.sandbox is not None:
            slot.sandbox.close()  # maybe in an unknown state: not given back to the pool
            slot.sandbox = None
        remove_tree(slot.root)
        remove_tree(slot.scratch)

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
    """The slots one running job borrowed: its datums take turns in them; ``retire`` (or
    ``close``) gives them back to the workspace when the job's datums are over."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self._ws = workspace
        self.name = name
        self._lock = threading.Lock()
        self._free: list[Slot] = []

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot]:
        with self._lock:
            slot = self._free.pop() if self._free else None
        if slot is None:
            slot = self._ws.slots.take()
        try:
            yield slot
        except BaseException:
            self._ws.discard(slot)  # in an unknown state: never reused
            raise
        with self._lock:
            self._free.append(slot)

    def prepare(self, slot: Slot, inputs: Sequence[LaidOutInput]) -> DatumTree:
        """Make ``slot`` hold exactly ``inputs``, with ``out`` and ``tmp`` empty."""
        return slot.prepare(inputs, self._ws._blobs)

    def close(self) -> None:
        """Give the slots back tidied (on this thread; no datum of the job may be running)."""
        self._ws.slots.give_back(self._take(), clean=True)

    def retire(self) -> None:
        """Give the slots back without waiting: the workspace's janitor tidies them (or the
        next job that takes one first)."""
        self._ws.slots.give_back(self._take())

    def _take(self) -> list[Slot]:
        with self._lock:
            slots, self._free = self._free, []
        return slots


