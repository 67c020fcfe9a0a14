"""The job and datum state tables, checked pair by pair against sets written out by hand."""

from __future__ import annotations

import itertools

import pytest

from tuskd.domain.errors import FailedPrecondition
from tuskd.domain.states import (
    DatumState,
    JobState,
    can_transition,
    can_transition_datum,
    check_datum_transition,
    check_transition,
    datum_state_word,
    is_datum_done,
    is_datum_final,
    is_terminal,
    state_word,
)

J = JobState
D = DatumState

EXPECTED_JOB_EDGES = {
    (J.JOB_STATE_UNKNOWN, J.JOB_CREATED),
    (J.JOB_CREATED, J.JOB_STARTING),
    (J.JOB_CREATED, J.JOB_UNRUNNABLE),
    (J.JOB_CREATED, J.JOB_KILLED),
    (J.JOB_STARTING, J.JOB_RUNNING),
    (J.JOB_STARTING, J.JOB_UNRUNNABLE),
    (J.JOB_STARTING, J.JOB_KILLED),
    (J.JOB_RUNNING, J.JOB_EGRESSING),
    (J.JOB_RUNNING, J.JOB_FINISHING),
    (J.JOB_RUNNING, J.JOB_FAILURE),
    (J.JOB_RUNNING, J.JOB_STARTING),
    (J.JOB_RUNNING, J.JOB_KILLED),
    (J.JOB_EGRESSING, J.JOB_FINISHING),
    (J.JOB_EGRESSING, J.JOB_FAILURE),
    (J.JOB_EGRESSING, J.JOB_KILLED),
    (J.JOB_FINISHING, J.JOB_SUCCESS),
    (J.JOB_FINISHING, J.JOB_FAILURE),
    (J.JOB_FINISHING, J.JOB_KILLED),
}

EXPECTED_DATUM_EDGES = {
    (D.UNKNOWN, D.STARTING),
    (D.UNKNOWN, D.SKIPPED),
    (D.STARTING, D.SUCCESS),
    (D.STARTING, D.FAILED),
    (D.STARTING, D.RECOVERED),
    (D.FAILED, D.STARTING),
    (D.RECOVERED, D.STARTING),
}

TERMINAL = {J.JOB_SUCCESS, J.JOB_FAILURE, J.JOB_KILLED, J.JOB_UNRUNNABLE}


def test_enum_numbers_match_pachyderm() -> None:
    assert [(s.name, s.value) for s in JobState] == [
        ("JOB_STATE_UNKNOWN", 0),
        ("JOB_CREATED", 1),
        ("JOB_STARTING", 2),
        ("JOB_RUNNING", 3),
        ("JOB_FAILURE", 4),
        ("JOB_SUCCESS", 5),
        ("JOB_KILLED", 6),
        ("JOB_EGRESSING", 7),
        ("JOB_FINISHING", 8),
        ("JOB_UNRUNNABLE", 9),
    ]
    assert [(s.name, s.value) for s in DatumState] == [
        ("UNKNOWN", 0),
        ("FAILED", 1),
        ("SUCCESS", 2),
        ("SKIPPED", 3),
        ("STARTING", 4),
        ("RECOVERED", 5),
    ]


@pytest.mark.parametrize(("current", "new"), list(itertools.product(JobState, JobState)), ids=lambda s: s.name)
def test_every_job_pair(current: JobState, new: JobState) -> None:
    allowed = (current, new) in EXPECTED_JOB_EDGES
    assert can_transition(current, new) is allowed
    if allowed:
        check_transition(current, new)
    else:
        with pytest.raises(FailedPrecondition) as info:
            check_transition(current, new)
        assert current.name in info.value.message
        assert new.name in info.value.message
        assert info.value.metadata == {"from_state": current.name, "to_state": new.name}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(DatumState, DatumState)), ids=lambda s: s.name)
