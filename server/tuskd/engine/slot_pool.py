"""Datum trees (slots) and their sandboxes kept across jobs.

Making a slot costs a handful of ``mkdir`` calls and a sandbox (a helper process); removing one
costs as many ``rmdir`` calls. Per job that is milliseconds on the job's path, and more while
another thread of the server competes for the interpreter. So slots outlive jobs: a job borrows
them from the pool and gives them back *dirty* when its datums end: their helpers are asked to
reset at once (every process left in the helper's tree killed, the layout unmounted: on the
helper's CPU, the server does not wait) and the slot is tidied (the reset's answer read; its
inputs, ``out`` and ``tmp`` emptied) on the janitor thread a little later, or by the next job
that takes it first. The pool keeps at most ``keep`` slots; the rest are removed.

Between two jobs' datums a slot is always tidied, so nothing of one job (a process, a file in
``out`` or ``tmp``) is there when the next one's code starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from tuskd.engine.datum_tree import Slot
from tuskd.engine.janitor import Janitor

__all__ = ["TIDY_AFTER_SECONDS", "SlotPool", "tidy"]

log = logging.getLogger(__name__)

TIDY_AFTER_SECONDS = 0.5
"""The janitor tidies the slots a job gave back this long after (the job's last writes then do
not share the interpreter with it); a job that takes one sooner tidies it itself."""
_TIDYING_WAIT_SECONDS = 10.0
"""How long ``take`` waits for a slot being tidied before it makes a new one instead."""


class SlotPool:
    """Slots kept across jobs: ``take`` one (clean), ``give_back`` a job's (dirty)."""

    def __init__(
        self,
        make: Callable[[int], Slot],
        discard: Callable[[Slot], None],
        janitor: Janitor,
        keep: int,
        tidy_after: float = TIDY_AFTER_SECONDS,
    ) -> None:
        self._make = make  # a new slot, numbered (its directories named by the number)
        self._discard = discard  # remove a slot for good (its sandbox, its directories)
        self._janitor = janitor
        self._keep = keep
        self._tidy_after = tidy_after
        self._cond = threading.Condition()
        self._clean: list[Slot] = []
        self._dirty: list[Slot] = []
        self._tidying = 0  # dirty slots the janitor is tidying now
        self._queued = False  # a tidy of the dirty ones is on the janitor's list
        self._made = 0
        self._closed = False

    def take(self) -> Slot:
        """A clean slot: a kept one, a dirty one tidied now, or a new one."""
        with self._cond:
            deadline = time.monotonic() + _TIDYING_WAIT_SECONDS
            while not self._clean and not self._dirty and self._tidying:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)  # one is nearly clean: cheaper than a new helper
            if self._clean:
                return self._clean.pop()
            slot = self._dirty.pop() if self._dirty else None
            if slot is None:
                self._made += 1
                number = self._made
        if slot is None:
            return self._make(number)
        try:
            tidy(slot)
        except BaseException:
            self._discard(slot)
            raise
        return slot

    def give_back(self, slots: Iterable[Slot], *, clean: bool = False) -> None:
        """Take back a job's slots (no datum running in them). ``clean``: tidy them now, on
        this thread; otherwise the janitor does, unless a job takes them first."""
        slots = list(slots)
        for slot in slots:
            if slot.sandbox is not None:
                slot.sandbox.begin_reset()  # the helpers reset meanwhile, on their own CPU
        if clean:
            for slot in slots:
                self._tidy_and_keep(slot)
            return
        with self._cond:
            self._dirty.extend(slots)
            queue = not self._queued and bool(self._dirty)
            self._queued = self._queued or queue
        if queue:
            self._janitor.submit(self._tidy_dirty, self._tidy_after)

    def close(self) -> list[Slot]:
        """Stop keeping slots; returns the kept ones (the caller discards them)."""
        with self._cond:
            self._closed = True
            kept, self._clean, self._dirty = self._clean + self._dirty, [], []
            self._cond.notify_all()
        return kept

    def _tidy_dirty(self) -> None:
        with self._cond:
            self._queued = False
        while True:
            with self._cond:
                if not self._dirty:
                    return
                slot = self._dirty.pop()
                self._tidying += 1
            try:
                self._tidy_and_keep(slot)
            finally:
                with self._cond:
                    self._tidying -= 1
                    self._cond.notify_all()

    def _tidy_and_keep(self, slot: Slot) -> None:
        try:
            tidy(slot)
        except Exception:
            log.exception("could not tidy a datum tree; it is removed")
            self._discard(slot)
            return
        with self._cond:
            keep = not self._closed and len(self._clean) < self._keep
            if keep:
                self._clean.append(slot)
                self._cond.notify_all()
        if not keep:
            self._discard(slot)


def tidy(slot: Slot) -> None:
    """Make a slot a job left ready for another: its sandbox reset, its tree emptied."""
    if slot.sandbox is not None:
        slot.sandbox.reset()
    slot.clear()
