"""The datum ledger: the only code that decides a datum's next state, checked against the one
transition table (domain/states.py ``DATUM_TRANSITIONS``).

Every write of a datum row is a :class:`DatumChange` made here: the state the stored row must be
in (``before``; UNKNOWN means "no row yet"), the record after the change, and what the change
adds to the job's counters. The store applies a change only to a row still in ``before``
(store/pps.py ``upsert_datums``), so two writers can never silently overwrite each other.

The moves:

* :func:`skip`: UNKNOWN -> SKIPPED (same ID and hash succeeded in the last successful job).
  The incremental plan (engine/job_plan.py) makes the same move in bulk, in SQL: the store's
  ``carry_skipped_datums`` inserts a SKIPPED row for each datum of the previous job the input
  change did not touch. It writes only where the job has no row for the datum (its plain INSERT
  is refused otherwise: "no row yet" is checked as here) and the rows are exactly what
  :func:`skip` makes (the previous row's ID, hash and inputs; no attempts, reason or stats);
  :func:`skipped_in_bulk` is what they add to the job's counters.
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

from .errors import FailedPrecondition
from .jobs import Counts, DatumRecord
from .states import DatumState, check_datum_transition

__all__ = [
    "RESTARTED_PREFIX",
    "DatumChange",
    "abandon",
    "adds",
    "finish",
    "move",
    "restart",
    "skip",
    "skipped_in_bulk",
    "stored",
]

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


def stored(record: DatumRecord, inputs_json: str) -> DatumChange:
    """The datum as it is stored now (UNKNOWN: no row yet), the start of a move."""
    return DatumChange(record.state, record, inputs_json)


def move(change: DatumChange, new: DatumState, **fields: object) -> DatumChange:
    """``change`` followed by a move of its datum to ``new`` (other record fields from
    ``fields``). FailedPrecondition when the transition table forbids the move: every state a
    datum row is written in has passed here."""
    record = change.record
    check_datum_transition(record.state, new, subject=_subject(record))
    return DatumChange(change.before, replace(record, state=new, **fields), change.inputs_json, change.counts)  # type: ignore[arg-type]


def skip(record: DatumRecord, inputs_json: str) -> DatumChange:
    """A new datum SKIPPED (its output is carried over from the last successful job)."""
    new = stored(replace(record, state=DatumState.UNKNOWN), inputs_json)
    done = move(new, DatumState.SKIPPED, counted=None)
    return replace(done, counts=_count(DatumState.SKIPPED))


def skipped_in_bulk(count: int) -> Counts:
    """What ``count`` datums skipped in one bulk move (see the module docstring) add to the
    job's counters: the same as ``count`` :func:`skip` changes."""
    return Counts(skipped=count)


def finish(record: DatumRecord, counted: DatumState | None, inputs_json: str) -> DatumChange:
    """The datum ran to ``record.state``; ``counted``: the outcome already counted for it (a
    restarted datum waiting in STARTING), None for a datum that had no row."""
    outcome = record.state
    if counted is None:
        running = move(stored(replace(record, state=DatumState.UNKNOWN), inputs_json), DatumState.STARTING)
    else:
        running = stored(replace(record, state=DatumState.STARTING, counted=counted), inputs_json)
    done = move(running, outcome, counted=None)
    return replace(done, counts=Counts() if outcome == counted else _count(outcome))


def restart(change: DatumChange) -> DatumChange:
    """The datum of ``change`` (FAILED or RECOVERED after it) back in STARTING, to run again.

    ``change`` is either the datum's stored row (:func:`stored`) or a change not written yet (a
    datum restarted between its end and its recording): the two moves are then one write."""
    state = change.record.state
    if state not in (DatumState.FAILED, DatumState.RECOVERED):
        raise FailedPrecondition(
            f"{_subject(change.record)} is {state.name}: only a FAILED or RECOVERED datum is restarted",
            reason="INVALID_DATUM_STATE_TRANSITION",
            from_state=state.name,
            to_state=DatumState.STARTING.name,
        )
    return move(change, DatumState.STARTING, reason=f"{RESTARTED_PREFIX}{state.name}", counted=state)


def abandon(record: DatumRecord, inputs_json: str, why: str) -> DatumChange:
    """A datum waiting in STARTING whose job ended: back to the outcome it had (still counted),
    or FAILED when it had none. ``why`` is added to the reason it shows."""
    state = record.counted if record.counted in (DatumState.FAILED, DatumState.RECOVERED) else DatumState.FAILED
    reason = f"{record.reason}; not run again: {why}" if record.reason else f"not run: {why}"
    return move(stored(record, inputs_json), state, reason=reason, counted=None)


def adds(changes: list[DatumChange]) -> Counts:
    """What ``changes`` add to the job's counters together."""
    total = Counts()
    for change in changes:
        total = total + change.counts
    return total