def test_every_datum_pair(current: DatumState, new: DatumState) -> None:
    allowed = (current, new) in EXPECTED_DATUM_EDGES
    assert can_transition_datum(current, new) is allowed
    if allowed:
        check_datum_transition(current, new)
    else:
        with pytest.raises(FailedPrecondition) as info:
            check_datum_transition(current, new)
        assert f"from {current.name} to {new.name}" in info.value.message


def test_terminal_states_are_exactly_the_four_and_final() -> None:
    assert {s for s in JobState if is_terminal(s)} == TERMINAL
    for state in TERMINAL:
        assert not any(can_transition(state, other) for other in JobState)
        with pytest.raises(FailedPrecondition, match="terminal and never changes again"):
            check_transition(state, J.JOB_KILLED)


def test_every_live_state_can_be_killed() -> None:
    live = [J.JOB_CREATED, J.JOB_STARTING, J.JOB_RUNNING, J.JOB_EGRESSING, J.JOB_FINISHING]
    for state in live:
        assert not is_terminal(state)
        assert can_transition(state, J.JOB_KILLED)
    assert not can_transition(J.JOB_STATE_UNKNOWN, J.JOB_KILLED)


def test_normal_paths_walk_through() -> None:
    for path in (
        [J.JOB_CREATED, J.JOB_STARTING, J.JOB_RUNNING, J.JOB_FINISHING, J.JOB_SUCCESS],
        [J.JOB_CREATED, J.JOB_STARTING, J.JOB_RUNNING, J.JOB_EGRESSING, J.JOB_FINISHING, J.JOB_SUCCESS],
        [J.JOB_CREATED, J.JOB_STARTING, J.JOB_UNRUNNABLE],
        [J.JOB_CREATED, J.JOB_STARTING, J.JOB_RUNNING, J.JOB_STARTING, J.JOB_RUNNING, J.JOB_FAILURE],
    ):
        for a, b in itertools.pairwise(path):
            check_transition(a, b)


def test_messages_explain_why() -> None:
    with pytest.raises(FailedPrecondition) as info:
        check_transition(J.JOB_CREATED, J.JOB_RUNNING, subject="job edges@abc")
    assert info.value.message == (
        "job edges@abc cannot move from JOB_CREATED to JOB_RUNNING: from JOB_CREATED it may only "
        "move to JOB_STARTING, JOB_KILLED, JOB_UNRUNNABLE"
    )
    assert info.value.reason == "INVALID_JOB_STATE_TRANSITION"
    with pytest.raises(FailedPrecondition, match="it is already JOB_RUNNING"):
        check_transition(J.JOB_RUNNING, J.JOB_RUNNING)
    with pytest.raises(FailedPrecondition, match="SKIPPED is final"):
        check_datum_transition(D.SKIPPED, D.STARTING)


def test_state_words() -> None:
    assert {s: state_word(s) for s in JobState} == {
        J.JOB_STATE_UNKNOWN: "-",
        J.JOB_CREATED: "-",
        J.JOB_STARTING: "starting",
        J.JOB_RUNNING: "running",
        J.JOB_FAILURE: "failure",
        J.JOB_SUCCESS: "success",
        J.JOB_KILLED: "killed",
        J.JOB_EGRESSING: "egressing",
        J.JOB_FINISHING: "finishing",
        J.JOB_UNRUNNABLE: "unrunnable",
    }
    assert state_word(5) == "success"  # type: ignore[arg-type]  # raw ints from storage work too
    assert [datum_state_word(s) for s in DatumState] == [
        "unknown",
        "failed",
        "success",
        "skipped",
        "starting",
        "recovered",
    ]


def test_datum_outcomes() -> None:
    assert {s for s in DatumState if is_datum_final(s)} == {D.SUCCESS, D.SKIPPED}
    assert {s for s in DatumState if is_datum_done(s)} == {D.SUCCESS, D.SKIPPED, D.FAILED, D.RECOVERED}
