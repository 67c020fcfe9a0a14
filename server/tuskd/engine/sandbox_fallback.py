"""Fallback mode (no mount namespaces): the engine starts the attempt itself, in the symlink layout."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time

from tuskd.engine import zygote
from tuskd.engine.procs import wait_group_dead
from tuskd.engine.sandbox_attempt import AttemptResult, AttemptSpec, _exec_failure, _process_ended
from tuskd.engine.sandbox_layout import PFS_ROOT, _base_env, _link_layout, _PfsPaths
from tuskd.engine.sandbox_output import _pipes
from tuskd.engine.sandbox_supervisor import _DRAIN_SECONDS, _ChildSupervisor, _supervise

_SETUP_FAILED = zygote.SETUP_FAILED


# -- fallback mode ------------------------------------------------------------------------------


def _run_direct(spec: AttemptSpec, cancel: threading.Event) -> AttemptResult:
    """Fallback mode: the engine starts the process itself, in the symlink layout."""
    scratch = spec.scratch_dir
    root = scratch / "pfs"
    tmp = scratch / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env(tmp)
    working_dir = os.path.join(PFS_ROOT, spec.working_dir) if spec.working_dir else PFS_ROOT
    started = time.monotonic()
    _link_layout(root, spec.inputs, spec.out_dir)
    paths = _PfsPaths(root, spec.inputs, spec.out_dir)
    env.update({key: paths.host(value) for key, value in spec.env.items()})
    cwd = paths.host(working_dir)
    if not os.path.isdir(cwd):
        return _exec_failure(_SETUP_FAILED, f"cannot change to working directory {working_dir}", started, spec.timeout)
    stdin_data = ("\n".join(spec.stdin) + "\n").encode() if spec.stdin else b""
    out_r, out_w, in_r, in_w = _pipes(stdin_data)
    try:
        proc = subprocess.Popen(
            list(spec.cmd),
            stdin=subprocess.DEVNULL if in_r is None else in_r,
            stdout=out_w,
            stderr=out_w,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        os.close(out_r)
        if in_w is not None:
            os.close(in_w)
        if exc.errno == errno.ENOENT:
            return _exec_failure(127, f"{spec.cmd[0]}: command not found", started, spec.timeout)
        if exc.errno in (errno.EACCES, errno.ENOEXEC, errno.EISDIR, errno.EPERM):
            return _exec_failure(126, f"{spec.cmd[0]}: {exc.strerror}", started, spec.timeout)
        raise
    except BaseException:
        os.close(out_r)
        if in_w is not None:
            os.close(in_w)
        raise
    finally:
        os.close(out_w)
        if in_r is not None:
            os.close(in_r)

    try:
        sup = _ChildSupervisor(proc, out_r, in_w, stdin_data, spec.log_limit)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    try:
        timed_out, cancelled = _supervise(sup, spec, cancel, started)
        duration = time.monotonic() - started
        # Leftovers in the group die before the main process is reaped (see signal_group).
        sup.signal_group(signal.SIGKILL)
        sup.drain(time.monotonic() + _DRAIN_SECONDS)
        returncode = proc.wait()
        sup.reaped = True
        wait_group_dead(proc.pid)
    finally:
        if proc.returncode is None:
            # Only reached on an unexpected error above: never leave the group running.
            sup.signal_group(signal.SIGKILL)
            proc.wait()
        sup.close()

    return _process_ended(returncode, sup.buffer.value(), timed_out, cancelled, duration, spec.timeout)
