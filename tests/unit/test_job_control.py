"""JobControl between two tries of a runner: a retry after an internal error gets fresh events
(the failed try's ``no_more``/``kill`` made the retry run no datum and end SUCCESS), unless a
stop or shutdown came meanwhile."""

from __future__ import annotations

import pytest

from tuskd.domain.jobs import JobKey
from tuskd.domain.states import DatumState
from tuskd.engine.job_control import JobControl, JobStopped, ServerStopping


def failed_try() -> JobControl:
    """A control as a try that failed while recording leaves it: datums stopped and killed."""
    control = JobControl(JobKey("default", "p", "j1"))
    datum_cancel = control.kill.child()
    control.no_more.set()
    control.kill.set()
    control.finished["d1"] = DatumState.SUCCESS
    control.reruns["d2"] = DatumState.FAILED
    assert datum_cancel.is_set()
    return control


def test_a_fresh_try_can_run_datums_again_and_forgets_what_was_not_recorded() -> None:
    control = failed_try()
    control.fresh_try()
    assert not control.no_more.is_set() and not control.kill.is_set() and not control.token.cancelled
    assert (control.finished, control.reruns, control.running) == ({}, {}, {})
    # The new events still work: a stop now reaches the new try.
    assert control.request_stop("job stopped")
    assert control.no_more.is_set() and control.kill.is_set()


def test_a_stop_or_shutdown_before_the_retry_wins() -> None:
    control = failed_try()
    control.request_stop("job stopped")
    with pytest.raises(JobStopped):
        control.fresh_try()
    assert control.kill.is_set()
    closing = failed_try()
    closing.shutdown()
    with pytest.raises(ServerStopping):
        closing.fresh_try()
    assert closing.no_more.is_set()
