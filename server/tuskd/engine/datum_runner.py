"""Run one datum to its end: attempts, retries, err_cmd recovery and cancellation.

Pachyderm's rules (reference: "Datums"): ``datum_tries`` attempts in total, each bounded by
``datum_timeout``; an exit code of 0 or one listed in ``accept_return_code`` is a success. When the
last attempt failed and an ``err_cmd`` is set, it runs in the same layout with ``err_stdin``; if it
exits 0 the datum is RECOVERED (it writes no output), otherwise it FAILED.

The out dir is emptied before every attempt, so a failed attempt's partial output never reaches
the next one, and emptied again whenever the datum does not end in SUCCESS: the out dir holds
files if and only if the datum succeeded.

An attempt whose sandbox helper died is a failed attempt like any other (reason ``sandbox
helper died (...)``); the sandbox starts a new helper for the next one.

When the caller passes ``collect``, a successful attempt's outputs are collected right away
(engine/outputs.py), still under the datum's cancel event and within its ``datum_timeout``
(counted from the attempt's start): outputs that cannot be collected (a symlink, a FIFO, over
the size limit, out of time) make the attempt a failed one with that reason, and a cancel
during the collection cancels the datum.
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import stat
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuskd.engine.outputs import CollectedFile, OutputCancelled, OutputError
from tuskd.engine.sandbox import AttemptResult, AttemptSpec, Sandbox

Collector = Callable[[Path, threading.Event, float | None, float | None], list[CollectedFile]]
"""``collect(out_dir, cancel, deadline, timeout)``: store the outputs (engine/outputs.py)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatumPolicy:
    """The pipeline spec's settings that govern one datum."""

    tries: int = 3
    timeout: float | None = None
    """Bounds each attempt (and err_cmd); None leaves the spec's own timeout."""
    accept_return_code: frozenset[int] = frozenset()
    err_cmd: Sequence[str] = ()
    err_stdin: Sequence[str] = ()


