"""The one way a job ends without success: :meth:`JobTerminator.terminate`.

Every cause goes through it, in the caller's write transaction (docs/jobs.md, "How a job
ends"): StopJob and StopJobSet, a job timeout, a pipeline update, stop or delete killing its
jobs, DeleteJob of an unfinished job, an upstream commit that failed (UNRUNNABLE), an engine
error (FAILURE), and an output commit that is gone. In that one transaction it:

1. moves the job from its non-terminal state to ``state`` (KILLED, FAILURE or UNRUNNABLE) with
   ``reason``, through the one state table (a forbidden move raises FailedPrecondition);
2. finishes the job's output commit, if it is still open, with the error pachd writes there:
   ``job <pipeline>@<id> was killed: <reason>`` (``failed``, ``is unrunnable``), so nothing of
   the job reaches a later commit and the jobs downstream turn UNRUNNABLE;
3. leaves no datum of the job claiming to run: a datum restarted by RestartDatum that waits in
   STARTING goes back to the outcome it had and still counts (FAILED or RECOVERED), its reason
   saying it was not run again (domain/datum_ledger.py ``abandon``).

A job that is already terminal is left as it is (a no-op that returns it), except that an output
commit it left open is finished with its error and a STARTING datum row it left is settled.
Stopping the job's processes is the engine's part (engine/scheduler.py): it calls this once no
process of the job runs, or the job's runner calls it on its way out.
"""

from __future__ import annotations

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.jobs import Job, JobKey, job_not_found, output_commit_error
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.states import DatumState, JobState, is_terminal
from tuskd.services.jobs import JobService
from tuskd.services.pfs import PfsService
from tuskd.store.base import PfsTx

__all__ = ["JobTerminator", "output_commit_error"]

class JobTerminator:
    """Ends jobs; ``pfs`` None: the caller's output commits are known to be gone (a commit
    deletion), so there is none to finish."""

    def __init__(self, jobs: JobService, pfs: PfsService | None) -> None:
        self._jobs = jobs
        self._pfs = pfs

    def terminate(self, tx: PfsTx, key: JobKey, state: JobState, reason: str) -> Job:
        """End ``key`` in ``state`` with ``reason`` inside ``tx`` (see the module docstring);
        returns the job as it is now. NotFound for an unknown job."""
        t = self._jobs.tables(tx)
        row = t.get_job(key)
        if row is None:
            raise job_not_found(key)
        job = row.job
        if not is_terminal(job.state):
            job = self._jobs.transition(key, state, reason, tx=tx)
        if job.state == JobState.JOB_SUCCESS:
            return job
        error = output_commit_error(key, job.state, job.reason)
        waiting = t.list_datums(row.row, states=[DatumState.STARTING])
        if waiting:
            settled = [ledger.abandon(d.record, d.inputs_json, error) for d in waiting]
            self._jobs.change(key, lambda j: j, datums=settled, tx=tx)
        self._finish_output(tx, CommitRef(RepoKey(key.project, job.output_repo), id=key.id), error)
        return job

    def _finish_output(self, tx: PfsTx, ref: CommitRef, error: str) -> None:
        if self._pfs is None:
            return
        # Gone (dropped, squashed, its repo deleted) or already finishing: nothing to finish.
        self._pfs.finish_if_open(ref, error, tx=tx)
