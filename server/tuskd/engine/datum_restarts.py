"""Restarting datums of a running job (RestartDatum), and the datums it has not recorded yet.

Only a RUNNING job whose runner is on this server can have datums restarted; the runner's
:class:`~tuskd.engine.job_control.JobControl` says which datums run, wait or have finished.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.errors import FailedPrecondition, NotFound
from tuskd.domain.jobs import JobKey, job_not_found
from tuskd.domain.states import DatumState, JobState, is_terminal
from tuskd.engine.job_control import JobControl
from tuskd.engine.ports import JobLedger
from tuskd.engine.running_jobs import RunningJobs
from tuskd.store.base import Store
from tuskd.store.pps import DatumRow

__all__ = ["DatumRestarter"]

log = logging.getLogger(__name__)


class DatumRestarter:
    """RestartDatum for the jobs that run on this server."""

    def __init__(self, *, store: Store, jobs: JobLedger, running: RunningJobs) -> None:
        self._store = store
        self._jobs = jobs
        self._running = running

    def _restartable(self, key: JobKey) -> JobControl:
        """The control of ``key`` if its datums can be restarted now, else FailedPrecondition."""
        job = self._jobs.get(key).job  # NotFound for an unknown job
        control = self._running.control(key)
        if is_terminal(job.state):
            raise FailedPrecondition(
                f"job {key} is finished ({job.state.name.removeprefix('JOB_').lower()}); "
                f"rerun the pipeline (tusk rerun pipeline {key.pipeline})",
                reason="JOB_FINISHED",
                job=str(key),
            )
        if job.state in (JobState.JOB_CREATED, JobState.JOB_STARTING) or control is None:
            raise FailedPrecondition(
                f"job {key} has not started its datums yet; nothing to restart", reason="JOB_NOT_RUNNING", job=str(key)
            )
        if job.state != JobState.JOB_RUNNING:
            raise FailedPrecondition(
                f"job {key} is {job.state.name.removeprefix('JOB_').lower()}: every datum has run; "
                f"rerun the pipeline (tusk rerun pipeline {key.pipeline})",
                reason="JOB_NOT_RUNNING",
                job=str(key),
            )
        return control

    def unrecorded_datums(self, key: JobKey) -> list[DatumRow]:
        """Datums of a running job with no row of their own yet (running or waiting), as rows
        in STARTING, so RestartDatum's data filters can find them. Empty for other jobs."""
        control = self._running.control(key)
        if control is None:
            return []
        with control.lock:
            plan, describe = dict(control.plan), control.describe
        if describe is None:
            return []
        with self._store.read() as tx:
            t = self._jobs.tables(tx)
            row = t.get_job(key)
            recorded = {d.record.id for d in t.list_datums(row.row)} if row is not None else set()
        return [describe(d) for i, d in sorted(plan.items()) if i not in recorded]

    def restart_datums(self, key: JobKey, datum_ids: Sequence[str]) -> list[str]:
        """Run datums of a RUNNING job again; returns the IDs restarted.

        A running datum is cancelled (its process group killed) and runs again from attempt 1.
        A FAILED or RECOVERED datum goes back to STARTING (durably) and runs again before the
        job ends; the outcome it had stays counted (counters never go backwards) and its new
        outcome is counted only if it differs. SUCCESS and SKIPPED datums are final and datums
        not started yet will run anyway: neither is restarted (nor returned). An ID that is not
        a datum of the job: NotFound, and nothing is restarted. A job that is not RUNNING (or is
        past its datums): FailedPrecondition.
        """
        control = self._restartable(key)
        ids = list(dict.fromkeys(datum_ids))
        restarted: list[str] = []
        with control.lock:
            if control.datums_closed or control.stop_reason is not None or control.closing:
                raise FailedPrecondition(
                    f"job {key} is past its datums (finishing or stopping); "
                    f"rerun the pipeline (tusk rerun pipeline {key.pipeline})",
                    reason="JOB_NOT_RUNNING",
                    job=str(key),
                )
            with self._store.write() as tx:
                t = self._jobs.tables(tx)
                jrow = t.get_job(key)
                if jrow is None:
                    raise job_not_found(key)
                if jrow.job.state != JobState.JOB_RUNNING:
                    raise FailedPrecondition(f"job {key} is not running", reason="JOB_NOT_RUNNING", job=str(key))
                rows = {i: t.get_datum(jrow.row, i) for i in ids}
                unknown = [i for i in ids if rows[i] is None and i not in control.plan]
                if unknown:
                    raise NotFound(
                        f"datum {unknown[0]} not found in job {key}; nothing was restarted",
                        reason="DATUM_NOT_FOUND",
                        datum=unknown[0],
                    )
                reset: list[DatumChange] = []
                for i in ids:
                    row = rows[i]
                    state = row.record.state if row is not None else None
                    if i in control.running:
                        control.running[i].request_restart()
                        restarted.append(i)
                    elif row is not None and state in (DatumState.FAILED, DatumState.RECOVERED):
                        assert state is not None
                        control.reruns[i] = state
                        reset.append(ledger.restart(ledger.stored(row.record, row.inputs_json)))
                        restarted.append(i)
                    elif i in control.reruns:  # restarted already, waiting to run again
                        restarted.append(i)
                    elif row is None and control.finished.get(i) in (DatumState.FAILED, DatumState.RECOVERED):
                        control.reruns[i] = DatumState.STARTING  # decided when it is recorded
                        restarted.append(i)
                    elif state in (DatumState.SUCCESS, DatumState.SKIPPED) or i in control.finished:
                        log.info("job %s: datum %s is %s: not restarted", key, i, (state or control.finished[i]).name)
                    else:
                        log.info("job %s: datum %s has not started yet: it runs anyway", key, i)
                if reset:
                    self._jobs.change(key, lambda j: j, datums=reset, tx=tx)
        log.info("job %s: restarted datum(s) %s", key, ", ".join(restarted) or "(none)")
        return restarted
