"""The namespace helper's ``/pfs`` layout: a private directory of mount points bound on ``/pfs``,
each input read-only on ``/pfs/<name>`` and the output writable on ``/pfs/out``.

Imported by the namespace helper (engine/zygote.py, run as ``python -I -S``): standard library only,
apart from the other ``zygote_*`` modules.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any

from tuskd.engine.zygote_mounts import MS_BIND, MS_RDONLY, MS_REMOUNT, ensure_writable, kept_flags, mount

PFS_ROOT = "/pfs"
OUT_NAME = "out"


class LayoutError(Exception):
    """The /pfs layout could not be mounted."""


def _same(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


class Layout:
    """What ``/pfs`` shows: ``root`` (a private directory of mount points) on /pfs, each input
    read-only on /pfs/<name>, ``out`` writable on /pfs/out."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.root: str = spec["root"]
        self.inputs: list[tuple[str, str, bool]] = [(n, h, bool(d)) for n, h, d in spec["inputs"]]
        self.out: str = spec["out"]
        self.tmp: str = spec.get("tmp", "")  # the user code's TMPDIR: writable like out
        self.names = {name for name, _, _ in self.inputs} | {OUT_NAME}

    def key(self) -> tuple[object, ...]:
        return (self.root, tuple(self.inputs), self.out)

    def intact(self) -> bool:
        """The mounts show the right directories (a replaced source or a mount user code
        removed shows up here), and the inputs are still read-only."""
        if not _same(self.root, PFS_ROOT) or not _same(self.out, f"{PFS_ROOT}/{OUT_NAME}"):
            return False
        for name, host, _ in self.inputs:
            target = f"{PFS_ROOT}/{name}"
            if not _same(host, target):
                return False
            try:
                if not os.statvfs(target).f_flag & os.ST_RDONLY:
                    return False
            except OSError:
                return False
        return True

    def prune_root(self) -> None:
        """Remove what user code left in the /pfs root itself (not under a mount point)."""
        with os.scandir(self.root) as entries:
            stray = [e for e in entries if e.name not in self.names]
        for entry in stray:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)

    def mount(self) -> None:
        # What this attempt may write, carved out of the read-only data directory.
        for path in (os.path.dirname(self.root), self.out, self.tmp):
            if path and os.path.isdir(path):
                ensure_writable(path)
        os.makedirs(self.root, exist_ok=True)
        self.prune_root()
        for name, _, is_dir in self.inputs:
            point = os.path.join(self.root, name)
            if is_dir:
                if not os.path.isdir(point):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(point)
                    os.mkdir(point)
            elif not os.path.isfile(point):
                if os.path.isdir(point):
                    os.rmdir(point)
                open(point, "ab").close()
        os.makedirs(os.path.join(self.root, OUT_NAME), exist_ok=True)
        mount(self.root, PFS_ROOT, MS_BIND)
        for name, host, _ in self.inputs:
            target = f"{PFS_ROOT}/{name}"
            mount(host, target, MS_BIND)
            mount(None, target, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(target))
        mount(self.out, f"{PFS_ROOT}/{OUT_NAME}", MS_BIND)
