"""The job engine: picks up jobs, runs each on its own thread, stops them, resumes them at start.

``JobEngine`` is the small interface the rest of the server sees (Deps starts and closes it;
the PPS services call ``stop_job``, ``stop_job_set`` and ``on_pipeline_changed``; GetLogs reads
``logs``). ``Engine`` is the embedded implementation. Constructing it starts nothing.

Dispatching: one dispatcher thread wakes when a job is created or reaches a terminal state
(``JOB_LIFECYCLE_TOPIC``, not on progress records), when a runner ends or a pipeline changes,
and at least once a second; it reads the unfinished jobs through their partial index (not a
scan of the job history) and starts, for every pipeline, its oldest unfinished job unless one
of that pipeline's jobs is already running or the pipeline is stopped. Jobs of one pipeline
therefore run one after the other, in creation order, as in Pachyderm (a job's skipping
compares it with the job before).
Each running job has a :class:`~tuskd.engine.job_runner.JobRunner` on its own thread; its
datums run on the shared executor, which bounds the number of user processes server-wide.

Start (``start``), before anything is dispatched:

1. Processes a crashed earlier server left behind are killed. Every user process and every
   sandbox helper carries ``TUSK_ENGINE_ID=<id of this data dir>`` in its environment; the
   engine scans ``/proc`` for it and SIGKILLs every process in those processes' private mount
   namespaces, then them and their process groups. (Helpers normally do this themselves when
   their server dies; in fallback mode a process that scrubbed its environment and left its
   process group escapes; see docs/jobs.md.)
2. Datum work directories from before are removed.
3. Unfinished jobs resume. A job that had reached RUNNING goes back to STARTING with
   ``restart`` + 1 (it takes its inputs again; datums already recorded are not run again).
   EGRESSING and FINISHING jobs get ``restart`` + 1 and redo that step (both are idempotent).
   CREATED and STARTING jobs had done no work, so their ``restart`` stays as it was.

Close (``close``): running user code is killed and nothing is recorded; the jobs stay as they
are in the store and resume at the next start.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from tuskd.blobs.base import BlobStore
from tuskd.domain import datum_ledger as ledger
from tuskd.domain.datum_ledger import DatumChange
from tuskd.domain.errors import FailedPrecondition, NotFound
from tuskd.domain.jobs import Job, JobKey, job_not_found, transition
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.states import TERMINAL_JOB_STATES, DatumState, JobState, is_terminal
from tuskd.engine.executor import Executor
from tuskd.engine.job_control import JobControl
from tuskd.engine.job_runner import (
    ENGINE_ID_ENV,
    EngineContext,
    JobRunner,
    SpecLoader,
    output_gone,
)
from tuskd.engine.logs import DatumLogs
from tuskd.engine.outputs import DEFAULT_OUTPUT_LIMIT
from tuskd.engine.ports import (
    JOB_LIFECYCLE_TOPIC,
    CommitPort,
    JobLedger,
    Notifier,
    PipelineChangeView,
    Terminator,
)
from tuskd.engine.procs import kill_namespace, namespace_id
from tuskd.engine.sandbox import Isolation, SandboxPool, detect_isolation
from tuskd.engine.workspace import Workspace, default_scratch_root
from tuskd.engine.zygote import READONLY_ENV
from tuskd.store.base import Store
from tuskd.store.pps import DatumRow, JobQuery, JobRow

__all__ = ["Engine", "JobEngine", "engine_id_for", "kill_leftover_processes"]

log = logging.getLogger(__name__)

_WAKE_TOPIC = "engine/wake"
_RESCAN_SECONDS = 1.0
_CLOSE_JOIN_SECONDS = 30.0
RELAUNCH_DELAY = 5.0
"""A job whose runner could not record its outcome (a full disk) is taken up again after this."""
_NON_TERMINAL = tuple(s for s in JobState if s not in TERMINAL_JOB_STATES and s != JobState.JOB_STATE_UNKNOWN)


class JobEngine(Protocol):
    """What the server needs from a job engine."""

    logs: DatumLogs

    def start(self) -> None:
        """Kill leftovers of a crash, resume unfinished jobs, start dispatching."""
        ...

    def close(self) -> None:
        """Kill running user code and stop; unfinished jobs resume at the next start."""
        ...

    def stop_job(self, key: JobKey, reason: str = "job stopped", grace: float = 0.0) -> Job:
        """Stop one job; returns once it is durably KILLED (or was already terminal) and none
        of its processes is alive. ``grace``: running datums may finish for that long first.
        NotFound for an unknown job."""
        ...

    def stop_job_set(self, set_id: str, reason: str = "job stopped", grace: float = 0.0) -> list[Job]:
        """Stop every job of a job set, like ``stop_job``; NotFound for an unknown set."""
        ...

    def on_pipeline_changed(self, project: str, name: str, killed: Iterable[JobKey] = ()) -> None:
        """A pipeline was updated, stopped, started or deleted: stop the jobs that must not go
        on (``killed``, older versions, every job of a stopped or deleted pipeline), then
        dispatch. Returns once their processes are gone."""
        ...


def engine_id_for(data_dir: Path) -> str:
    """The marker user processes of the server on ``data_dir`` carry in their environment."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]


