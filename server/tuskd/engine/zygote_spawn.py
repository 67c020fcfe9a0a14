"""How the namespace helper starts an attempt's command: the program found on ``PATH`` by execvp's
rules, spawned in a new session (``posix_spawn``: one vfork and exec, no Python in between) with its
standard streams on the descriptors the engine passed.

Imported by the namespace helper (engine/zygote.py, run as ``python -I -S``): standard library only,
apart from the other ``zygote_*`` modules.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Sequence

_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Python ignores these; a spawned program must get the default actions back (as subprocess does).
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


class WorkingDirError(Exception):
    """The working directory does not exist (exit 125)."""


def find_program(name: str, path: str) -> str:
    """Where ``name`` is on ``path`` (execvp's rules, by stat instead of failed execs): the first
    executable file; else the first file found (its exec fails with EACCES, exit 126); else
    FileNotFoundError (exit 127). A name with a slash is used as it is."""
    if "/" in name:
        return name
    found = None
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            found = found or candidate
    if found is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
    return found


def spawn(cmd: Sequence[str], env: dict[str, str], cwd: str, stdin_fd: int, out_fd: int) -> int:
    """Start ``cmd`` in a new session with stdin and stdout+stderr on the given descriptors;
    its pid. Every other descriptor of this process is close-on-exec. OSError as exec reports
    it; WorkingDirError when the working directory is bad."""
    program = find_program(cmd[0], env.get("PATH", _DEFAULT_PATH))
    return _spawn(program, cmd, env, cwd, stdin_fd, out_fd)


def _spawn(program: str, cmd: Sequence[str], env: dict[str, str], cwd: str, stdin_fd: int, out_fd: int) -> int:
    try:
        os.chdir(cwd)  # this process is single-threaded: the child starts there
    except OSError as exc:
        raise WorkingDirError(f"cannot change to working directory {cwd}") from exc
    try:
        return os.posix_spawn(
            program,
            list(cmd),
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_fd, 0),
                (os.POSIX_SPAWN_DUP2, out_fd, 1),
                (os.POSIX_SPAWN_DUP2, out_fd, 2),
            ],
            setsid=True,
            setsigdef=_RESET_SIGNALS,
        )
    finally:
        os.chdir("/")
