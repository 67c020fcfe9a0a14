"""Output buffering for an attempt: the bounded head-and-tail log buffer, the attempt's pipes and a
poll-based wait for a descriptor. See :mod:`tuskd.engine.sandbox`."""

from __future__ import annotations

import os
import select
from collections import deque

_MARKER_RESERVE = 64  # room kept in the log for the elision marker


class _LogBuffer:
    """Combined output with bounded memory: the first and last bytes, the middle counted only."""

    def __init__(self, limit: int) -> None:
        self._limit = max(limit, 0)
        if self._limit >= 2 * _MARKER_RESERVE:
            self._head_cap = (self._limit - _MARKER_RESERVE) // 2
            self._tail_cap = self._limit - _MARKER_RESERVE - self._head_cap
        else:
            self._head_cap = self._limit
            self._tail_cap = 0
        # Keep everything past the head while the total still fits, so short logs stay whole.
        self._tail_keep = self._limit - self._head_cap
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk or self._tail_keep == 0:
            return
        self._tail.append(chunk)
        self._tail_len += len(chunk)
        while self._tail_len - len(self._tail[0]) >= self._tail_keep:
            self._tail_len -= len(self._tail.popleft())

    def value(self) -> tuple[bytes, bool]:
        tail = b"".join(self._tail)
        if self.total <= self._limit:
            return bytes(self._head) + tail, False
        if self._tail_cap == 0:
            return bytes(self._head), True
        elided = self.total - self._head_cap - self._tail_cap
        marker = f"\n[tusk: {elided} bytes of output elided]\n".encode()
        return bytes(self._head) + marker + tail[-self._tail_cap :], True


def _readable(fd: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``fd`` to be readable (or hung up). poll, not select:
    a busy server's descriptors go past select's limit."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(timeout, 0.0) * 1000))


def _pipes(stdin_data: bytes) -> tuple[int, int, int | None, int | None]:
    """(out read end, out write end, stdin read end, stdin write end); no stdin pipe without data."""
    out_r, out_w = os.pipe()
    if not stdin_data:
        return out_r, out_w, None, None
    try:
        in_r, in_w = os.pipe()
    except BaseException:
        os.close(out_r)
        os.close(out_w)
        raise
    return out_r, out_w, in_r, in_w
