"""One job's lifecycle, from CREATED to a terminal state, on the thread the scheduler gives it.

The walk (docs/jobs.md tells it for users):

1. CREATED -> STARTING. Wait until the parent output commit (the previous job of the pipeline)
   and every input commit (the output commit's direct provenance) are finished. An input commit
   finished with an error makes the job UNRUNNABLE, with a reason naming the commit.
2. STARTING -> RUNNING with ``data_total`` in the same change. Datums are planned by
   domain.datums over the input commits' files. Datums of the last successful job of the
   pipeline with the same ID and hash (state SUCCESS or SKIPPED) are SKIPPED and their
   recorded outputs carried over, all in the same transaction as the RUNNING change.
3. The rest run on the executor (``parallelism_spec.constant`` at a time): lay out inputs by
   hard links, run the attempts in the worker slot's sandbox (its namespace helper is kept
   from datum to datum), store /pfs/out as blobs, keep the log.
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
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuskd.blobs.base import BlobRef, BlobStore
from tuskd.domain import paths
from tuskd.domain.datums import Datum, FileEntry, datum_hash, plan_datums
from tuskd.domain.errors import InvalidArgument, NotFound
from tuskd.domain.inputs import PfsInput
from tuskd.domain.jobs import Counts, DatumRecord, Job, JobKey, Stats, transition
from tuskd.domain.pfs import CommitInfo, CommitKey, CommitRef, CommitState, FileType, RepoKey
from tuskd.domain.pipelines import REPROCESS_EVERY_JOB, PipelineSpec
from tuskd.domain.states import DatumState, JobState, is_datum_done, is_terminal
from tuskd.engine.datum_runner import Collector, DatumOutcome, DatumPolicy, DatumResult, run_datum
from tuskd.engine.egress import EgressError, egress_files
from tuskd.engine.executor import Executor
from tuskd.engine.job_checks import output_problem
from tuskd.engine.job_control import JobControl, JobGone, JobStopped, RunningDatum, ServerStopping
from tuskd.engine.logs import DatumLogs
from tuskd.engine.sandbox import AttemptSpec, format_seconds
from tuskd.engine.workspace import CollectedFile, InputFile, LaidOutInput, Workspace
from tuskd.services.events import ServerShuttingDown, WaitCancelled
from tuskd.services.jobs import JobService
from tuskd.services.pfs import PfsService
from tuskd.store.base import Store
from tuskd.store.pps import DatumRow, OutputEntry

__all__ = [
    "ENGINE_ID_ENV",
    "FLUSH_DATUMS",
    "FLUSH_SECONDS",
    "EngineContext",
    "JobRunner",
    "SpecLoader",
    "output_commit_error",
]

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
"""Finished datums are recorded at most this often (the first after a quiet spell at once)."""
FLUSH_DATUMS = 500
"""... or as soon as this many are waiting."""
ENGINE_ID_ENV = "TUSK_ENGINE_ID"
"""Set in every user process, so a restarted server can find and kill what a crash left."""
_INTERNAL_RETRIES = 3
RECORD_RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6)
"""Pauses between tries of recording a batch of finished datums (the batch is kept meanwhile);
when the last try fails too, the job fails with the reason."""

SpecLoader = Callable[[Job], PipelineSpec]
"""The spec a job runs with (its pipeline's spec at the job's pipeline version)."""


@dataclass
class EngineContext:
    """What every runner of one engine shares."""

    store: Store
    jobs: JobService
    pfs: PfsService
    blobs: BlobStore
    executor: Executor
    workspace: Workspace
    logs: DatumLogs
    load_spec: SpecLoader
    engine_id: str
    data_dir: Path | None = None  # egress never writes here
    clock: Callable[[], float] = time.time


_TERMINAL_WORDS = {
    JobState.JOB_FAILURE: "failed",
    JobState.JOB_KILLED: "was killed",
    JobState.JOB_UNRUNNABLE: "is unrunnable",
}


def output_commit_error(key: JobKey, state: JobState, reason: str) -> str:
    """The error a failed, killed or unrunnable job leaves on its output commit."""
    return f"job {key} {_TERMINAL_WORDS.get(state, state.name)}: {reason}"


@dataclass
class _Finished:
    """A datum that ran to an outcome (not cancelled), ready to be recorded."""

    datum: Datum
    hash: str
    result: DatumResult
    files: list[CollectedFile]
    stats: Stats
    state: DatumState
    previous: DatumState | None = None  # a restarted datum's outcome already counted


RESTARTED_PREFIX = "restarted; was "
"""The reason of a done datum restarted by RestartDatum until it has run again
(``restarted; was FAILED``): a resumed job reads back from it what was already counted."""


def _counted_before(reason: str) -> DatumState | None:
    if not reason.startswith(RESTARTED_PREFIX):
        return None
    name = reason.removeprefix(RESTARTED_PREFIX).split(":", 1)[0].strip()
    return DatumState.__members__.get(name)


def restarted_row(row: DatumRow, counted: DatumState) -> DatumRow:
    """``row`` back in STARTING, waiting to run again (its earlier outcome was ``counted``)."""
    record = replace(row.record, state=DatumState.STARTING, reason=f"{RESTARTED_PREFIX}{counted.name}")
    return DatumRow(record, row.inputs_json)


@dataclass
class _Inputs:
    """The job's input commits, by (project, repo, repo type, branch)."""

    commits: dict[tuple[str, str, str, str], CommitKey]

    def commit_for(self, pfs: PfsInput) -> CommitKey | None:
        return self.commits.get((pfs.project, pfs.repo, pfs.repo_type, pfs.branch))

    def by_repo(self, repo: str, branch: str) -> CommitKey | None:
        """The commit read for a datum input (datum inputs name only the repo and branch)."""
        for (_, name, _, branch_name), commit in self.commits.items():
            if name == repo and branch_name == branch:
                return commit
        return None


