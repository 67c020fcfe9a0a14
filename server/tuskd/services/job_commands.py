"""The job commands of the job API: StopJob, StopJobSet and DeleteJob. A stop goes to the
engine (which returns once the jobs are KILLED and their processes gone); with no engine wired
no process can exist, so the kill is only recorded, through the one terminate path
(services/job_terminate.py: the job KILLED and its output commit finished with pachd's error)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from tuskd.domain.errors import Aborted
from tuskd.domain.ids import check_global_id
from tuskd.domain.jobs import MAX_GRACE_SECONDS, Job, JobKey, check_seconds, job_not_found
from tuskd.domain.states import JobState, is_terminal
from tuskd.services.events import EventHub
from tuskd.services.job_terminate import JobTerminator
from tuskd.services.jobs import JobService
from tuskd.services.pfs import PfsService
from tuskd.store.base import Store

if TYPE_CHECKING:  # job_queries re-exports this module's names
    from tuskd.services.job_queries import JobQueries

__all__ = ["DEFAULT_STOP_REASON", "JobCommands", "JobLogs", "JobStopper"]

DEFAULT_STOP_REASON = "job stopped"


class JobStopper(Protocol):
    """The engine's side of StopJob: returns once the jobs are KILLED and their processes gone."""

    def stop_job(self, key: JobKey, reason: str = ..., grace: float = ...) -> Job: ...
    def stop_job_set(self, set_id: str, reason: str = ..., grace: float = ...) -> list[Job]: ...


class JobLogs(Protocol):
    """Where the engine keeps datum logs; a deleted job's logs go with it."""

    def remove_job(self, key: JobKey) -> None: ...


class JobCommands:
    """Stops and deletes jobs; job sets are stopped in the order JobQueries lists them."""

    def __init__(
        self,
        store: Store,
        jobs: JobService,
        queries: JobQueries,
        hub: EventHub,
        stopper: JobStopper | None = None,
        logs: JobLogs | None = None,
        clock: Callable[[], float] = time.time,
        *,
        pfs: PfsService,
    ) -> None:
        """``pfs``: where the output commits of the jobs it kills are finished."""
        self._store = store
        self._jobs = jobs
        self._queries = queries
        self._hub = hub
        self._stopper = stopper  # None: no engine, so no processes; a kill is only recorded
        self._logs = logs
        self._clock = clock
        self._terminator = JobTerminator(jobs, pfs)

    def delete(self, key: JobKey) -> None:
        """Remove a job's record; a job that still runs is stopped first ("job deleted"), as pachd."""
        if not is_terminal(self._jobs.get(key).job.state):
            self.stop(key, "job deleted")
        with self._store.write() as tx:
            t = self._jobs.tables(tx)
            row = t.get_job(key)
            if row is None:
                raise job_not_found(key)
            if not is_terminal(row.job.state):  # restarted by a racing call between stop and here
                raise Aborted(f"job {key} started again while it was being deleted; try again", job=str(key))
            t.delete_job(row.row)  # its history, datums and datum outputs go with it
            self._jobs.removed(tx, [key])  # an event: the read model forgets it; other servers hear it too
        if self._logs is not None:
            self._logs.remove_job(key)

    # -- stopping ---------------------------------------------------------------------------

    def stop(self, key: JobKey, reason: str = "", grace: float = 0.0) -> Job:
        """KILL one job; a terminal job is left as it is (a no-op success)."""
        check_seconds(grace, "grace_period", MAX_GRACE_SECONDS)
        job = self._jobs.get(key).job
        if is_terminal(job.state):
            return job
        reason = reason or DEFAULT_STOP_REASON
        if self._stopper is not None:
            return self._stopper.stop_job(key, reason, grace)
        # No engine wired (no processes can exist): record the kill directly.
        return self._kill_record(key, reason)

    def _kill_record(self, key: JobKey, reason: str) -> Job:
        with self._store.write() as tx:
            return self._terminator.terminate(tx, key, JobState.JOB_KILLED, reason)

    def stop_set(self, set_id: str, reason: str = "", grace: float = 0.0) -> list[Job]:
        """KILL every unfinished job of a job set, upstream first."""
        check_global_id(set_id, "job set")
        check_seconds(grace, "grace_period", MAX_GRACE_SECONDS)
        if self._stopper is not None:
            return self._stopper.stop_job_set(set_id, reason or DEFAULT_STOP_REASON, grace)
        return [self.stop(job.key, reason, grace) for job in self._queries.job_set(set_id)]
