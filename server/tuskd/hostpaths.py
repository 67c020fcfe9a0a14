"""Paths on the server's own disk that clients name (file:// sources, egress directories):
resolving them, and telling whether they lie inside a directory (the data directory above all).

Resolution follows every symlink (``os.path.realpath``), so a link cannot smuggle a path into a
directory that the plain text of the path avoids.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tuskd.domain import paths

__all__ = ["fd_path", "inside", "real"]


def real(path: str | Path) -> str:
    """The absolute path with every symlink resolved (missing trailing parts kept as written)."""
    return os.path.realpath(path)


def inside(path: str | Path, roots: Iterable[str | Path]) -> bool:
    """Whether the resolved ``path`` is one of the resolved ``roots`` or lies under one."""
    resolved = real(path)
    return any(paths.is_within(resolved, real(root)) for root in roots)


def fd_path(fd: int) -> str:
    """The path the kernel has for an open descriptor (what was really opened)."""
    return os.readlink(f"/proc/self/fd/{fd}")
