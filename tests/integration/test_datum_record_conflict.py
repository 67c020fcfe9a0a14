"""Recording finished datums for a job that another writer ended meanwhile (a kill that settled
its rows, a pipeline change): the store refuses the stale changes (DATUM_CONFLICT), and the
runner, seeing the job terminal, drops the batch and stops at once, without retrying the
refused write (which could never succeed) or logging warnings about it."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in, put, wait_job
from tuskd.domain.datums import Datum
from tuskd.domain.jobs import JobKey, Stats
from tuskd.domain.states import DatumState, JobState
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_tasks import FinishedDatum
from tuskd.engine.datum_work import DatumResult
from tuskd.engine.job_context import JobInputs
from tuskd.engine.job_control import JobControl, JobStopped
from tuskd.engine.job_datums import JobDatums

pytestmark = pytest.mark.timeout(60)


def test_a_batch_for_a_job_that_ended_is_dropped_at_once(
    make_server: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server()
    create_repo(server, "images")
    create_pipeline(server, make_spec("edges", "cp -r /pfs/images/. /pfs/out/", pfs_in("images")))
    set_id = put(server, "images", {"/a": b"x"})
    assert wait_job(server, "edges", set_id).state == JobState.JOB_SUCCESS
    key = JobKey("default", "edges", set_id)
    ctx = server.deps.engine._ctx
    with server.deps.store.read() as tx:
        t = server.deps.jobs.tables(tx)
        row = t.get_job(key)
        assert row is not None
        [recorded] = t.list_datums(row.row)
    # The same datum reported finished once more, as a runner that missed the job's end would.
    result = DatumResult(recorded.record.id, "stale", DatumOutcome.SUCCESS)
    stale = FinishedDatum(Datum(recorded.record.id, ()), recorded.record.hash, result, [], Stats(), DatumState.SUCCESS)
    datums = JobDatums(ctx, key, JobControl(key))
    caplog.set_level(logging.WARNING, logger="tuskd.engine.job_runner")
    with pytest.raises(JobStopped):
        datums._record([stale], JobInputs({}))
    assert not [r for r in caplog.records if "could not record" in r.getMessage()]
    job = server.deps.jobs.get(key).job
    assert (job.state, job.counts.processed) == (JobState.JOB_SUCCESS, 1)  # nothing counted twice
