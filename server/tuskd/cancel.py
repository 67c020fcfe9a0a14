"""Cancelling a blocking wait: the token a caller flips, and the two ways a wait ends early.

Every layer that waits or lets others wait shares these: transport flips a token when a call
ends, services' waits and the job engine's runners watch one, and both raise
:class:`WaitCancelled` or :class:`ServerShuttingDown` (domain errors, so each maps to its status
code like any other). They live below the engine and the services so both can use them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tuskd.domain.errors import Aborted, Unavailable

__all__ = ["CancelToken", "ServerShuttingDown", "WaitCancelled"]


class WaitCancelled(Aborted):
    """A blocking wait ended because its caller went away (or asked to stop)."""

    reason = "WAIT_CANCELLED"


class ServerShuttingDown(Unavailable):
    """A blocking wait ended because the server is stopping."""

    reason = "SHUTTING_DOWN"


class CancelToken:
    """A one-way switch that runs callbacks when flipped; thread-safe and idempotent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next = 0

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for callback in callbacks:
            callback()

    def add_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` on cancel (now, if already cancelled); returns a remover."""
        with self._lock:
            if not self._cancelled:
                key = self._next
                self._next += 1
                self._callbacks[key] = callback
                return lambda: self._remove(key)
        callback()
        return lambda: None

    def _remove(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)
