"""One job's lifecycle, from CREATED to a terminal state, on the thread the scheduler gives it.

The walk (docs/jobs.md tells it for users):

1. CREATED -> STARTING. Wait until the parent output commit (the previous job of the pipeline)
   and every input commit (the output commit's direct provenance) are finished. An input commit
   finished with an error makes the job UNRUNNABLE, with a reason naming the commit.
2. STARTING -> RUNNING with ``data_total`` in the same change. Datums are planned by
   domain.datums over the input commits' files. Datums of the last successful job of the
   pipeline with the same ID and hash (state SUCCESS or SKIPPED) are SKIPPED and their
   recorded outputs carried over, all in the same transaction as the RUNNING change. Where it
   can, only the datums the input change touched are planned and the others carried in SQL
   (engine/job_plan.py).
3. The rest run on the executor (``parallelism_spec.constant`` at a time) as plain-data tasks
   (engine/datum_tasks.py builds them; engine/datum_execution.py lays out inputs, runs the
   attempts in a worker slot's sandbox and stores /pfs/out as blobs); the results come back
   as data and the runner keeps each log.
   Finished datums are recorded in batches (at most every ``FLUSH_SECONDS`` or
   ``FLUSH_DATUMS``): a batch is one transaction holding the datum rows, their outputs and the
   job's counters, so counters and rows never disagree and never go backwards. A batch that
   cannot be recorded is kept and tried again (``RECORD_RETRY_DELAYS``), then fails the job.
   An output name PFS cannot hold (not UTF-8...) fails its datum, not the batch.
4. Any failed datum: FAILURE, reason ``datum <id> failed: <how>`` (the lowest failed datum ID).
5. EGRESSING (only with ``egress.URL``): the merged output is copied to the URL.
   Before EGRESSING and FINISHING the record must add up (engine/job_checks.py), else FAILURE.
6. FINISHING: the merged output (datum-ID order concatenation for paths several datums wrote)
   is written to the job's open output commit as a diff against what it holds (the output
   blobs are recorded, not copied), and the commit is finished together with the SUCCESS
   change, in one transaction.

A job that fails, is killed or is unrunnable finishes its output commit with an error in the
same transaction as its terminal change, so nothing it wrote reaches a later commit and the
jobs downstream turn UNRUNNABLE.

Stopping: :class:`~tuskd.engine.job_control.JobControl` carries a stop request (reason and
grace) from any thread. The runner notices it at the next step, stops scheduling datums, lets
running datums finish within the grace, kills what is left, records what finished, and records
KILLED. Once the runner has started its final commit (success, failure, unrunnable) a stop
request is too late and ignored. Server shutdown is different: processes are killed but nothing
is recorded, and the job resumes when the server starts again.

This module moves the job's states (steps 1, 4 and the terminal changes); the datums are planned,
run and recorded by engine/job_datums.py (each datum's run: engine/datum_tasks.py) and the
output is merged, egressed and written by engine/job_output.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from tuskd.cancel import ServerShuttingDown, WaitCancelled
from tuskd.domain.errors import NotFound, Unavailable
from tuskd.domain.jobs import Job, JobKey, transition
from tuskd.domain.pfs import CommitKey, CommitRef, CommitState, CommitStatus, RepoKey
from tuskd.domain.states import DatumState, JobState, is_terminal
from tuskd.engine.egress import EgressError
from tuskd.engine.job_context import EngineContext, JobInputs, SpecLoader
from tuskd.engine.job_control import JobControl, JobGone, JobStopped, ServerStopping
from tuskd.engine.job_datums import ENGINE_ID_ENV, FLUSH_DATUMS, FLUSH_SECONDS, JobDatums, RecordFailed
from tuskd.engine.job_output import JobOutput, OutputCheckFailed, output_commit_error, output_gone
from tuskd.store.pps import DatumRow

__all__ = [
    "ENGINE_ID_ENV",
    "FLUSH_DATUMS",
    "FLUSH_SECONDS",
    "EngineContext",
    "JobRunner",
    "SpecLoader",
    "output_commit_error",
    "output_gone",
]

log = logging.getLogger(__name__)

_INTERNAL_RETRIES = 3
UNAVAILABLE_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Pauses before each new try while a dependency (the S3 blob store) is unavailable; the last
one repeats until it is back or the job is stopped."""


