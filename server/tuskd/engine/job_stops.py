"""Stopping jobs: the engine's StopJob, StopJobSet, and what a pipeline change or a dropped
output commit makes it stop.

A job with a runner is asked to stop (its control) and waited for; a job without one is recorded
KILLED here, through the one terminate path (the job and its output commit change in one
transaction), while it is marked ``killing`` so the dispatcher does not launch it meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tuskd.domain.errors import NotFound
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.states import TERMINAL_JOB_STATES, JobState, is_terminal
from tuskd.engine.job_control import JobControl
from tuskd.engine.ports import JobLedger, Notifier, PipelineChangeView, Terminator
from tuskd.engine.running_jobs import WAKE_TOPIC, RunningJobs
from tuskd.store.base import Store
from tuskd.store.pps import JobQuery

__all__ = ["JobStopper"]

log = logging.getLogger(__name__)

_NON_TERMINAL = tuple(s for s in JobState if s not in TERMINAL_JOB_STATES and s != JobState.JOB_STATE_UNKNOWN)


class JobStopper:
    """Stops jobs, whether a runner holds them or not; returns once none of their processes is alive."""

    def __init__(
        self, *, store: Store, jobs: JobLedger, hub: Notifier, terminator: Terminator, running: RunningJobs
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._hub = hub
        self._terminator = terminator
        self._running = running

    def stop_job(self, key: JobKey, reason: str = "job stopped", grace: float = 0.0) -> Job:
        return self._stop_many([key], reason, grace)[0]

    def stop_job_set(self, set_id: str, reason: str = "job stopped", grace: float = 0.0) -> list[Job]:
        keys = [row.job.key for row in self._jobs.job_set(set_id)]
        return self._stop_many(keys, reason, grace)

    def on_pipeline_changed(self, project: str, name: str, killed: Iterable[JobKey] = ()) -> None:
        """Stop the work of jobs that must not go on, then dispatch.

        Victims: ``killed`` (already recorded KILLED by the pipeline service), every unfinished
        job of a deleted or stopped pipeline, the unfinished jobs of older versions, and running
        jobs whose rows are gone or terminal. Returns once their processes are gone.
        """
        with self._store.read() as tx:
            tables = self._jobs.tables(tx)
            prow = tables.get_pipeline(project, name)
            unfinished = tables.list_jobs(JobQuery(project=project, pipeline=name, states=_NON_TERMINAL))
        versions: dict[JobKey, int | None] = {row.job.key: row.job.pipeline_version for row in unfinished}
        with self._running.lock:
            for key in self._running.active:  # running jobs whose rows went with the pipeline, or were killed
                if (key.project, key.pipeline) == (project, name) and key not in versions:
                    versions[key] = None
        if prow is None:
            reason = "pipeline deleted"
            victims = list(versions)
        elif prow.stopped:
            reason = "pipeline stopped"
            victims = list(versions)
        else:
            reason = f"pipeline updated to version {prow.version}"
            victims = [k for k, v in versions.items() if v is None or v < prow.version]
        victims.extend(k for k in killed if k not in versions)
        if victims:
            self._stop_many(victims, reason, 0.0, missing_ok=True)
        self._hub.publish(WAKE_TOPIC)

    def pipeline_changed(self, change: PipelineChangeView) -> None:
        """``PipelineService`` listener (after the change committed): stop what it killed, dispatch."""
        self.on_pipeline_changed(change.pipeline.project, change.pipeline.name, change.killed)

    def job_killed(self, key: JobKey, reason: str) -> None:
        """``JobTrigger`` kill listener: the job was KILLED because its output commit went (a
        dropped or squashed commit set); once that committed, stop what still runs of it."""
        self._stop_many([key], reason, 0.0, missing_ok=True)

    def _stop_many(self, keys: Iterable[JobKey], reason: str, grace: float, *, missing_ok: bool = False) -> list[Job]:
        waiting: list[JobControl] = []
        direct: list[JobKey] = []
        order = list(keys)
        for key in order:
            with self._running.lock:
                control = self._running.active.get(key)
                if control is None:
                    self._running.killing.add(key)
            if control is None:
                direct.append(key)
            else:
                control.request_stop(reason, grace)
                waiting.append(control)
        results: dict[JobKey, Job] = {}
        try:
            for key in direct:
                try:
                    results[key] = self.kill_directly(key, reason)
                except NotFound:
                    if not missing_ok:
                        raise
        finally:
            with self._running.lock:
                self._running.killing.difference_update(direct)
        for control in waiting:
            control.done.wait()
        for control in waiting:
            try:
                job = self._jobs.get(control.key).job
                if not is_terminal(job.state) and not control.closing:
                    # The runner ended without recording it (a job it does not run): kill it here.
                    job = self._kill_unheld(control.key, reason)
                results[control.key] = job
            except NotFound:
                if not missing_ok:
                    raise
        if direct:
            self._hub.publish(WAKE_TOPIC)
        return [results[k] for k in order if k in results]

    def _kill_unheld(self, key: JobKey, reason: str) -> Job:
        with self._running.lock:
            if key in self._running.active:  # relaunched meanwhile: stop that runner instead
                control = self._running.active[key]
            else:
                control = None
                self._running.killing.add(key)
        if control is not None:
            control.request_stop(reason)
            control.done.wait()
            return self._jobs.get(key).job
        try:
            return self.kill_directly(key, reason)
        finally:
            with self._running.lock:
                self._running.killing.discard(key)

    def kill_directly(self, key: JobKey, reason: str) -> Job:
        """KILLED for a job no runner holds (nothing of it runs), through the one terminate
        path: the job and its output commit change in one transaction."""
        with self._store.write() as tx:
            job = self._terminator.terminate(tx, key, JobState.JOB_KILLED, reason)
        log.info("job %s: %s: %s", key, job.state.name, job.reason)
        return job