def kill_leftover_processes(engine_id: str, wait: float = 5.0) -> int:
    """SIGKILL every process (and its process group) whose environment names ``engine_id``, and
    every process in the private mount namespaces of those (the sandbox helpers' namespaces:
    this also finds user processes that scrubbed their environment)."""
    marker = f"{ENGINE_ID_ENV}={engine_id}".encode()
    own = {os.getpid()}
    own_ns = namespace_id("self")
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in own:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if marker in env.split(b"\0"):
            found.append(int(name))
    # Namespaces first, while the helpers that hold them are alive (so no other can take
    # their identity).
    for ns in {namespace_id(pid) for pid in found} - {own_ns, None}:
        assert ns is not None
        found.extend(p for p in kill_namespace(ns, wait=wait) if p not in found)
    for pid in found:
        with contextlib.suppress(OSError):
            pgid = os.getpgid(pid)
            if pgid != os.getpgid(0):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    for pid in found:
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    state = fh.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                break
            if state in (b"Z", b"X"):
                break
            time.sleep(0.01)
    if found:
        log.warning("killed %d user process(es) left by an earlier server: %s", len(found), found)
    return len(found)


class Engine(JobEngine):
    """The embedded job engine: a dispatcher thread, one thread per running job."""

    def __init__(
        self,
        *,
        store: Store,
        jobs: JobLedger,
        pfs: CommitPort,
        blobs: BlobStore,
        hub: Notifier,
        executor: Executor,
        data_dir: Path,
        load_spec: SpecLoader,
        terminator: Terminator,
        clock: Callable[[], float] = time.time,
        isolation: Isolation | None = None,
        datum_output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self._store = store
        self._output_limit = datum_output_limit
        self._jobs = jobs
        self._pfs = pfs
        self._hub = hub
        self._data_dir = data_dir
        self._clock = clock
        self._isolation = isolation
        self.logs = DatumLogs(data_dir / "logs")
        self._work_root = data_dir / "work"
        self.engine_id = engine_id_for(data_dir)
        self._ctx = EngineContext(
            store=store,
            jobs=jobs,
            pfs=pfs,
            blobs=blobs,
            executor=executor,
            workspace=Workspace(self._work_root, blobs, output_limit=datum_output_limit),
            logs=self.logs,
            load_spec=load_spec,
            engine_id=self.engine_id,
            terminator=terminator,
            data_dir=data_dir,
            clock=clock,
        )
        self._terminator = terminator
        self._lock = threading.Lock()
        self._active: dict[JobKey, JobControl] = {}
        self._threads: dict[JobKey, threading.Thread] = {}
        self._killing: set[JobKey] = set()
        # Jobs whose runner ended without a terminal state (their outcome could not be
        # recorded, e.g. on a full disk): not launched again before this monotonic time.
        self._cooldown: dict[JobKey, float] = {}
        self._orphans: set[JobKey] = set()  # unfinished jobs without an output repo
        self._dispatcher: threading.Thread | None = None
        self._closing = False
        self._started = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("engine already started")
            self._started = True
        isolation = self._isolation or detect_isolation()
        # Hard links into blobs are safe only behind read-only mounts (see workspace.py).
        self._ctx.workspace = Workspace(
            self._work_root,
            self._ctx.blobs,
            link=isolation is Isolation.NAMESPACE,
            scratch_root=default_scratch_root(self.engine_id),
            output_limit=self._output_limit,
            # One namespace helper per datum worker, kept for the server's life; they carry the
            # marker too, so a restart after a crash finds them (and what they started).
            sandboxes=SandboxPool(
                isolation=isolation,
                # User code may not write the data directory (store, blobs, other datums).
                env={ENGINE_ID_ENV: self.engine_id, READONLY_ENV: str(self._data_dir.resolve())},
                max_idle=getattr(self._ctx.executor, "max_workers", 8),
            ),
        )
        kill_leftover_processes(self.engine_id)
        self._ctx.workspace.reset()
        self._resume()
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="tusk-dispatcher", daemon=True)
        self._dispatcher.start()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            controls = list(self._active.values())
            threads = list(self._threads.values())
        for control in controls:
            control.shutdown()
        self._hub.publish(_WAKE_TOPIC)
        if self._dispatcher is not None:
            self._dispatcher.join(_CLOSE_JOIN_SECONDS)
        deadline = time.monotonic() + _CLOSE_JOIN_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("job thread %s did not stop in time", thread.name)
        if self._started and not any(t.is_alive() for t in threads):
            self._ctx.workspace.close()

    def _resume(self) -> None:
        now = self._clock()
        resumed = 0
        for row in self._unfinished():
            job = row.job
            out_ref = CommitRef(RepoKey(job.key.project, job.output_repo), id=job.key.id)
            if output_gone(self._pfs, out_ref):
                # Left by a crash in the middle of an older server's DropCommitSet: nothing can
                # finish it (a stopped pipeline's job is never dispatched), and waits must return.
                self._kill_directly(job.key, f"output commit {out_ref} no longer exists")
                continue

            def bump(current: Job) -> Job:
                if current.state == JobState.JOB_RUNNING:
                    current = transition(current, JobState.JOB_STARTING, now)
                elif current.state not in (JobState.JOB_EGRESSING, JobState.JOB_FINISHING):
                    return current
                return replace(current, restart=current.restart + 1)

            if job.state in (JobState.JOB_RUNNING, JobState.JOB_EGRESSING, JobState.JOB_FINISHING):
                self._jobs.change(job.key, bump)
                resumed += 1
        if resumed:
            log.info("resuming %d interrupted job(s)", resumed)

    def _unfinished(self) -> list[JobRow]:
        with self._store.read() as tx:
            return self._jobs.tables(tx).unfinished_jobs()

    # -- dispatching ------------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        with self._hub.subscribe(JOB_LIFECYCLE_TOPIC, _WAKE_TOPIC) as sub:
            while not self._closing:
                try:
                    self._dispatch()
                except Exception:
                    log.exception("job dispatch failed; retrying")
                if sub.cancelled:
                    return
                sub.wait(_RESCAN_SECONDS)

    def _dispatch(self) -> None:
        rows = self._unfinished()
        with self._lock:
            busy = {(k.project, k.pipeline) for k in self._active}
            now = time.monotonic()
            for key in [k for k, until in self._cooldown.items() if until <= now]:
                del self._cooldown[key]
            cooling = set(self._cooldown)
            self._orphans.intersection_update(row.job.key for row in rows)
            orphans = set(self._orphans)
        stopped: dict[tuple[str, str], bool] = {}
        heads: dict[tuple[str, str], JobRow] = {}
        for row in rows:  # oldest first
            if row.job.key in orphans:
                continue
            pipeline = (row.job.key.project, row.job.key.pipeline)
            heads.setdefault(pipeline, row)
        with self._store.read() as tx:
            tables = self._jobs.tables(tx)
            for pipeline in heads:
                prow = tables.get_pipeline(*pipeline)
                stopped[pipeline] = prow is not None and prow.stopped
        for pipeline, row in heads.items():
            if pipeline in busy or stopped[pipeline] or row.job.key in cooling:
                continue
            self._launch(row.job.key)

    def _launch(self, key: JobKey) -> None:
        with self._lock:
            if self._closing or key in self._active or key in self._killing:
                return
            control = JobControl(key)
            runner = JobRunner(self._ctx, key, control)
            thread = threading.Thread(target=self._run, args=(runner,), name=f"job-{key}", daemon=True)
            self._active[key] = control
            self._threads[key] = thread
        thread.start()

    def _run(self, runner: JobRunner) -> None:
        try:
            runner.run()
        finally:
            with self._lock:
                self._active.pop(runner.key, None)
                self._threads.pop(runner.key, None)
                if runner.unfinished:
                    self._cooldown[runner.key] = time.monotonic() + RELAUNCH_DELAY
                if runner.control.orphan:
                    self._orphans.add(runner.key)
            if not self._closing:
                self._hub.publish(_WAKE_TOPIC)

    # -- stopping ---------------------------------------------------------------------------

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
        with self._lock:
            for key in self._active:  # running jobs whose rows went with the pipeline, or were killed
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
        self._hub.publish(_WAKE_TOPIC)

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
            with self._lock:
                control = self._active.get(key)
                if control is None:
                    self._killing.add(key)
            if control is None:
                direct.append(key)
            else:
                control.request_stop(reason, grace)
                waiting.append(control)
        results: dict[JobKey, Job] = {}
        try:
            for key in direct:
                try:
                    results[key] = self._kill_directly(key, reason)
                except NotFound:
                    if not missing_ok:
                        raise
        finally:
            with self._lock:
                self._killing.difference_update(direct)
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
            self._hub.publish(_WAKE_TOPIC)
        return [results[k] for k in order if k in results]

    def _kill_unheld(self, key: JobKey, reason: str) -> Job:
        with self._lock:
            if key in self._active:  # relaunched meanwhile: stop that runner instead
                control = self._active[key]
            else:
                control = None
                self._killing.add(key)
        if control is not None:
            control.request_stop(reason)
            control.done.wait()
            return self._jobs.get(key).job
        try:
            return self._kill_directly(key, reason)
        finally:
            with self._lock:
                self._killing.discard(key)

    def _kill_directly(self, key: JobKey, reason: str) -> Job:
        """KILLED for a job no runner holds (nothing of it runs), through the one terminate
        path: the job and its output commit change in one transaction."""
        with self._store.write() as tx:
            job = self._terminator.terminate(tx, key, JobState.JOB_KILLED, reason)
        log.info("job %s: %s: %s", key, job.state.name, job.reason)
        return job

    # -- restarting datums -------------------------------------------------------------------

    def _restartable(self, key: JobKey) -> JobControl:
        """The control of ``key`` if its datums can be restarted now, else FailedPrecondition."""
        job = self._jobs.get(key).job  # NotFound for an unknown job
        with self._lock:
            control = self._active.get(key)
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
        with self._lock:
            control = self._active.get(key)
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
                        control.running[i].restart = True
                        control.running[i].cancel.set()
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

    # -- introspection (tests, diagnostics) ---------------------------------------------------

    def running(self) -> list[JobKey]:
        with self._lock:
            return list(self._active)