class JobRunner:
    """Runs one job to a terminal state (or until shutdown); see the module docstring."""

    def __init__(self, ctx: EngineContext, key: JobKey, control: JobControl) -> None:
        self.ctx = ctx
        self.key = key
        self.control = control
        self.unfinished = False  # ended without recording an outcome (the engine retries later)
        self._datums = JobDatums(ctx, key, control)
        self._output = JobOutput(ctx, key, control)
        self._terminator = ctx.terminator

    # -- entry ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            attempt = outages = 0
            while True:
                try:
                    self._run()
                    return
                except (JobStopped, ServerStopping, JobGone):
                    raise
                except (RecordFailed, OutputCheckFailed) as exc:
                    self.control.check()
                    if not is_terminal(self._job().state):
                        self._fail(str(exc))
                    return
                except Unavailable as exc:
                    # An infrastructure outage (the blob store), not the user's datum: try
                    # again, counted as a restart, with backoff until it is back or stopped.
                    self.control.check()
                    if is_terminal(self._job().state):
                        return
                    pause = UNAVAILABLE_BACKOFF[min(outages, len(UNAVAILABLE_BACKOFF) - 1)]
                    outages += 1
                    log.warning("job %s: %s; trying again in %.1fs", self.key, exc, pause)
                    self.control.no_more.set()  # the failed try's datums still running end
                    self.control.kill.set()
                    self._restart_after_error()
                    self._pause(pause)
                    self.control.fresh_try()
                except Exception as exc:
                    if self.control.stop_reason is not None or self.control.closing:
                        self.control.check()
                    if is_terminal(self._job().state):
                        return  # ended elsewhere meanwhile (e.g. killed by a pipeline change)
                    log.exception("job %s: internal error (try %d)", self.key, attempt + 1)
                    if attempt == _INTERNAL_RETRIES:
                        self._fail(f"internal error: {exc}")
                        return
                    self._restart_after_error()
                    time.sleep(0.1 * 2**attempt)
                    attempt += 1
                    self.control.fresh_try()  # the failed try's events would stop every datum
        except JobStopped as stop:
            self._record_killed(str(stop))
        except ServerStopping:
            log.info("job %s: left for the next start (server stopping)", self.key)
        except JobGone:
            log.info("job %s: deleted while running", self.key)
        except Exception:
            self.unfinished = True
            log.exception("job %s: could not record its outcome; it is taken up again later", self.key)
        finally:
            self.control.cancel_timers()
            self.control.kill.set()  # nothing of this job may keep running
            self.control.done.set()

    def _run(self) -> None:
        job = self._job()
        if is_terminal(job.state):
            return
        self.control.check()
        out_ref = CommitRef(RepoKey(self.key.project, job.output_repo), id=self.key.id)
        gone = output_gone(self.ctx.pfs, out_ref)
        if gone is None:
            # Not a job the engine can run (recorded without an output repo, e.g. by a tool or
            # a test): leave it exactly as it is.
            log.warning("job %s has no output repo %s; the engine leaves it alone", self.key, out_ref.repo)
            self.control.orphan = True
            return
        if gone:
            raise JobStopped(f"output commit {out_ref} no longer exists")
        spec = self.ctx.load_spec(job)
        if job.state == JobState.JOB_CREATED:
            job = self._advance(JobState.JOB_STARTING)
        if job.state in (JobState.JOB_STARTING, JobState.JOB_RUNNING):
            inputs = self._wait_inputs(out_ref)
            if inputs is None:
                return  # unrunnable, recorded
            self._datums.run_datums(spec, inputs)
            job = self._job()
        if job.state == JobState.JOB_RUNNING:
            failed = self._first_failed()
            if failed is not None:
                self._finish(JobState.JOB_FAILURE, f"datum {failed.record.id} failed: {failed.record.reason}")
                return
            job = self._advance(JobState.JOB_EGRESSING if spec.egress_url else JobState.JOB_FINISHING)
        outputs: dict[str, tuple[str, int]] | None = None
        if job.state == JobState.JOB_EGRESSING:
            outputs = self._output.merged_outputs()
            try:
                self._output.egress(spec.egress_url, outputs)
            except EgressError as exc:
                self._finish(JobState.JOB_FAILURE, str(exc))
                return
            job = self._advance(JobState.JOB_FINISHING)
        if job.state == JobState.JOB_FINISHING:
            if outputs is None:
                outputs = self._output.merged_outputs()
            self._output.write_output(out_ref, outputs)

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, cut short by a stop request or a shutdown."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.control.stop_reason is None and not self.control.closing:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    # -- state changes ----------------------------------------------------------------------

    def _job(self) -> Job:
        try:
            return self.ctx.jobs.get(self.key).job
        except NotFound:
            raise JobGone() from None

    def _advance(self, state: JobState, **changes: Any) -> Job:
        """A non-final move (STARTING, RUNNING, EGRESSING, FINISHING), refused once stopping."""
        now = self.ctx.clock()
        with self.control.lock:
            if self.control.stop_reason is not None:
                raise JobStopped(self.control.stop_reason)
            if self.control.closing:
                raise ServerStopping()
            try:
                return self.ctx.jobs.change(self.key, lambda j: replace(transition(j, state, now), **changes))
            except NotFound:
                raise JobGone() from None

    def _finish(self, state: JobState, reason: str) -> None:
        """FAILURE or UNRUNNABLE through the one terminate path (services/job_terminate.py):
        the job's change and its output commit's error commit together."""
        with self.control.commit_point(), self.ctx.store.write() as tx:
            try:
                job = self._terminator.terminate(tx, self.key, state, reason)
            except NotFound:
                raise JobGone() from None
        log.info("job %s: %s: %s", self.key, job.state.name, job.reason)

    def _record_killed(self, reason: str) -> None:
        """KILLED (a stop request, a job timeout, an output commit gone) through the one
        terminate path; a job that ended meanwhile stays as it ended."""
        with self.ctx.store.write() as tx:
            try:
                self._terminator.terminate(tx, self.key, JobState.JOB_KILLED, reason)
            except NotFound:
                return
        log.info("job %s: killed: %s", self.key, reason)

    def _restart_after_error(self) -> None:
        """Count a job-level restart; RUNNING goes back to STARTING to take its inputs again."""
        now = self.ctx.clock()

        def bump(job: Job) -> Job:
            if is_terminal(job.state):
                return job
            if job.state == JobState.JOB_RUNNING:
                job = transition(job, JobState.JOB_STARTING, now)
            return replace(job, restart=job.restart + 1)

        with contextlib.suppress(NotFound):
            self.ctx.jobs.change(self.key, bump)

    def _fail(self, reason: str) -> None:
        """The job cannot go on (an internal error, results that cannot be recorded, a failed
        output check): FAILURE with ``reason``, or KILLED before it started."""
        job = self._job()
        if job.state in (JobState.JOB_CREATED, JobState.JOB_STARTING):
            self._record_killed(reason)
            return
        if not is_terminal(job.state):
            self._finish(JobState.JOB_FAILURE, reason)

    # -- inputs -----------------------------------------------------------------------------

    def _wait(self, ref: CommitRef) -> CommitStatus:
        """Wait until ``ref`` is finished; a stop request or shutdown interrupts the wait."""
        self.control.check()
        try:
            return self.ctx.pfs.commit_status(ref, CommitState.FINISHED, cancel=self.control.token)
        except (WaitCancelled, ServerShuttingDown):
            self.control.check()
            raise ServerStopping() from None

    def _wait_inputs(self, out_ref: CommitRef) -> JobInputs | None:
        """Wait for the parent output commit and the inputs; None (recorded) when unrunnable."""
        try:
            out = self.ctx.pfs.commit_status(out_ref)
        except NotFound:
            raise JobStopped(f"output commit {out_ref} was deleted") from None
        if out.parent is not None:
            # Jobs of one pipeline run in order: skipping compares with the previous job.
            with contextlib.suppress(NotFound):
                self._wait(CommitRef(out.parent.repo, id=out.parent.id))
        failed: list[str] = []
        commits: dict[tuple[str, str, str, str], CommitKey] = {}
        for prov in out.direct_provenance:
            try:
                info = self._wait(CommitRef(prov.repo, id=prov.id))
            except NotFound:
                raise JobStopped(f"input commit {prov.repo}@{prov.id} was deleted") from None
            commits[(prov.repo.project, prov.repo.name, prov.repo.type, prov.branch or "")] = prov
            if info.error:
                failed.append(f"input commit {prov.repo}@{prov.id} failed: {info.error}")
        if failed:
            self._finish(JobState.JOB_UNRUNNABLE, "; ".join(failed))
            return None
        return JobInputs(commits)

    def _first_failed(self) -> DatumRow | None:
        with self.ctx.store.read() as tx:
            t = self.ctx.jobs.tables(tx)
            row = t.get_job(self.key)
            if row is None:
                raise JobGone()
            failed = t.list_datums(row.row, states=[DatumState.FAILED], limit=1)
        return failed[0] if failed else None
