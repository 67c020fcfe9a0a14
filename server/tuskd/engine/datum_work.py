"""A datum's work and its result as plain values: what an executor runs, wherever it runs.

A :class:`DatumTask` says everything needed to run one datum once (from attempt 1): the user
code, its environment and limits, the input files by blob hash, the attempt budget and err_cmd.
A :class:`DatumResult` says how it ended: outcome, attempts (``runs``) with exit codes and times, the
outputs stored in the blob store, the log, and the time and bytes spent. Both are frozen
dataclasses holding only strings, numbers, bytes, tuples, enums and other such values, so they
pickle and can travel to another process or machine (a Dask worker); nothing in them refers to
the store, the job's runner, a lock or a local directory.

``nonce`` identifies one submission of a task: a datum run again (RestartDatum) is submitted
again with a new nonce, so a late result of the cancelled run is told apart from the new one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from tuskd.domain.jobs import Stats
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_tree import InputFile, LaidOutInput
from tuskd.engine.outputs import DEFAULT_OUTPUT_LIMIT, CollectedFile

__all__ = [
    "Attempt",
    "CollectedFile",
    "DatumOutcome",
    "DatumResult",
    "DatumTask",
    "InputFile",
    "LaidOutInput",
    "Stats",
    "new_nonce",
]


def new_nonce() -> str:
    """A fresh submission ID (unique enough to tell submissions of one batch apart)."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class DatumTask:
    """One datum to run: ``inputs`` lists, per input name, the files laid out at
    ``/pfs/<name>/<path>`` (an input without files is an empty directory); ``env`` is complete
    but for ``TMPDIR``, which the executor points at the datum's own temporary directory."""

    project: str
    pipeline: str
    job_id: str
    datum_id: str
    nonce: str
    cmd: tuple[str, ...]
    stdin: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    """Empty: the image's default (``/``)."""
    inputs: tuple[LaidOutInput, ...] = ()
    datum_timeout: float | None = None
    """Bounds each attempt, err_cmd and the collection of a successful attempt's outputs."""
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    """Bytes of output the datum may store."""
    tries: int = 3
    accept_return_code: tuple[int, ...] = ()
    err_cmd: tuple[str, ...] = ()
    err_stdin: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One run of the user's cmd (or err_cmd): how it ended and when (Unix seconds)."""

    exit_code: int | None
    """None when it did not exit on its own (killed by a signal, timed out, stopped)."""
    signal: int | None
    timed_out: bool
    cancelled: bool
    started: float
    ended: float
    description: str
    """How it ended as users read it: ``exit code 3``, ``timed out after 30s``."""


@dataclass(frozen=True)
class DatumResult:
    """How one submission of a datum ended.

    ``outputs`` are stored in the blob store given to ``execute_datum`` (SUCCESS only; not yet
    flushed: whoever records them flushes first). ``log`` holds every attempt's output in order
    (see engine/datum_runner.py), unbounded here: the recorder bounds what it keeps. CANCELLED
    results (stop, RestartDatum) are not recorded.
    """

    datum_id: str
    nonce: str
    outcome: DatumOutcome
    reason: str = ""
    runs: tuple[Attempt, ...] = ()
    """The attempts of the user's cmd, in order."""
    err_attempt: Attempt | None = None
    outputs: tuple[CollectedFile, ...] = ()
    log: bytes = b""
    stats: Stats = field(default_factory=Stats)

    @property
    def attempts(self) -> int:
        """How many attempts of the user's cmd ran."""
        return len(self.runs)
