"""The one table of job and datum states and the transitions allowed between them.

Every state change in tusk goes through :func:`check_transition` (jobs) or
:func:`check_datum_transition` (datums). "A terminal job never changes again" is enforced here
and nowhere else: callers that want "stopping a finished job is a no-op" ask :func:`is_terminal`
first and skip the transition.

How the job table was derived from Pachyderm's behaviour (the reference semantics, "Job states"):

* Normal path: CREATED -> STARTING -> RUNNING -> (EGRESSING, only with egress) -> FINISHING ->
  SUCCESS. A zero-datum job walks the same path; nothing jumps straight to SUCCESS, so progress
  watchers always see RUNNING and FINISHING.
* CREATED -> UNRUNNABLE and STARTING -> UNRUNNABLE: an upstream input commit finished with an
  error. The check may happen before a worker took the job (CREATED) or while it waits for its
  inputs (STARTING).
* RUNNING -> FAILURE (a datum failed), EGRESSING -> FAILURE (egress failed),
  FINISHING -> FAILURE (the output commit could not be finalised).
* Any non-terminal state -> KILLED: StopJob, job_timeout, pipeline update/stop, commit deletion.
* RUNNING -> STARTING: a job-level restart after an internal error (the ``restart`` counter).
  The job has to be taken by a worker again and re-wait for its inputs, which is what STARTING
  means. Restarts are not allowed from EGRESSING or FINISHING: by then every datum has run and
  the remaining steps are retried in place.
* JOB_STATE_UNKNOWN is the protobuf zero value, not a state a job is ever in. The only edge out
  of it is UNKNOWN -> CREATED (the job is being recorded); nothing ever goes back to UNKNOWN and
  UNKNOWN is not killable (there is no job to kill).
* Terminal states (SUCCESS, FAILURE, KILLED, UNRUNNABLE) have no outgoing edges.
* A state never "transitions" to itself: re-applying the same state is not a change and callers
  must not record it as one.

Datum table: UNKNOWN -> STARTING (picked up) or SKIPPED (same ID and hash succeeded in the last
successful job); STARTING -> SUCCESS, FAILED or RECOVERED (err_cmd exited 0); FAILED and
RECOVERED -> STARTING when a datum is restarted. Retries within ``datum_tries`` keep the datum
in STARTING. SUCCESS and SKIPPED are final.
"""

from __future__ import annotations

from enum import IntEnum

from .errors import FailedPrecondition

__all__ = [
    "DATUM_TRANSITIONS",
    "JOB_TRANSITIONS",
    "TERMINAL_JOB_STATES",
    "DatumState",
    "JobState",
    "can_transition",
    "can_transition_datum",
    "check_datum_transition",
    "check_transition",
    "datum_state_word",
    "is_datum_done",
    "is_datum_final",
    "is_terminal",
    "state_word",
]


class JobState(IntEnum):
    """Pachyderm's ``pps_v2.JobState`` with the same names and numbers."""

    JOB_STATE_UNKNOWN = 0
    JOB_CREATED = 1
    JOB_STARTING = 2
    JOB_RUNNING = 3
    JOB_FAILURE = 4
    JOB_SUCCESS = 5
    JOB_KILLED = 6
    JOB_EGRESSING = 7
    JOB_FINISHING = 8
    JOB_UNRUNNABLE = 9


class DatumState(IntEnum):
    """Pachyderm's ``pps_v2.DatumState`` (no prefix on the value names)."""

    UNKNOWN = 0
    FAILED = 1
    SUCCESS = 2
    SKIPPED = 3
    STARTING = 4
    RECOVERED = 5


TERMINAL_JOB_STATES: frozenset[JobState] = frozenset(
    {JobState.JOB_SUCCESS, JobState.JOB_FAILURE, JobState.JOB_KILLED, JobState.JOB_UNRUNNABLE}
)

_J = JobState
_KILLABLE = (_J.JOB_CREATED, _J.JOB_STARTING, _J.JOB_RUNNING, _J.JOB_EGRESSING, _J.JOB_FINISHING)

# The single source of truth for job state changes: state -> states it may move to.
JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _J.JOB_STATE_UNKNOWN: frozenset({_J.JOB_CREATED}),
    _J.JOB_CREATED: frozenset({_J.JOB_STARTING, _J.JOB_UNRUNNABLE, _J.JOB_KILLED}),
    _J.JOB_STARTING: frozenset({_J.JOB_RUNNING, _J.JOB_UNRUNNABLE, _J.JOB_KILLED}),
    _J.JOB_RUNNING: frozenset({_J.JOB_EGRESSING, _J.JOB_FINISHING, _J.JOB_FAILURE, _J.JOB_STARTING, _J.JOB_KILLED}),
    _J.JOB_EGRESSING: frozenset({_J.JOB_FINISHING, _J.JOB_FAILURE, _J.JOB_KILLED}),
    _J.JOB_FINISHING: frozenset({_J.JOB_SUCCESS, _J.JOB_FAILURE, _J.JOB_KILLED}),
    _J.JOB_SUCCESS: frozenset(),
    _J.JOB_FAILURE: frozenset(),
    _J.JOB_KILLED: frozenset(),
    _J.JOB_UNRUNNABLE: frozenset(),
}

