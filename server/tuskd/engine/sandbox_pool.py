"""Sandboxes (and their helpers) kept across jobs."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from tuskd.engine.sandbox_attempt import Isolation
from tuskd.engine.sandbox_runner import Sandbox

_EXPECT_SECONDS = 10.0
"""How long ``acquire`` waits for an announced sandbox before it starts a new helper."""


class SandboxPool:
    """Sandboxes (and their helpers) kept across jobs: a job's slots take them and give them
    back at the job's end, so a helper starts once per worker for the server's life.

    A job's end may announce its sandboxes (``expect``) and release them later, from another
    thread (a sandbox's reset costs a round trip to its helper and a ``/proc`` scan): meanwhile
    ``acquire`` waits for one of them rather than start a new helper."""

    def __init__(
        self, *, isolation: Isolation | None = None, env: Mapping[str, str] | None = None, max_idle: int = 8
    ) -> None:
        self._isolation = isolation
        self._env = dict(env or {})
        self._max_idle = max_idle
        self._idle: list[Sandbox] = []
        self._expected = 0  # announced by ``expect`` and not released yet
        self._cond = threading.Condition()
        self._closed = False

    def acquire(self) -> Sandbox:
        with self._cond:
            deadline = time.monotonic() + _EXPECT_SECONDS
            while not self._idle and self._expected and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break  # a reset that hangs must not hold every job up: start a helper
                self._cond.wait(left)
            if self._idle:
                return self._idle.pop()
        return Sandbox(isolation=self._isolation, env=self._env)

    def expect(self, count: int) -> None:
        """``count`` sandboxes will come back through ``release(..., expected=True)``."""
        with self._cond:
            self._expected += count

    def release(self, sandbox: Sandbox, *, expected: bool = False) -> None:
        """Take back a sandbox whose attempts are over (its mounts are dropped)."""
        reset = False
        try:
            sandbox.reset()
            reset = True
        finally:
            with self._cond:
                if expected:
                    self._expected -= 1
                keep = reset and not self._closed and len(self._idle) < self._max_idle
                if keep:
                    self._idle.append(sandbox)
                self._cond.notify_all()
            if not keep:
                sandbox.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for sandbox in idle:
            sandbox.close()
