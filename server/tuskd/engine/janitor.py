"""One background thread for the engine's housekeeping, kept off the jobs' path.

A job's end leaves work that nobody waits for: its sandboxes' reset, its datum trees' removal.
Done on the job's thread it delays the job's SUCCESS; done at once on another thread it still
competes with the job's last writes for the interpreter (the GIL: a few milliseconds of
``rmdir`` calls stretch the job's finish by as much). The janitor runs each piece of work no
sooner than its delay, in the order of their due times, one at a time.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Janitor"]

log = logging.getLogger(__name__)


class Janitor:
    """Runs work handed to it on one thread (started on demand), each no sooner than its delay."""

    def __init__(self, name: str = "tusk-janitor") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closing = False

    def submit(self, work: Callable[[], None], delay: float = 0.0) -> None:
        """Run ``work`` in ``delay`` seconds (at once after ``close`` began)."""
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), work))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Run everything handed over so far without waiting for its time, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._due:
                        if self._closing:
                            self._thread = None
                            return
                        self._cond.wait()
                        continue
                    wait = self._due[0][0] - time.monotonic()
                    if wait <= 0 or self._closing:
                        break
                    self._cond.wait(wait)
                _, _, work = heapq.heappop(self._due)
            try:
                work()
            except Exception:
                log.exception("housekeeping failed")
