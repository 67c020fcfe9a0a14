"""A :class:`Sandbox` runs attempts one at a time, in namespace mode through one long-lived helper;
:func:`run_attempt` runs one attempt. See :mod:`tuskd.engine.sandbox` for both modes."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from tuskd.engine.procs import kill_namespace
from tuskd.engine.sandbox_attempt import (
    AttemptResult,
    AttemptSpec,
    Isolation,
    _cancelled_before_start,
    _exec_failure,
    _process_ended,
    _sandbox_failure,
)
from tuskd.engine.sandbox_fallback import _run_direct
from tuskd.engine.sandbox_helper import _HELPER_REPLY_SECONDS, HelperError, _Helper
from tuskd.engine.sandbox_layout import PFS_ROOT, _check_inputs, _inherited_env
from tuskd.engine.sandbox_output import _pipes
from tuskd.engine.sandbox_probe import detect_isolation
from tuskd.engine.sandbox_supervisor import _DRAIN_SECONDS, _HelperSupervisor, _supervise, _Supervisor

log = logging.getLogger(__name__)


class Sandbox:
    """Runs attempts one at a time; in namespace mode through one long-lived helper.

    Keep one per worker slot and reuse it: the helper and its mounts are set up once. Not
    thread-safe: one attempt at a time (``close`` may come from another thread once attempts
    are over). ``env`` goes into the helper's own environment (the engine's process marker).
    """

    def __init__(self, *, isolation: Isolation | None = None, env: Mapping[str, str] | None = None) -> None:
        self._isolation = isolation
        self._env = dict(env or {})
        self._helper: _Helper | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._made: tuple[Path, Path] | None = None  # (scratch, out) last made
        self._inherited: dict[str, str] | None = None  # the server's environment user code gets
        self._reset_sent: _Helper | None = None  # a reset whose answer is not read yet

    @property
    def isolation(self) -> Isolation:
        if self._isolation is None:
            self._isolation = detect_isolation()
        return self._isolation

    @property
    def helper_pid(self) -> int | None:
        """The current helper's pid (tests, diagnostics)."""
        helper = self._helper
        return helper.pid if helper is not None else None

    @property
    def helper_pids(self) -> tuple[int, ...]:
        """The current helper's own processes: its pid, then its PID 1 child when it has one."""
        helper = self._helper
        return helper.own_pids if helper is not None else ()

    def run(self, spec: AttemptSpec, cancel: threading.Event) -> AttemptResult:
        """Run ``spec.cmd`` once in the /pfs layout and wait until it and everything it started
        is gone. Raises ValueError for an empty command or a bad input name, FileNotFoundError
        for a missing input, OSError when the scratch dir cannot be prepared."""
        if not spec.cmd:
            raise ValueError("an attempt needs a command")
        kinds = _check_inputs(spec.inputs)
        mode = self.isolation
        if mode is Isolation.NAMESPACE and detect_isolation() is not Isolation.NAMESPACE:
            raise RuntimeError("mount namespaces are not available here")
        if cancel.is_set():
            return _cancelled_before_start(spec)
        if mode is Isolation.FALLBACK:
            return _run_direct(spec, cancel)
        return self._run_helper(spec, cancel, kinds)

    def reset(self) -> None:
        """Between jobs: kill anything left in the helper's tree and unmount the layout."""
        self.begin_reset()
        self.end_reset()

    def begin_reset(self) -> None:
        """Ask the helper to reset without waiting (it works on it meanwhile, on its own CPU);
        ``end_reset``, or the next attempt, reads its answer."""
        helper = self._helper
        if helper is None or self._reset_sent is not None:
            return
        try:
            if not helper.send({"op": "reset"}):
                raise HelperError("the sandbox helper is gone")
        except (HelperError, OSError) as exc:
            self._dropped_at_reset(helper, exc)
            return
        self._reset_sent = helper

    def end_reset(self) -> None:
        """Wait for the answer to ``begin_reset`` (nothing when none is pending)."""
        helper, self._reset_sent = self._reset_sent, None
        if helper is None:
            return
        try:
            reply = helper.receive(_HELPER_REPLY_SECONDS)
            if reply is None:
                raise HelperError("the sandbox helper is gone")
        except (HelperError, OSError) as exc:
            self._dropped_at_reset(helper, exc)
            return
        # The helper is the subreaper of every process it started: it killed what was left
        # (no /proc scan in the server, whose CPU the jobs need).
        leftovers = reply.get("killed") or []
        if leftovers:
            log.warning("killed %d process(es) left in a sandbox helper's namespace: %s", len(leftovers), leftovers)

    def _dropped_at_reset(self, helper: _Helper, exc: BaseException) -> None:
        log.info("sandbox helper %d dropped at reset: %s", helper.pid, exc)
        with self._lock:
            if self._helper is helper:
                self._drop_helper()

    def close(self) -> None:
        """Stop the helper; no process it started survives."""
        with self._lock:
            self._closed = True
            self._drop_helper()

    def _drop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.close()

    def _live_helper(self) -> _Helper:
        with self._lock:
            if self._closed:
                raise HelperError("the sandbox is closed")
            helper = self._helper
            if helper is not None and not helper.alive():
                log.warning(
                    "sandbox helper %d died between attempts (%s); starting a new one",
                    helper.pid,
                    helper.how_it_ended(),
                )
                self._drop_helper()
                helper = None
            if helper is None:
                helper = self._helper = _Helper(self._env)
            return helper

    def _run_helper(self, spec: AttemptSpec, cancel: threading.Event, kinds: Mapping[str, bool]) -> AttemptResult:
        started = time.monotonic()
        self.end_reset()  # a reset asked for between jobs is over before the attempt starts
        try:
            helper = self._live_helper()
        except (HelperError, OSError) as exc:
            log.warning("could not start a sandbox helper: %s", exc)
            return _sandbox_failure(f"could not start the sandbox helper: {exc}", b"", False, started, spec)
        try:
            # The timeout counts from here: starting a helper is not the attempt's time.
            return self._attempt(helper, spec, kinds, cancel, time.monotonic())
        except BaseException:
            # The helper is in an unknown state (a message half-handled): never reuse it.
            with self._lock:
                if self._helper is helper:
                    self._drop_helper()
            raise

    def _attempt(
        self, helper: _Helper, spec: AttemptSpec, kinds: Mapping[str, bool], cancel: threading.Event, started: float
    ) -> AttemptResult:
        scratch = spec.scratch_dir
        tmp = scratch / "tmp"
        if self._made != (scratch, spec.out_dir):  # a slot's directories stay: made once
            tmp.mkdir(parents=True, exist_ok=True)
            spec.out_dir.mkdir(parents=True, exist_ok=True)
            self._made = (scratch, spec.out_dir)
        if self._inherited is None:
            self._inherited = _inherited_env()
        env = {**self._inherited, "TMPDIR": str(tmp), **spec.env}
        working_dir = os.path.join(PFS_ROOT, spec.working_dir) if spec.working_dir else PFS_ROOT
        layout = {
            "root": str((scratch / "pfs").absolute()),
            "inputs": [[name, str(host.absolute()), kinds[name]] for name, host in sorted(spec.inputs.items())],
            "out": str(spec.out_dir.absolute()),
            "tmp": os.path.abspath(env.get("TMPDIR", str(tmp))),
        }
        request = {"op": "run", "cmd": list(spec.cmd), "env": env, "cwd": working_dir, "layout": layout}
        stdin_data = ("\n".join(spec.stdin) + "\n").encode() if spec.stdin else b""
        out_r, out_w, in_r, in_w = _pipes(stdin_data)
        try:
            fds = [out_w] if in_r is None else [out_w, in_r]
            sent = helper.send(request, fds, spill=scratch / "request.json")
        finally:
            os.close(out_w)
            if in_r is not None:
                os.close(in_r)
        if not sent:
            os.close(out_r)
            if in_w is not None:
                os.close(in_w)
            return self._helper_died(helper, None, (False, False), started, spec)
        sup = _HelperSupervisor(helper, out_r, in_w, stdin_data, spec.log_limit)
        try:
            timed_out, cancelled = _supervise(sup, spec, cancel, started)
            duration = time.monotonic() - started
            if sup.died:
                sup.signal_group(signal.SIGKILL)
                return self._helper_died(helper, sup, (timed_out, cancelled), started, spec)
            if sup.error is not None:
                raise ValueError(sup.error)
            if sup.failure is not None:
                return _exec_failure(*sup.failure, started, spec.timeout)
            if sup.escaped:
                log.info(
                    "killed %d process(es) that left the attempt's process group: %s", len(sup.escaped), sup.escaped
                )
            if timed_out or cancelled:
                assert helper.ns is not None
                stray = kill_namespace(helper.ns, exclude=helper.own_pids)
                if stray:
                    log.warning("killed %d process(es) still in the attempt's namespace: %s", len(stray), stray)
            sup.drain(time.monotonic() + _DRAIN_SECONDS)
        finally:
            sup.close()
        returncode = sup.returncode
        assert returncode is not None
        return _process_ended(returncode, sup.buffer.value(), timed_out, cancelled, duration, spec.timeout)

    def _helper_died(
        self,
        helper: _Helper,
        sup: _Supervisor | None,
        stopped: tuple[bool, bool] | None,
        started: float,
        spec: AttemptSpec,
    ) -> AttemptResult:
        """The helper went away mid-attempt: kill what is left of the attempt, fail it."""
        how = helper.how_it_ended()
        reason = f"sandbox helper died ({how})"
        log.warning("sandbox helper %d died during an attempt: %s", helper.pid, how)
        with self._lock:
            if self._helper is helper:
                self._helper = None
        helper.close()  # kills whatever is left in its namespace
        log_bytes, truncated = b"", False
        if sup is not None:
            sup.drain(time.monotonic() + _DRAIN_SECONDS)
            log_bytes, truncated = sup.buffer.value()
        timed_out, cancelled = stopped or (False, False)
        return _sandbox_failure(reason, log_bytes, truncated, started, spec, timed_out, cancelled)


def run_attempt(
    spec: AttemptSpec,
    cancel: threading.Event,
    *,
    isolation: Isolation | None = None,
    sandbox: Sandbox | None = None,
) -> AttemptResult:
    """Run ``spec.cmd`` once in the /pfs layout and wait until it and everything it started is gone.

    With ``sandbox``, in it (its helper is reused); otherwise in a sandbox of its own, closed
    before returning. ``isolation`` forces a mode for that own sandbox (tests use it to exercise
    the fallback); by default the probed mode is used. Raises ValueError for an empty command or
    a bad input name, FileNotFoundError for a missing input, OSError when the scratch dir cannot
    be prepared.
    """
    if sandbox is not None:
        return sandbox.run(spec, cancel)
    own = Sandbox(isolation=isolation)
    try:
        return own.run(spec, cancel)
    finally:
        own.close()
