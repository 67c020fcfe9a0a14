"""A job's datums (steps 2 and 3 of engine/job_runner.py): planned over its input commits,
skipped when the previous successful job ran them alike, run on the executor, and recorded in
batches (datum rows, outputs and counters in one transaction), retried while the store refuses."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from tuskd.domain import datum_ledger as ledger
from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.datums import Datum, FileEntry, datum_hash, plan_datums
from tuskd.domain.errors import NotFound
from tuskd.domain.inputs import PfsInput
from tuskd.domain.jobs import DatumRecord, Job, JobKey, Stats, transition
from tuskd.domain.pfs import CommitRef, FileType, RepoKey
from tuskd.domain.pipelines import REPROCESS_EVERY_JOB, PipelineSpec
from tuskd.domain.states import DatumState, JobState, is_datum_done, is_terminal
from tuskd.engine.datum_tasks import DatumTasks, FinishedDatum
from tuskd.engine.datum_work import DatumResult, DatumTask
from tuskd.engine.job_context import EngineContext, JobInputs
from tuskd.engine.job_control import JobControl, JobGone, JobStopped, RunningDatum
from tuskd.engine.sandbox import format_seconds
from tuskd.store.pps import DatumConflict, DatumRow, OutputEntry

__all__ = [
    "ENGINE_ID_ENV",
    "FLUSH_DATUMS",
    "FLUSH_SECONDS",
    "RECORD_RETRY_DELAYS",
    "JobDatums",
    "RecordFailed",
]

log = logging.getLogger("tuskd.engine.job_runner")  # a job's whole run logs under one name

FLUSH_SECONDS = 0.1
"""Finished datums are recorded at most this often (the first after a quiet spell at once)."""
FLUSH_DATUMS = 500
"""... or as soon as this many are waiting."""
ENGINE_ID_ENV = "TUSK_ENGINE_ID"
"""Set in every user process, so a restarted server can find and kill what a crash left."""
RECORD_RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6)
"""Pauses between tries of recording a batch of finished datums (the batch is kept meanwhile);
when the last try fails too, the job fails with the reason."""


class RecordFailed(Exception):
    """Finished datums could not be recorded, even after retries: the job fails with this."""


class JobDatums:
    """Plans, runs and records one job's datums (the runner moves the job's states)."""

    def __init__(self, ctx: EngineContext, key: JobKey, control: JobControl) -> None:
        self.ctx = ctx
        self.key = key
        self.control = control
        self._tasks = DatumTasks(ctx, key)

    def run_datums(self, spec: PipelineSpec, inputs: JobInputs) -> None:
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
                d.record.id: d.record.counted
                for d in recorded
                if d.record.state == DatumState.STARTING and d.record.counted is not None
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

        changes = [
            ledger.skip(row.record, row.inputs_json)
            for row in (self._datum_row(d, hashes[d.id], DatumState.UNKNOWN, inputs) for d in skipped)
        ]

        def start_running(job: Job) -> Job:
            if job.state != JobState.JOB_RUNNING:
                job = transition(job, JobState.JOB_RUNNING, now)
            return replace(job, total=len(datums), counts=job.counts + ledger.adds(changes))

        with self.control.lock:
            self.control.check()
            self.control.plan = {d.id: d for d in datums}
            self.control.describe = lambda d: self._datum_row(d, hashes[d.id], DatumState.STARTING, inputs)
            self.control.datums_closed = False
            with ctx.store.write() as tx:
                if prev_row is not None and skipped:
                    ctx.jobs.tables(tx).copy_datum_outputs(prev_row, row.row, [d.id for d in skipped])
                job = ctx.jobs.change(key, start_running, datums=changes, tx=tx)
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
        inputs: JobInputs,
        counted: dict[str, DatumState],
    ) -> None:
        """Run ``todo``; ``counted``: restarted datums and the outcome already counted for them.

        The datums go to the executor as plain tasks, pulled lazily; a consumer thread turns the
        results into finished datums (and resubmits, with a new nonce, a datum RestartDatum cancelled)
        while this thread records them in batches."""
        base_env = {
            **dict(spec.transform.env),
            "PACH_JOB_ID": self.key.id,
            "PACH_OUTPUT_COMMIT_ID": self.key.id,
            "PPS_PIPELINE_NAME": self.key.pipeline,
            "PPS_PROJECT_NAME": self.key.project,
            ENGINE_ID_ENV: self.ctx.engine_id,
        }
        control = self.control
        batch = self.ctx.executor.open_batch(str(self.key), max(spec.parallelism, 1))
        submitted: dict[str, Datum] = {}  # nonce -> datum
        submitted_lock = threading.Lock()

        def submissions(datums: Iterable[Datum]) -> Iterator[DatumTask]:
            for datum in datums:  # pulled by the executor when a worker is about to run it
                task = self._tasks.task(datum, spec, base_env)
                with submitted_lock:
                    submitted[task.nonce] = datum
                with control.lock:
                    control.running[datum.id] = RunningDatum(batch, task.nonce)
                yield task

        def finish(nonce: str, result: DatumResult) -> FinishedDatum | None:
            with submitted_lock:
                datum = submitted.pop(nonce)
            finished = self._tasks.finished(datum, hashes[datum.id], result, counted.get(datum.id))
            with control.lock:  # one look, so RestartDatum sees the datum running or finished
                running = control.running.get(datum.id)
                ours = running is not None and running.nonce == nonce
                if ours:
                    del control.running[datum.id]
                restart = ours and running is not None and running.restart and not control.kill.is_set()
                if finished is not None and not restart:
                    control.finished[datum.id] = finished.state
            if restart:
                log.info("job %s: datum %s restarted (its run ended %s)", self.key, datum.id, result.outcome.name)
                batch.submit(submissions([datum]), first=True)
                return None
            if finished is not None:
                self.ctx.logs.write(self.key, datum.id, finished.result.log)
            return finished

        results: queue.SimpleQueue[FinishedDatum | BaseException | None] = queue.SimpleQueue()

        def consume() -> None:
            try:
                for nonce, result in batch:
                    finished = finish(nonce, result)
                    if finished is not None:
                        results.put(finished)
            except BaseException as exc:  # delivered to the job thread
                results.put(exc)
            finally:
                results.put(None)

        # The job's events reach the batch: no_more drains it, kill cancels its running datums.
        unsubscribe = (control.no_more.on_set(batch.drain), control.kill.on_set(batch.cancel_all))
        batch.submit(submissions(todo))
        consumer = threading.Thread(target=consume, name=f"datums-{self.key}", daemon=True)
        consumer.start()
        pending: list[FinishedDatum] = []
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
                    # The batch ends here (the runner may retry the job): its running datums
                    # are killed, never left to finish unseen beside the retry.
                    error = item
                    batch.cancel_all()
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
        finally:
            for stop in unsubscribe:
                stop()
            batch.close()
            with control.lock:  # pulled but dropped (a stop): never ran
                for datum_id in [i for i, r in control.running.items() if r.batch is batch]:
                    del control.running[datum_id]
        consumer.join()
        if pending:
            self._record(pending, inputs)
        if error is not None:
            self.control.check()
            raise error

    def _listing(self, inputs: JobInputs) -> Callable[[PfsInput], Sequence[FileEntry]]:
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

    def _datum_row(
        self,
        datum: Datum,
        hash_: str,
        state: DatumState,
        inputs: JobInputs,
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

    def _ended_meanwhile(self) -> None:
        """JobStopped when the job is terminal already (its unrecorded datums are dropped)."""
        try:
            job = self.ctx.jobs.get(self.key).job
        except NotFound:
            raise JobGone() from None
        if is_terminal(job.state):
            raise JobStopped(job.reason or f"the job ended {job.state.name}")

    def _record(self, finished: list[FinishedDatum], inputs: JobInputs) -> None:
        """Record finished datums, their outputs and the counters in one transaction."""
        if not finished:
            return
        # A datum restarted after a FAILED or RECOVERED run adds only an outcome not yet counted
        # for it (the ledger decides): counters never go backwards.
        stats = Stats()
        changes: list[DatumChange] = []
        outputs: list[OutputEntry] = []
        for f in finished:
            stats = stats + f.stats
            row = self._datum_row(f.datum, f.hash, f.state, inputs, f.result.attempts, f.result.reason, f.stats)
            changes.append(ledger.finish(row.record, f.previous, row.inputs_json))
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
                                changes[i] = ledger.restart(changes[i])
                            else:
                                del control.reruns[f.datum.id]
                    counts = ledger.adds(changes)
                    self.ctx.jobs.record_progress(self.key, counts, stats, datums=changes, outputs=outputs)
                return
            except NotFound:
                raise JobGone() from None
            except Exception as exc:
                if isinstance(exc, DatumConflict):
                    self._ended_meanwhile()  # the writer that moved these rows ended the job
                # A full disk, a busy store...: the batch is kept and recorded again; a datum is
                # never dropped (nor the job's counters left behind its rows).
                if delay is None:
                    raise RecordFailed(f"could not record the results of {len(finished)} datum(s): {exc}") from exc
                log.warning(
                    "job %s: could not record %d datum(s) (try %d of %d), retrying in %.1fs: %s",
                    self.key, len(finished), attempt + 1, len(RECORD_RETRY_DELAYS) + 1, delay, exc,
                )  # fmt: skip
                time.sleep(delay)