def output_gone(pfs: PfsService, out_ref: CommitRef) -> bool | None:
    """Whether a job's output commit is gone from its (existing) output repo: its commit set was
    dropped or squashed (by a server that died before it could end the job). None when the
    output repo does not exist at all (a job recorded by a tool or a test)."""
    try:
        pfs.inspect_commit(out_ref)
        return False
    except NotFound:
        pass
    try:
        pfs.inspect_repo(out_ref.repo)
    except NotFound:
        return None
    return True


def _unstorable(files: Sequence[CollectedFile]) -> str | None:
    """Why an output of a datum cannot go into a commit (its name is not valid UTF-8, or too
    long), or None: such a datum fails instead of stopping its job's recording."""
    for file in files:
        try:
            paths.normalize_file_path(file.path, what="output file")
        except InvalidArgument as exc:
            return f"{exc}; none of the datum's output was stored"
    return None


class RecordFailed(Exception):
    """Finished datums could not be recorded, even after retries: the job fails with this."""


class OutputCheckFailed(Exception):
    """The job's recorded datums and outputs do not add up at EGRESSING/FINISHING."""


class JobRunner:
    """Runs one job to a terminal state (or until shutdown); see the module docstring."""

    def __init__(self, ctx: EngineContext, key: JobKey, control: JobControl) -> None:
        self.ctx = ctx
        self.key = key
        self.control = control
        self.unfinished = False  # ended without recording an outcome (the engine retries later)
        self._space = ctx.workspace.open_job(f"{key.project}.{key.pipeline}.{key.id}")

    # -- entry ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            for attempt in range(_INTERNAL_RETRIES + 1):
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
            with contextlib.suppress(Exception):
                self._space.close()
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
            self._run_datums(spec, inputs)
            job = self._job()
        if job.state == JobState.JOB_RUNNING:
            failed = self._first_failed()
            if failed is not None:
                self._finish(JobState.JOB_FAILURE, f"datum {failed.record.id} failed: {failed.record.reason}", out_ref)
                return
            job = self._advance(JobState.JOB_EGRESSING if spec.egress_url else JobState.JOB_FINISHING)
        outputs: dict[str, tuple[str, int]] | None = None
        if job.state == JobState.JOB_EGRESSING:
            outputs = self._merged_outputs()
            try:
                self._egress(spec.egress_url, outputs)
            except EgressError as exc:
                self._finish(JobState.JOB_FAILURE, str(exc), out_ref)
                return
            job = self._advance(JobState.JOB_FINISHING)
        if job.state == JobState.JOB_FINISHING:
            if outputs is None:
                outputs = self._merged_outputs()
            self._write_output(out_ref, outputs)

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

    def _finish(self, state: JobState, reason: str, out_ref: CommitRef) -> None:
        """FAILURE or UNRUNNABLE, with the output commit finished with an error, atomically."""
        with self.control.commit_point(), self.ctx.store.write() as tx:
            try:
                job = self.ctx.jobs.transition(self.key, state, reason, tx=tx)
            except NotFound:
                raise JobGone() from None
            self._finish_output_with_error(out_ref, job)
        log.info("job %s: %s: %s", self.key, state.name, reason)

    def _finish_output_with_error(self, out_ref: CommitRef, job: Job) -> None:
        """Inside the caller's write transaction (PFS joins it): the commit and the job change
        commit together."""
        error = output_commit_error(self.key, job.state, job.reason)
        finish_output_with_error(self.ctx.pfs, out_ref, error)

    def _record_killed(self, reason: str) -> None:
        out_ref: CommitRef | None = None
        with self.ctx.store.write() as tx:
            try:
                row = self.ctx.jobs.get(self.key)
            except NotFound:
                return
            job = row.job
            out_ref = CommitRef(RepoKey(self.key.project, job.output_repo), id=self.key.id)
            if not is_terminal(job.state):
                job = self.ctx.jobs.transition(self.key, JobState.JOB_KILLED, reason, tx=tx)
            if job.state == JobState.JOB_KILLED:
                self._finish_output_with_error(out_ref, job)
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
        out_ref = CommitRef(RepoKey(self.key.project, job.output_repo), id=self.key.id)
        if job.state in (JobState.JOB_CREATED, JobState.JOB_STARTING):
            self._record_killed(reason)
            return
        if not is_terminal(job.state):
            self._finish(JobState.JOB_FAILURE, reason, out_ref)

    # -- inputs -----------------------------------------------------------------------------

    def _wait(self, ref: CommitRef) -> CommitInfo:
        """Wait until ``ref`` is finished; a stop request or shutdown interrupts the wait."""
        self.control.check()
        try:
            return self.ctx.pfs.inspect_commit(ref, CommitState.FINISHED, cancel=self.control.token)
        except (WaitCancelled, ServerShuttingDown):
            self.control.check()
            raise ServerStopping() from None

    def _wait_inputs(self, out_ref: CommitRef) -> _Inputs | None:
        """Wait for the parent output commit and the inputs; None (recorded) when unrunnable."""
        try:
            out = self.ctx.pfs.inspect_commit(out_ref)
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
            self._finish(JobState.JOB_UNRUNNABLE, "; ".join(failed), out_ref)
            return None
        return _Inputs(commits)

    def _listing(self, inputs: _Inputs) -> Callable[[PfsInput], Sequence[FileEntry]]:
        def listing(pfs: PfsInput) -> Sequence[FileEntry]:
            commit = inputs.commit_for(pfs)
            repo = RepoKey(pfs.project, pfs.repo, pfs.repo_type)
            if commit is None:
                # The output branch does not follow this input: read the branch head (and keep
                # it, so the datum records name the commit that was read).
                info = self.ctx.pfs.inspect_commit(CommitRef(repo, branch=pfs.branch))
                commit = info.commit
                inputs.commits[(pfs.project, pfs.repo, pfs.repo_type, pfs.branch)] = commit
            ref = CommitRef(repo, id=commit.id)
            return [
                FileEntry(info.path, False, info.size_bytes, info.hash)
                for info in self.ctx.pfs.walk_files(ref, "/")
                if info.file_type is FileType.FILE
            ]

        return listing

    # -- datums -----------------------------------------------------------------------------

    def _run_datums(self, spec: PipelineSpec, inputs: _Inputs) -> None:
        ctx, key = self.ctx, self.key
        datums = plan_datums(spec.input, self._listing(inputs))
        self.control.check()
        hashes = {d.id: datum_hash(d, spec.salt) for d in datums}
        with ctx.store.read() as tx:
            t = ctx.jobs.tables(tx)
            row = t.get_job(key)
            if row is None:
                raise JobGone()
            recorded = t.list_datums(row.row)
            done = {d.record.id for d in recorded if is_datum_done(d.record.state)}
            # Datums restarted before a server restart: run them again, counted as before.
            counted = {
                d.record.id: c
                for d in recorded
                if d.record.state == DatumState.STARTING and (c := _counted_before(d.record.reason)) is not None
            }
            previous: dict[str, str] = {}
            prev_row = None
            if spec.reprocess_spec != REPROCESS_EVERY_JOB:
                prev = t.last_successful_job(key.project, key.pipeline, row.row)
                if prev is not None:
                    prev_row = prev.row
                    previous = t.datum_hashes(prev.row, [DatumState.SUCCESS, DatumState.SKIPPED])
        skipped = [d for d in datums if d.id not in done and previous.get(d.id) == hashes[d.id]]
        skipped_ids = {d.id for d in skipped}
        todo = [d for d in datums if d.id not in done and d.id not in skipped_ids]
        now = ctx.clock()

        def start_running(job: Job) -> Job:
            if job.state != JobState.JOB_RUNNING:
                job = transition(job, JobState.JOB_RUNNING, now)
            return replace(job, total=len(datums), counts=job.counts + Counts(skipped=len(skipped)))

        rows = [self._datum_row(d, hashes[d.id], DatumState.SKIPPED, inputs) for d in skipped]
        with self.control.lock:
            self.control.check()
            self.control.plan = {d.id: d for d in datums}
            self.control.describe = lambda d: self._datum_row(d, hashes[d.id], DatumState.STARTING, inputs)
            self.control.datums_closed = False
            with ctx.store.write() as tx:
                if prev_row is not None and skipped:
                    ctx.jobs.tables(tx).copy_datum_outputs(prev_row, row.row, [d.id for d in skipped])
                job = ctx.jobs.change(key, start_running, datums=rows, tx=tx)
        log.info(
            "job %s: %d datums (%d skipped, %d done before a restart, %d to run)",
            key, len(datums), len(skipped), len(done), len(todo),
        )  # fmt: skip
        self._arm_job_timeout(spec, job)
        if todo:
            self._process(spec, todo, hashes, inputs, counted)
        # Done datums restarted meanwhile (RestartDatum) run again before the job goes on.
        while True:
            with self.control.lock:
                self.control.check()
                reruns, self.control.reruns = self.control.reruns, {}
                if not reruns:
                    self.control.datums_closed = True
                    break
            log.info("job %s: running %d restarted datum(s) again", key, len(reruns))
            self._process(spec, [self.control.plan[i] for i in sorted(reruns)], hashes, inputs, reruns)
        self.control.check()

    def _arm_job_timeout(self, spec: PipelineSpec, job: Job) -> None:
        if spec.job_timeout is None:
            return
        reason = f"job timed out after {format_seconds(spec.job_timeout)}"
        remaining = job.started + spec.job_timeout - self.ctx.clock()
        if remaining <= 0:
            self.control.request_stop(reason)
            self.control.check()
        self.control._timer(remaining, lambda: self.control.request_stop(reason))

    def _process(
        self,
        spec: PipelineSpec,
        todo: list[Datum],
        hashes: dict[str, str],
        inputs: _Inputs,
        counted: dict[str, DatumState],
    ) -> None:
        """Run ``todo``; ``counted``: restarted datums and the outcome already counted for them."""
        policy = DatumPolicy(
            tries=max(spec.datum_tries, 1),
            timeout=spec.datum_timeout,
            accept_return_code=frozenset(spec.transform.accept_return_code),
            err_cmd=spec.transform.err_cmd,
            err_stdin=spec.transform.err_stdin,
        )
        base_env = {
            **dict(spec.transform.env),
            "PACH_JOB_ID": self.key.id,
            "PACH_OUTPUT_COMMIT_ID": self.key.id,
            "PPS_PIPELINE_NAME": self.key.pipeline,
            "PPS_PROJECT_NAME": self.key.project,
            ENGINE_ID_ENV: self.ctx.engine_id,
        }
        tasks = (self._task(d, hashes[d.id], spec, policy, base_env, counted.get(d.id)) for d in todo)
        results: queue.SimpleQueue[_Finished | BaseException | None] = queue.SimpleQueue()
        batch = self.ctx.executor.run_batch(str(self.key), tasks, max(spec.parallelism, 1), self.control.no_more)

        def consume() -> None:
            try:
                for item in batch:
                    if item is not None:
                        results.put(item)
            except BaseException as exc:  # delivered to the job thread
                results.put(exc)
            finally:
                results.put(None)

        consumer = threading.Thread(target=consume, name=f"datums-{self.key}", daemon=True)
        consumer.start()
        pending: list[_Finished] = []
        last_flush = 0.0
        error: BaseException | None = None
        try:
            while True:
                wait = None if not pending else max(0.0, last_flush + FLUSH_SECONDS - time.monotonic())
                try:
                    item = results.get(timeout=wait)
                except queue.Empty:
                    self._record(pending, inputs)
                    pending, last_flush = [], time.monotonic()
                    continue
                if item is None:
                    break
                if isinstance(item, BaseException):
                    error = item
                    continue
                pending.append(item)
                if time.monotonic() - last_flush >= FLUSH_SECONDS or len(pending) >= FLUSH_DATUMS:
                    self._record(pending, inputs)
                    pending, last_flush = [], time.monotonic()
        except BaseException:
            # Recording failed (or the job is gone): nothing of the job may keep running.
            self.control.no_more.set()
            self.control.kill.set()
            consumer.join()
            raise
        consumer.join()
        if pending:
            self._record(pending, inputs)
        if error is not None:
            self.control.check()
            raise error

    def _task(
        self,
        datum: Datum,
        hash_: str,
        spec: PipelineSpec,
        policy: DatumPolicy,
        base_env: dict[str, str],
        previous: DatumState | None,
    ) -> Callable[[], _Finished | None]:
        def task() -> _Finished | None:
            try:
                finished = self._run_datum(datum, hash_, spec, policy, base_env)
            except Exception as exc:
                # Laying out or collecting failed (disk full, a missing blob...): the datum fails
                # with the reason and the job goes on with the others.
                log.exception("job %s: datum %s could not run", self.key, datum.id)
                result = DatumResult(DatumOutcome.FAILED, 0, f"could not run: {exc}", b"", 0.0, ())
                finished = _Finished(datum, hash_, result, [], Stats(), DatumState.FAILED)
            if finished is not None:
                finished.previous = previous
                with self.control.lock:
                    self.control.finished[datum.id] = finished.state
            return finished

        return task

    def _run_datum(
        self, datum: Datum, hash_: str, spec: PipelineSpec, policy: DatumPolicy, base_env: dict[str, str]
    ) -> _Finished | None:
        space = self._space
        laid_out = [
            LaidOutInput(inp.name, [InputFile(f.path, f.hash, f.size) for f in inp.files]) for inp in datum.inputs
        ]
        with space.slot() as slot:
            tree = space.prepare(slot, laid_out)
            env = dict(base_env)
            env["PACH_DATUM_ID"] = datum.id
            env["TMPDIR"] = str(tree.tmp_dir)
            for inp in reversed(datum.inputs):  # the first input of a name wins
                env[inp.name] = f"/pfs/{inp.name}" if inp.path == "/" else f"/pfs/{inp.name}{inp.path}"
            transform = spec.transform

            def make_spec(attempt: int) -> AttemptSpec:
                del attempt
                return AttemptSpec(
                    cmd=transform.cmd,
                    stdin=transform.stdin,
                    env=env,
                    working_dir=transform.working_dir or None,
                    inputs=tree.inputs,
                    out_dir=tree.out_dir,
                    scratch_dir=tree.scratch_dir,
                )

            result = self._run_attempts(datum.id, make_spec, policy, slot.sandbox, self.ctx.workspace.collect)
            if result.outcome is DatumOutcome.CANCELLED:
                return None
            files = list(result.files)
            if result.outcome is DatumOutcome.SUCCESS:
                problem = _unstorable(files)
                if problem is not None:  # never stored: the datum fails, naming the output
                    result = replace(result, outcome=DatumOutcome.FAILED, reason=problem)
                    files = []
        self.ctx.logs.write(self.key, datum.id, result.log)
        state = {
            DatumOutcome.SUCCESS: DatumState.SUCCESS,
            DatumOutcome.FAILED: DatumState.FAILED,
            DatumOutcome.RECOVERED: DatumState.RECOVERED,
        }[result.outcome]
        stats = Stats(
            download_time=tree.seconds,
            process_time=result.duration,
            upload_time=result.upload_time,
            download_bytes=tree.bytes,
            upload_bytes=sum(f.size for f in files),
        )
        return _Finished(datum, hash_, result, files, stats, state)

    def _run_attempts(
        self,
        datum_id: str,
        make_spec: Callable[[int], AttemptSpec],
        policy: DatumPolicy,
        sandbox: Any,
        collect: Collector,
    ) -> DatumResult:
        """run_datum with the datum's own cancel event (which also bounds the collection of its
        outputs); a restart (RestartDatum) cancels the running attempt (its process group is
        killed) and runs the datum again from attempt 1."""
        control = self.control
        while True:
            running = RunningDatum(control.kill.child())
            with control.lock:
                control.running[datum_id] = running
            try:
                result = run_datum(make_spec, policy, running.cancel, sandbox=sandbox, collect=collect)
            except (OSError, ValueError) as exc:
                result = DatumResult(DatumOutcome.FAILED, 0, f"could not run: {exc}", b"", 0.0, ())
            finally:
                with control.lock:
                    control.running.pop(datum_id, None)
                control.kill.release(running.cancel)
            if not running.restart or control.kill.is_set():
                return result
            log.info("job %s: datum %s restarted (its run ended %s)", self.key, datum_id, result.outcome.name)

    def _datum_row(
        self,
        datum: Datum,
        hash_: str,
        state: DatumState,
        inputs: _Inputs,
        attempts: int = 0,
        reason: str = "",
        stats: Stats | None = None,
    ) -> DatumRow:
        described = []
        for inp in datum.inputs:
            commit = inputs.by_repo(inp.repo, inp.branch)
            described.append(
                {
                    "name": inp.name,
                    "project": commit.repo.project if commit else self.key.project,
                    "repo": inp.repo,
                    "repo_type": commit.repo.type if commit else "user",
                    "branch": inp.branch,
                    "commit": commit.id if commit else "",
                    "path": inp.path,
                    "is_dir": inp.is_dir,
                    "hash": inp.hash,
                    "size": sum(f.size for f in inp.files),
                }
            )
        record = DatumRecord(self.key, datum.id, hash_, state, attempts, reason, stats or Stats())
        return DatumRow(record, json.dumps(described, separators=(",", ":")))

    def _record(self, finished: list[_Finished], inputs: _Inputs) -> None:
        """Record finished datums, their outputs and the counters in one transaction."""
        if not finished:
            return
        # A datum restarted after a FAILED or RECOVERED run adds only an outcome not yet counted
        # for it: counters never go backwards, so each counts the datums that reached it.
        new = [f for f in finished if f.state != f.previous]
        counts = Counts(
            processed=sum(1 for f in new if f.state == DatumState.SUCCESS),
            failed=sum(1 for f in new if f.state == DatumState.FAILED),
            recovered=sum(1 for f in new if f.state == DatumState.RECOVERED),
        )
        stats = Stats()
        rows: list[DatumRow] = []
        outputs: list[OutputEntry] = []
        for f in finished:
            stats = stats + f.stats
            rows.append(self._datum_row(f.datum, f.hash, f.state, inputs, f.result.attempts, f.result.reason, f.stats))
            outputs.extend(OutputEntry(f.datum.id, file.path, file.blob, file.size) for file in f.files)
        control = self.control
        for attempt, delay in enumerate((*RECORD_RETRY_DELAYS, None)):
            try:
                if outputs:
                    self.ctx.blobs.flush()  # outputs become durable before the rows naming them
                with control.lock:
                    for i, f in enumerate(finished):
                        control.finished.pop(f.datum.id, None)
                        if control.reruns.get(f.datum.id) == DatumState.STARTING:
                            # Restarted between its end and now: a failure waits to run again, a
                            # success stays (SUCCESS is final).
                            if f.state in (DatumState.FAILED, DatumState.RECOVERED):
                                control.reruns[f.datum.id] = f.state
                                rows[i] = restarted_row(rows[i], f.state)
                            else:
                                del control.reruns[f.datum.id]
                    self.ctx.jobs.record_progress(self.key, counts, stats, datums=rows, outputs=outputs)
                return
            except NotFound:
                raise JobGone() from None
            except Exception as exc:
                # A full disk, a busy store...: the batch is kept and recorded again; a datum is
                # never dropped (nor the job's counters left behind its rows).
                if delay is None:
                    raise RecordFailed(f"could not record the results of {len(finished)} datum(s): {exc}") from exc
                log.warning(
                    "job %s: could not record %d datum(s) (try %d of %d), retrying in %.1fs: %s",
                    self.key, len(finished), attempt + 1, len(RECORD_RETRY_DELAYS) + 1, delay, exc,
                )  # fmt: skip
                time.sleep(delay)

    def _first_failed(self) -> DatumRow | None:
        with self.ctx.store.read() as tx:
            t = self.ctx.jobs.tables(tx)
            row = t.get_job(self.key)
            if row is None:
                raise JobGone()
            failed = t.list_datums(row.row, states=[DatumState.FAILED], limit=1)
        return failed[0] if failed else None

    # -- output -----------------------------------------------------------------------------

    def _merged_outputs(self) -> dict[str, tuple[str, int]]:
        """path -> (blob, size) of the job's output; paths several datums wrote are concatenated
        in datum-ID order into a new blob. OutputCheckFailed when the record does not add up
        (engine/job_checks.py): no job leaves RUNNING for SUCCESS without passing here."""
        with self.ctx.store.read() as tx:
            t = self.ctx.jobs.tables(tx)
            row = t.get_job(self.key)
            if row is None:
                raise JobGone()
            entries = t.datum_outputs(row.row)
            datums = {i: state for state in DatumState for i in t.datum_hashes(row.row, [state])}
        with self.control.lock:
            plan = list(self.control.plan)
        problem = output_problem(row.job, datums, entries, self.ctx.blobs.exists, plan)
        if problem is not None:
            step = row.job.state.name.removeprefix("JOB_")
            raise OutputCheckFailed(f"output check failed at {step}: {problem}")
        by_path: dict[str, list[OutputEntry]] = {}
        for entry in entries:  # ordered by datum id, then path
            by_path.setdefault(entry.path, []).append(entry)
        merged: dict[str, tuple[str, int]] = {}
        blobs = self.ctx.blobs
        for path in sorted(by_path):
            parts = by_path[path]
            if len(parts) == 1:
                merged[path] = (parts[0].blob, parts[0].size)
                continue
            ref = blobs.put_stream((chunk for part in parts for chunk in blobs.read_chunks(part.blob)), durable=False)
            merged[path] = (ref.hash, ref.size)
        return merged

    def _egress(self, url: str, outputs: dict[str, tuple[str, int]]) -> None:
        self.control.check()
        files = [(path, self.ctx.blobs.path(blob)) for path, (blob, _) in outputs.items()]
        copied = egress_files(url, files, self.ctx.data_dir)
        log.info("job %s: egressed %d files (%d bytes) to %s", self.key, len(files), copied, url)

    def _write_output(self, out_ref: CommitRef, outputs: dict[str, tuple[str, int]]) -> None:
        """Make the open output commit hold exactly ``outputs``, finish it, record SUCCESS."""
        pfs = self.ctx.pfs
        self.control.check()
        try:
            info = pfs.inspect_commit(out_ref)
        except NotFound:
            raise JobStopped(f"output commit {out_ref} was deleted") from None
        if info.finishing is not None:
            # Finished by someone else (e.g. a forced FinishCommit): the job cannot own it now.
            raise JobStopped(f"output commit {out_ref} was finished outside the job")
        current = {f.path: f.hash for f in pfs.walk_files(out_ref, "/") if f.file_type is FileType.FILE}
        session = pfs.begin_modify(out_ref)
        for path in sorted(current.keys() - outputs.keys()):
            session.delete_file(path)
        for path, (blob, size) in outputs.items():
            if current.get(path) != blob:
                session.put_blob(path, BlobRef(blob, size))  # already stored: recorded, not copied
        with self.control.commit_point(), self.ctx.store.write() as tx:
            if session.pending:
                session.commit()
            else:
                session.abort()
            pfs.finish_commit(out_ref, force=True)
            try:
                self.ctx.jobs.transition(self.key, JobState.JOB_SUCCESS, tx=tx)
            except NotFound:
                raise JobGone() from None
        log.info("job %s: SUCCESS (%d output files)", self.key, len(outputs))


def finish_output_with_error(pfs: PfsService, out_ref: CommitRef, error: str) -> None:
    """Finish a job's output commit with ``error`` unless it is gone or already finished."""
    try:
        info = pfs.inspect_commit(out_ref)
    except NotFound:
        return
    if info.finishing is None:
        pfs.finish_commit(out_ref, error=error, force=True)