class DatumOutcome(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    RECOVERED = "RECOVERED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class DatumResult:
    """How a datum ended.

    ``log`` holds every attempt's output in order (and err_cmd's); when there is more than one
    part, each starts with a ``--- attempt k of n: <how it ended> ---`` line.
    """

    outcome: DatumOutcome
    attempts: int
    reason: str
    log: bytes
    duration: float
    attempt_results: tuple[AttemptResult, ...]
    err_result: AttemptResult | None = None
    files: tuple[CollectedFile, ...] = ()
    """The outputs collected (SUCCESS with a ``collect`` only)."""
    upload_time: float = 0.0
    """Seconds spent collecting them."""


def _accepted(result: AttemptResult, accept: frozenset[int]) -> bool:
    if result.timed_out or result.cancelled or result.exit_code is None:
        return False
    return result.exit_code == 0 or result.exit_code in accept


def _make_writable(func: Callable[..., Any], path: str, exc_info: object) -> None:
    """rmtree error hook (onexc or onerror): user code may leave read-only directories behind."""
    del exc_info
    for target in (os.path.dirname(path), path):
        if os.path.isdir(target) and not os.path.islink(target):
            os.chmod(target, os.stat(target).st_mode | stat.S_IRWXU)
    func(path)


def clear_dir(path: Path) -> None:
    """Empty ``path`` (creating it when missing) without replacing the directory itself."""
    try:
        entries = os.scandir(path)
    except FileNotFoundError:
        path.mkdir(parents=True)
        return
    with entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if sys.version_info >= (3, 12):
                    shutil.rmtree(entry.path, onexc=_make_writable)
                else:
                    shutil.rmtree(entry.path, onerror=_make_writable)
            else:
                os.unlink(entry.path)


def _joined_log(parts: Sequence[tuple[str, bytes]]) -> bytes:
    if len(parts) == 1:
        return parts[0][1]
    chunks = []
    for header, body in parts:
        chunks.append(f"--- {header} ---\n".encode())
        chunks.append(body)
        if body and not body.endswith(b"\n"):
            chunks.append(b"\n")
    return b"".join(chunks)


def run_datum(
    make_spec: Callable[[int], AttemptSpec],
    policy: DatumPolicy,
    cancel: threading.Event,
    on_attempt: Callable[[int, AttemptResult], None] | None = None,
    sandbox: Sandbox | None = None,
    collect: Collector | None = None,
) -> DatumResult:
    """Run a datum's attempts (numbered from 1) until one succeeds, they run out, or ``cancel``.

    ``make_spec(n)`` builds attempt n's spec; ``on_attempt(n, result)`` is told about each
    finished attempt of the user's cmd (not err_cmd). Exceptions from either propagate.
    Attempts run in ``sandbox`` (the engine passes its worker slot's); without one, in a
    sandbox of the datum's own, closed before returning.
    """
    if policy.tries < 1:
        raise ValueError(f"a datum needs at least one try, got {policy.tries}")
    if sandbox is None:
        own = Sandbox()
        try:
            return run_datum(make_spec, policy, cancel, on_attempt, own, collect)
        finally:
            own.close()
    tries = policy.tries
    started = time.monotonic()
    results: list[AttemptResult] = []
    parts: list[tuple[str, bytes]] = []
    spec: AttemptSpec | None = None
    files: list[CollectedFile] = []
    upload_time = 0.0
    last_failure = ""

    def finish(outcome: DatumOutcome, reason: str, err: AttemptResult | None = None) -> DatumResult:
        if outcome is not DatumOutcome.SUCCESS and spec is not None:
            clear_dir(spec.out_dir)
        return DatumResult(
            outcome=outcome,
            attempts=len(results),
            reason=reason,
            log=_joined_log(parts),
            duration=time.monotonic() - started,
            attempt_results=tuple(results),
            err_result=err,
            files=tuple(files),
            upload_time=upload_time,
        )

    for attempt in range(1, tries + 1):
        if cancel.is_set():
            return finish(DatumOutcome.CANCELLED, f"stopped before attempt {attempt} of {tries}")
        spec = make_spec(attempt)
        if policy.timeout is not None:
            spec = replace(spec, timeout=policy.timeout)
        clear_dir(spec.out_dir)
        attempt_started = time.monotonic()
        result = sandbox.run(spec, cancel)
        results.append(result)
        where = f"attempt {attempt} of {tries}"
        last_failure = result.describe()
        accepted = _accepted(result, policy.accept_return_code)
        if accepted and collect is not None and not cancel.is_set():
            deadline = None if spec.timeout is None else attempt_started + spec.timeout
            collecting = time.monotonic()
            try:
                files = collect(spec.out_dir, cancel, deadline, spec.timeout)
            except OutputCancelled:
                parts.append((f"{where}: stopped while collecting outputs", result.log))
                return finish(DatumOutcome.CANCELLED, f"stopped while collecting outputs ({where})")
            except OutputError as exc:
                accepted, last_failure = False, str(exc)
            upload_time = time.monotonic() - collecting
        parts.append((f"{where}: {last_failure}", result.log))
        if on_attempt is not None:
            on_attempt(attempt, result)
        if result.cancelled:
            return finish(DatumOutcome.CANCELLED, f"stopped ({where})")
        if accepted:
            return finish(DatumOutcome.SUCCESS, "")
        log.info("datum attempt %s failed: %s", where, last_failure)

    assert spec is not None
    failure = f"{last_failure} (attempt {tries} of {tries})"
    if not policy.err_cmd:
        return finish(DatumOutcome.FAILED, failure)
    if cancel.is_set():
        return finish(DatumOutcome.CANCELLED, f"stopped before err_cmd after {failure}")
    clear_dir(spec.out_dir)
    err = sandbox.run(replace(spec, cmd=tuple(policy.err_cmd), stdin=tuple(policy.err_stdin)), cancel)
    parts.append((f"err_cmd: {err.describe()}", err.log))
    if err.cancelled:
        return finish(DatumOutcome.CANCELLED, f"stopped (err_cmd after {failure})", err)
    if err.succeeded:
        return finish(DatumOutcome.RECOVERED, f"recovered by err_cmd after {failure}", err)
    log.info("err_cmd did not recover the datum: %s", err.describe())
    return finish(DatumOutcome.FAILED, failure, err)