_D = DatumState

# The single source of truth for datum state changes within one job.
DATUM_TRANSITIONS: dict[DatumState, frozenset[DatumState]] = {
    _D.UNKNOWN: frozenset({_D.STARTING, _D.SKIPPED}),
    _D.STARTING: frozenset({_D.SUCCESS, _D.FAILED, _D.RECOVERED}),
    _D.FAILED: frozenset({_D.STARTING}),
    _D.RECOVERED: frozenset({_D.STARTING}),
    _D.SUCCESS: frozenset(),
    _D.SKIPPED: frozenset(),
}

_STATE_WORDS: dict[JobState, str] = {
    _J.JOB_STATE_UNKNOWN: "-",
    _J.JOB_CREATED: "-",
    _J.JOB_STARTING: "starting",
    _J.JOB_RUNNING: "running",
    _J.JOB_FAILURE: "failure",
    _J.JOB_SUCCESS: "success",
    _J.JOB_KILLED: "killed",
    _J.JOB_EGRESSING: "egressing",
    _J.JOB_FINISHING: "finishing",
    _J.JOB_UNRUNNABLE: "unrunnable",
}


def is_terminal(state: JobState) -> bool:
    """True for SUCCESS, FAILURE, KILLED and UNRUNNABLE: the job will never change again."""
    return state in TERMINAL_JOB_STATES


def can_transition(current: JobState, new: JobState) -> bool:
    """Whether a job in ``current`` may move to ``new`` (self-moves are never allowed)."""
    return new in JOB_TRANSITIONS[JobState(current)]


def check_transition(current: JobState, new: JobState, *, subject: str = "job") -> None:
    """Raise FailedPrecondition unless a job may move from ``current`` to ``new``.

    ``subject`` names the job in the message (e.g. ``"job edges@1f2e..."``).
    """
    current, new = JobState(current), JobState(new)
    if can_transition(current, new):
        return
    if is_terminal(current):
        why = f"{current.name} is terminal and never changes again"
    elif current == new:
        why = f"it is already {current.name}"
    else:
        allowed = ", ".join(s.name for s in sorted(JOB_TRANSITIONS[current])) or "nothing"
        why = f"from {current.name} it may only move to {allowed}"
    raise FailedPrecondition(
        f"{subject} cannot move from {current.name} to {new.name}: {why}",
        reason="INVALID_JOB_STATE_TRANSITION",
        from_state=current.name,
        to_state=new.name,
    )


def state_word(state: JobState) -> str:
    """The lowercase word pachctl prints in the STATE column (CREATED and UNKNOWN print ``-``)."""
    return _STATE_WORDS[JobState(state)]


def is_datum_final(state: DatumState) -> bool:
    """True for SUCCESS and SKIPPED: no transition leaves them."""
    return not DATUM_TRANSITIONS[DatumState(state)]


def is_datum_done(state: DatumState) -> bool:
    """True once the datum has an outcome for this job (success, skipped, failed, recovered)."""
    return DatumState(state) in (_D.SUCCESS, _D.SKIPPED, _D.FAILED, _D.RECOVERED)


def can_transition_datum(current: DatumState, new: DatumState) -> bool:
    """Whether a datum in ``current`` may move to ``new`` (self-moves are never allowed)."""
    return new in DATUM_TRANSITIONS[DatumState(current)]


def check_datum_transition(current: DatumState, new: DatumState, *, subject: str = "datum") -> None:
    """Raise FailedPrecondition unless a datum may move from ``current`` to ``new``."""
    current, new = DatumState(current), DatumState(new)
    if can_transition_datum(current, new):
        return
    if is_datum_final(current):
        why = f"{current.name} is final"
    elif current == new:
        why = f"it is already {current.name}"
    else:
        allowed = ", ".join(s.name for s in sorted(DATUM_TRANSITIONS[current]))
        why = f"from {current.name} it may only move to {allowed}"
    raise FailedPrecondition(
        f"{subject} cannot move from {current.name} to {new.name}: {why}",
        reason="INVALID_DATUM_STATE_TRANSITION",
        from_state=current.name,
        to_state=new.name,
    )


def datum_state_word(state: DatumState) -> str:
    """The lowercase word pachctl prints in the STATUS column of ``list datum``."""
    return DatumState(state).name.lower()
