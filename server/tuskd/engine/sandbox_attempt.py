"""What one attempt is and how it ended: the spec, the result and the results the sandbox itself makes
(a failed start, a cancel before the start, a dead helper). See :mod:`tuskd.engine.sandbox`."""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class Isolation(enum.Enum):
    """How the /pfs layout is provided to user code (see the module docstring)."""

    NAMESPACE = "namespace"
    FALLBACK = "fallback"


@dataclass(frozen=True, kw_only=True)
class AttemptSpec:
    """Everything needed to run user code once for one datum."""

    cmd: Sequence[str]
    stdin: Sequence[str] = ()
    """Lines joined with newlines (plus a trailing newline) and fed to ``cmd`` on stdin."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment (PACH_JOB_ID, PACH_DATUM_ID, <input name>=<path>...), over a minimal base."""
    working_dir: str | None = None
    inputs: Mapping[str, Path] = field(default_factory=dict)
    """Input name -> host directory (or file) whose content appears at ``/pfs/<name>``."""
    out_dir: Path
    """Host directory that appears, writable, at ``/pfs/out``; created when missing. Keep it
    (empty it, do not replace it) between attempts: a sandbox keeps it mounted."""
    scratch_dir: Path
    """Private directory of this attempt: holds the pfs root and TMPDIR. Keep it in place
    between attempts, like ``out_dir``."""
    timeout: float | None = None
    log_limit: int = 1 << 20
    """Bytes of combined stdout+stderr kept; beyond it the head and the tail are kept."""


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """How one attempt ended; exactly one of exit_code and signal is set once the process ran
    (neither when the sandbox failed: see ``sandbox_error``)."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    cancelled: bool
    duration: float
    log: bytes
    log_truncated: bool
    timeout: float | None = None
    """The timeout that applied, so ``describe`` can name it."""
    sandbox_error: str | None = None
    """Set when the sandbox itself failed during the attempt (its helper died): the reason."""

    @property
    def succeeded(self) -> bool:
        """True when the process exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out and not self.cancelled

    def describe(self) -> str:
        """Say how the attempt ended the way users read it: ``exit code 3``, ``timed out after 30s``."""
        if self.cancelled:
            return "stopped"
        if self.timed_out:
            return f"timed out after {format_seconds(self.timeout or self.duration)}"
        if self.sandbox_error is not None:
            return self.sandbox_error
        if self.signal is not None:
            return f"killed by signal {self.signal}"
        return f"exit code {self.exit_code}"


def format_seconds(seconds: float) -> str:
    """``30`` -> ``30s``, ``0.5`` -> ``0.5s``."""
    return f"{seconds:g}s"


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    return f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"


def _exec_failure(code: int, message: str, started: float, timeout: float | None) -> AttemptResult:
    return AttemptResult(
        exit_code=code,
        signal=None,
        timed_out=False,
        cancelled=False,
        duration=time.monotonic() - started,
        log=f"tusk-sandbox: {message}\n".encode(),
        log_truncated=False,
        timeout=timeout,
    )


def _process_ended(
    returncode: int,
    output: tuple[bytes, bool],
    timed_out: bool,
    cancelled: bool,
    duration: float,
    timeout: float | None,
) -> AttemptResult:
    """The process ran and ended with ``returncode`` (negative: killed by that signal); ``output``
    is the log buffer's (bytes, truncated)."""
    log_bytes, truncated = output
    return AttemptResult(
        exit_code=returncode if returncode >= 0 else None,
        signal=-returncode if returncode < 0 else None,
        timed_out=timed_out,
        cancelled=cancelled,
        duration=duration,
        log=log_bytes,
        log_truncated=truncated,
        timeout=timeout,
    )


def _cancelled_before_start(spec: AttemptSpec) -> AttemptResult:
    return AttemptResult(
        exit_code=None,
        signal=None,
        timed_out=False,
        cancelled=True,
        duration=0.0,
        log=b"",
        log_truncated=False,
        timeout=spec.timeout,
    )


def _sandbox_failure(
    reason: str,
    log_bytes: bytes,
    truncated: bool,
    started: float,
    spec: AttemptSpec,
    timed_out: bool = False,
    cancelled: bool = False,
) -> AttemptResult:
    return AttemptResult(
        exit_code=None,
        signal=None,
        timed_out=timed_out,
        cancelled=cancelled,
        duration=time.monotonic() - started,
        log=log_bytes + f"tusk-sandbox: {reason}\n".encode(),
        log_truncated=truncated,
        timeout=spec.timeout,
        sandbox_error=reason,
    )
