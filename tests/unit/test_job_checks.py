"""The FINISHING check (engine/job_checks.py): a record that does not add up is named, one that
does passes, including counters grown by RestartDatum."""

from __future__ import annotations

from tuskd.domain.jobs import Counts, Job, JobKey
from tuskd.domain.states import DatumState, JobState
from tuskd.engine.job_checks import output_problem
from tuskd.store.pps import OutputEntry

S = DatumState


def job(total: int, **counts: int) -> Job:
    return Job(
        JobKey("default", "p", "j1"), 1, "p", "master", JobState.JOB_FINISHING, counts=Counts(**counts), total=total
    )


def out(datum: str, path: str, blob: str = "b" * 64) -> OutputEntry:
    return OutputEntry(datum, path, blob, 1)


def always(blob: str) -> bool:
    del blob
    return True


def test_a_consistent_record_passes() -> None:
    datums = {"a": S.SUCCESS, "b": S.SKIPPED, "c": S.RECOVERED}
    assert (
        output_problem(job(3, processed=1, skipped=1, recovered=1), datums, [out("a", "/x"), out("b", "/y")], always)
        is None
    )


def test_restarted_datums_may_leave_failed_and_recovered_counted() -> None:
    # a failed, was restarted and succeeded: counted in both failed and processed.
    datums = {"a": S.SUCCESS, "b": S.SUCCESS}
    assert output_problem(job(2, processed=2, failed=1), datums, [], always) is None


def test_unrecorded_datums_are_named() -> None:
    # What the false SUCCESS looked like: 6 datums, none recorded, counters at 0.
    assert output_problem(job(6), {}, [], always) == "0 datums recorded but data_total is 6"
    datums = {"a": S.SUCCESS, "b": S.SUCCESS}
    problem = output_problem(job(2, processed=2), datums, [], always, plan=["a", "c"])
    assert problem == "datum c was planned but is not recorded (1 missing)"


def test_failed_or_waiting_datums_and_counters_that_disagree_are_named() -> None:
    assert output_problem(job(2, processed=1, failed=1), {"a": S.SUCCESS, "b": S.FAILED}, [], always) == (
        "datum b is FAILED"
    )
    assert output_problem(job(1), {"a": S.STARTING}, [], always) == "datum a is STARTING"
    assert output_problem(job(2, processed=1), {"a": S.SUCCESS, "b": S.SUCCESS}, [], always) == (
        "data_processed is 1 but 2 datums are SUCCESS"
    )
    assert output_problem(job(1, processed=1), {"a": S.SKIPPED}, [], always) == (
        "data_processed is 1 but 0 datums are SUCCESS"
    )
    assert output_problem(job(1), {"a": S.RECOVERED}, [], always) == ("data_recovered is 0 but 1 datums are RECOVERED")


def test_outputs_without_content_or_of_the_wrong_datum_are_named() -> None:
    datums = {"a": S.SUCCESS, "r": S.RECOVERED}
    j = job(2, processed=1, recovered=1)
    assert output_problem(j, datums, [out("a", "/x", "c" * 64)], lambda blob: blob != "c" * 64) == (
        f"output /x of datum a has no content (blob {'c' * 64} is missing)"
    )
    assert output_problem(j, datums, [out("r", "/y")], always) == "output /y belongs to datum r, which is RECOVERED"
    assert output_problem(j, datums, [out("z", "/y")], always) == "output /y belongs to datum z, which is not recorded"
