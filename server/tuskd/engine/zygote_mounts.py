"""The namespace helper's mounts: libc's mount calls, entering a private mount (and, as root, PID)
namespace, and making the server's data directory read-only inside it.

Imported by the namespace helper (engine/zygote.py, run as ``python -I -S``): standard library only,
apart from the other ``zygote_*`` modules.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MNT_DETACH = 0x2
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1

# statvfs flags a read-only remount of a bind mount must keep (the kernel refuses to drop the
# ones locked by a less privileged user namespace, and dropping the others is not intended).
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)


_libc: Any = None


def _lib() -> Any:
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
        libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        libc.unshare.argtypes = [ctypes.c_int]
        _libc = libc
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str | None, target: str, flags: int, fstype: str | None = None) -> None:
    src = None if source is None else os.fsencode(source)
    kind = None if fstype is None else fstype.encode()
    _check(_lib().mount(src, os.fsencode(target), kind, flags, None), f"mount {source or ''} on {target}")


def umount(target: str) -> None:
    _check(_lib().umount2(os.fsencode(target), MNT_DETACH), f"umount {target}")


def kept_flags(path: str) -> int:
    """The mount flags a bind remount of ``path`` must keep (the kernel refuses to drop them)."""
    kept = 0
    flags = os.statvfs(path).f_flag
    for st_flag, ms_flag in _KEPT_FLAGS:
        if flags & st_flag:
            kept |= ms_flag
    return kept


def protect(paths: str) -> None:
    """Make each directory in ``paths`` read-only inside this namespace (recursively), so user
    code cannot touch the store, the blobs or other datums' files through their host paths."""
    for path in filter(None, paths.split(os.pathsep)):
        if os.path.isdir(path):
            mount(path, path, MS_BIND | MS_REC)
            mount(None, path, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(path))


def ensure_writable(path: str) -> None:
    """Give a directory under a protected one its own writable mount (once: a mount that is
    already writable is left alone, so mounts never pile up)."""
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        mount(path, path, MS_BIND)
        mount(None, path, MS_REMOUNT | MS_BIND | kept_flags(path))


def enter_namespace() -> None:
    """Leave the server's mount namespace, make mounts private, become a child subreaper."""
    lib = _lib()
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER
    _check(lib.unshare(flags), "unshare")
    if uid != 0:
        for name, value in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(value)
    mount(None, "/", MS_REC | MS_PRIVATE)
    _check(lib.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


def enter_pid_namespace() -> bool:
    """As root: fork into a new PID namespace (see engine/zygote.py). Returns in the child
    (PID 1), with its own ``/proc`` mounted; the parent never returns: it waits for the child
    and exits with its status. False (nothing changed) when not root."""
    if os.geteuid() != 0:
        return False
    lib = _lib()
    _check(lib.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
    child = os.fork()
    if child == 0:
        _check(lib.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
        with contextlib.suppress(OSError):
            umount("/proc")  # the host's, with whatever is mounted below it
        mount("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc")
        return True
    _wait_for_init(child)
    raise AssertionError("unreachable")


def _wait_for_init(child: int) -> None:
    """The parent's whole life: pass termination signals on, exit as the child did."""

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, forward)
    for fd in range(3, 1024):  # the control socket: the engine must see it close with the child
        with contextlib.suppress(OSError):
            os.close(fd)
    while True:
        try:
            _, status = os.waitpid(child, 0)
        except InterruptedError:
            continue
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
