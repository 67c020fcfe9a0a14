"""Run one attempt of a datum's user code and report how it ended.

The user process sees Pachyderm's layout: its inputs under ``/pfs/<input name>`` and its output
directory at ``/pfs/out``. Two ways of providing that, chosen once per server process by a cheap
probe (``detect_isolation``):

* ``Isolation.NAMESPACE`` (preferred; root, or an unprivileged user namespace): attempts are
  started by a long-lived namespace helper, the *zygote* (``engine/zygote.py``, one per
  :class:`Sandbox`), that lives in a private mount namespace of its own. The helper bind-mounts
  the attempt's pfs root (a directory of mount points in the scratch dir) on ``/pfs``, every
  input read-only on ``/pfs/<name>`` and the out dir writable on ``/pfs/out`` -- once: the
  engine reuses one sandbox per worker slot, whose directories stay in place datum after
  datum, so later attempts find the layout mounted and only check it is intact (a changed
  layout is remounted, which costs a few system calls). Per attempt the engine sends the
  command, environment and working directory over a socket with the ends of its output (and
  stdin) pipes; the helper spawns the process (``subprocess``'s fast vfork path) and reports
  its pid at once, then its exit status. Nothing is copied, nothing leaks into the host's
  mount table. The host needs an (empty) ``/pfs`` directory as mount point; the probe creates
  it when it is missing.
* ``Isolation.FALLBACK`` (no namespaces, or no ``/pfs`` mount point): the pfs root is a directory
  of symlinks (``<name>`` -> input dir, ``out`` -> out dir) and is the process's working
  directory, so relative paths (``in/a.txt``, ``out/b.txt``) work. Environment values and the
  working directory that start with ``/pfs`` are rewritten to the real host paths, but literal
  ``/pfs/...`` paths in the code itself do NOT work, and inputs are not write-protected. A
  warning is logged once when the probe settles on this mode. The engine starts the process
  itself.

In both modes the default working directory is the pfs root (``/pfs`` in a namespace), and a
relative ``working_dir`` is relative to it. The read-only inputs guard against mistakes, not
malice: user code runs with the server's privileges and, as root in its namespace, could remount
them (the helper checks the mounts before every attempt and remounts what was changed).

Process hygiene: the user process leads its own session and process group. The engine owns
timeouts and cancel: either sends SIGTERM to the whole group, waits ``TERM_GRACE_SECONDS``, then
sends SIGKILL. When the main process ends, whatever it left running in its group is killed
too. In namespace mode the helper is a *child subreaper*, so every process user code starts,
even one that left the group (``setsid``) or was orphaned, stays in the helper's process tree:
once the main process has exited the helper kills whatever is left in its tree before it
reports the exit (reading its own ``/proc/<pid>/task/<tid>/children`` costs one small read; no
``/proc`` scan). As a second line, processes in the helper's mount namespace are looked for in
``/proc`` after a timeout or a cancel, when a helper dies, and when a helper is retired or handed
back to the pool (the end of a job). In fallback mode escapees are out of reach. When an
attempt returns, no process of it is alive (zombies waiting for a parent to reap them are dead).
Output (stdout and stderr on one pipe, which the engine reads directly) is kept with bounded
memory: the head and the tail, with a marker where the middle was dropped.

A helper that dies (killed, crashed) during an attempt fails that attempt with the reason
``sandbox helper died (...)`` -- the datum's next try gets a new helper; one that died between
attempts is replaced silently.

Exit codes the sandbox itself produces: 125 when the /pfs layout or the working directory cannot
be set up, 126 when the command is not executable and 127 when it is not found (as a shell would).

This module only re-exports; the code lives in modules of one job each: ``sandbox_attempt`` (what
an attempt is and how it ended), ``sandbox_probe``, ``sandbox_layout`` (the /pfs layout and the
environment), ``sandbox_output`` (bounded output), ``sandbox_supervisor`` (pumping a running
attempt, stopping its group), ``sandbox_helper`` (the client of one zygote), ``sandbox_fallback``,
``sandbox_runner`` (:class:`Sandbox`, :func:`run_attempt`) and ``sandbox_pool``.
"""

from __future__ import annotations

from tuskd.engine.sandbox_attempt import AttemptResult, AttemptSpec, Isolation, format_seconds
from tuskd.engine.sandbox_helper import HelperError
from tuskd.engine.sandbox_layout import OUT_NAME, PFS_ROOT
from tuskd.engine.sandbox_output import _LogBuffer
from tuskd.engine.sandbox_pool import SandboxPool
from tuskd.engine.sandbox_probe import detect_isolation
from tuskd.engine.sandbox_runner import Sandbox, run_attempt
from tuskd.engine.sandbox_supervisor import TERM_GRACE_SECONDS

__all__ = [
    "OUT_NAME",
    "PFS_ROOT",
    "TERM_GRACE_SECONDS",
    "AttemptResult",
    "AttemptSpec",
    "HelperError",
    "Isolation",
    "Sandbox",
    "SandboxPool",
    "_LogBuffer",
    "detect_isolation",
    "format_seconds",
    "run_attempt",
]
