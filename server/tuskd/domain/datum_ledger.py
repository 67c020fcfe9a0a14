"""The datum ledger: the only code that decides a datum's next state, checked against the one
transition table (domain/states.py ``DATUM_TRANSITIONS``).

Every write of a datum row is a :class:`DatumChange` made here: the state the stored row must be
in (``before``; UNKNOWN means "no row yet"), the record after the change, and what the change
adds to the job's counters. The store applies a change only to a row still in ``before``
(store/pps.py ``upsert_datums``), so two writers can never silently overwrite each other.

The moves:

* :func:`skip`: UNKNOWN -> SKIPPED (same ID and hash succeeded in the last successful job).
* :func:`finish`: the datum ran (UNKNOWN -> STARTING -> outcome when it had no row; STARTING ->
  outcome when it was restarted and waited in STARTING).
* :func:`restart`: FAILED or RECOVERED -> STARTING, waiting to run again. The outcome it had
  stays counted in the job's counters (they never go backwards): it is kept in ``counted``, and
  the run that follows adds its outcome only if it differs. The reason shown meanwhile is
  ``restarted; was FAILED`` (text for people; nothing reads it back).
* :func:`abandon`: STARTING -> its counted outcome (or FAILED) when the job ends before the
  datum ran again, so no datum of a finished job claims to be running.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .jobs import Counts, DatumRecord
from .states import DatumState, check_datum_transition

__all__ = ["RESTARTED_PREFIX", "DatumChange", "abandon", "adds", "finish", "restart", "skip", "stored"]

RESTARTED_PREFIX = "restarted; was "
"""The reason shown for a datum restarted by RestartDatum until it has run again."""


@dataclass(frozen=True, slots=True)
class DatumChange:
    """One checked write of a datum row."""

    before: DatumState  # the state the stored row must be in; UNKNOWN: there is no row yet
    record: DatumRecord  # the datum after the change
    inputs_json: str  # what the datum read (shown by ListDatum/InspectDatum)
    counts: Counts = field(default_factory=Counts)  # what the change adds to the job's counters


def _subject(record: DatumRecord) -> str:
    return f"datum {record.id} of job {record.job}"


def _count(state: DatumState) -> Counts:
    return Counts(
        processed=int(state == DatumState.SUCCESS),
        skipped=int(state == DatumState.SKIPPED),
        failed=int(state == DatumState.FAILED),
        recovered=int(state == DatumState.RECOVERED),
    )


def skip(record: DatumRecord, inputs_json: str) -> DatumChange:
    """A new datum SKIPPED (its output is carried over from the last successful job)."""
    check_datum_transition(DatumState.UNKNOWN, DatumState.SKIPPED, subject=_subject(record))
    done = replace(record, state=DatumState.SKIPPED, counted=None)
    return DatumChange(DatumState.UNKNOWN, done, inputs_json, _count(DatumState.SKIPPED))


def finish(record: DatumRecord, counted: DatumState | None, inputs_json: str) -> DatumChange:
    """The datum ran to ``record.state``; ``counted``: the outcome already counted for it (a
    restarted datum waiting in STARTING), None for a datum that had no row."""
    subject = _subject(record)
    before = DatumState.UNKNOWN if counted is None else DatumState.STARTING
    if before == DatumState.UNKNOWN:
        check_datum_transition(DatumState.UNKNOWN, DatumState.STARTING, subject=subject)
    check_datum_transition(DatumState.STARTING, record.state, subject=subject)
    counts = Counts() if record.state == counted else _count(record.state)
    return DatumChange(before, replace(record, counted=None), inputs_json, counts)


def restart(change: DatumChange) -> DatumChange:
    """The datum of ``change`` (FAILED or RECOVERED after it) back in STARTING, to run again.

    ``change`` is either the datum's stored row read back (``before`` equal to its state) or a
    change not written yet (a datum restarted between its end and its recording): the two moves
    are then written as one."""
    record = change.record
    state = record.state
    check_datum_transition(state, DatumState.STARTING, subject=_subject(record))
    waiting = replace(record, state=DatumState.STARTING, reason=f"{RESTARTED_PREFIX}{state.name}", counted=state)
    return DatumChange(change.before, waiting, change.inputs_json, change.counts)


def stored(record: DatumRecord, inputs_json: str) -> DatumChange:
    """A row as read from the store, as the starting point of :func:`restart` or :func:`abandon`."""
    return DatumChange(record.state, record, inputs_json)


def abandon(record: DatumRecord, inputs_json: str, why: str) -> DatumChange:
    """A datum waiting in STARTING whose job ended: back to the outcome it had (still counted),
    or FAILED when it had none. ``why`` is appended to the reason it shows."""
    state = record.counted if record.counted in (DatumState.FAILED, DatumState.RECOVERED) else DatumState.FAILED
    check_datum_transition(record.state, state, subject=_subject(record))
    reason = f"{record.reason}; not run again: {why}" if record.reason else f"not run: {why}"
    return DatumChange(record.state, replace(record, state=state, reason=reason, counted=None), inputs_json)


def adds(changes: list[DatumChange]) -> Counts:
    """What ``changes`` add to the job's counters together."""
    total = Counts()
    for change in changes:
        total = total + change.counts
    return total
