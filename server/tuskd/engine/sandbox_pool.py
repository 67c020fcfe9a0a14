"""Sandboxes (and their helpers) kept across jobs."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from tuskd.engine.sandbox_attempt import Isolation
from tuskd.engine.sandbox_runner import Sandbox


class SandboxPool:
    """Sandboxes (and their helpers) kept across jobs: a job's slots take them and give them
    back at the job's end, so a helper starts once per worker for the server's life."""

    def __init__(
        self, *, isolation: Isolation | None = None, env: Mapping[str, str] | None = None, max_idle: int = 8
    ) -> None:
        self._isolation = isolation
        self._env = dict(env or {})
        self._max_idle = max_idle
        self._idle: list[Sandbox] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> Sandbox:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Sandbox(isolation=self._isolation, env=self._env)

    def release(self, sandbox: Sandbox) -> None:
        """Take back a sandbox whose attempts are over (its mounts are dropped)."""
        sandbox.reset()
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(sandbox)
                return
        sandbox.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for sandbox in idle:
            sandbox.close()
