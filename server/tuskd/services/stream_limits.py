"""Caps the number of long waits and streams open at once, per kind, so they cannot take the
RPC threads every other call needs.

Each open WaitJob, SubscribeJob, SubscribeCommit, GetLogs(follow) or wait-flavoured Inspect*
holds one server thread until it ends. Each kind may have ``limit`` of them open at once; one
more is answered RESOURCE_EXHAUSTED at once, with a message saying how to raise the limit. The
thread pool is sized ``rpc_workers + limit * len(STREAM_KINDS)`` (see tuskd.app), so however
many streams clients attempt, ``rpc_workers`` threads stay for unary calls, uploads and listings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tuskd.domain.errors import ResourceExhausted

__all__ = ["STREAM_KINDS", "StreamLimits"]

# Every kind of call that may stay open indefinitely: the keys servicers pass to enter().
STREAM_KINDS = (
    "WaitJob",
    "SubscribeJob",
    "SubscribeCommit",
    "GetLogs with follow",
    "InspectJob with wait",
    "InspectJobSet with wait",
    "InspectCommit with wait",
    "InspectCommitSet with wait",
    "CreateDatum",  # waits for the client's next "continue"
)


class StreamLimits:
    """Counts the open streams of each kind against one per-kind limit."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the per-kind stream limit must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._open = dict.fromkeys(STREAM_KINDS, 0)

    def open_count(self, kind: str) -> int:
        return self._open[kind]

    def enter(self, kind: str) -> Callable[[], None]:
        """Take a slot of ``kind``, or ResourceExhausted when all are taken; returns the
        idempotent function that gives the slot back."""
        with self._lock:
            if self._open[kind] >= self.limit:
                raise ResourceExhausted(
                    f"this server allows at most {self.limit} open {kind} calls at once and all are "
                    "in use; retry when some have ended, or raise the limit (tusk serve "
                    "--max-streams N, $TUSK_MAX_STREAMS, or ServerConfig.max_streams_per_kind)",
                    reason="TOO_MANY_STREAMS",
                    kind=kind,
                    limit=str(self.limit),
                )
            self._open[kind] += 1
        left = threading.Event()

        def leave() -> None:
            with self._lock:
                if left.is_set():
                    return
                left.set()
                self._open[kind] -= 1

        return leave
