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
compares it with the job before). A job this engine runs that is no longer unfinished in the
store (ended or deleted by another server sharing the database) is stopped: its processes are
killed, its stored outcome stays.
Each running job has a :class:`~tuskd.engine.job_runner.JobRunner` on its own thread; its
datums run on the shared executor, which bounds the number of user processes server-wide.

Start (``start``), before anything is dispatched:

1. Processes a crashed earlier server left behind are killed (engine/leftovers.py: every user
   process and sandbox helper carries ``TUSK_ENGINE_ID=<id of this data dir>``; see there).
2. Datum work directories from before are removed.
3. Unfinished jobs resume. A job that had reached RUNNING goes back to STARTING with
   ``restart`` + 1 (it takes its inputs again; datums already recorded are not run again).
   EGRESSING and FINISHING jobs get ``restart`` + 1 and redo that step (both are idempotent).
   CREATED and STARTING jobs had done no work, so their ``restart`` stays as it was.

Close (``close``): running user code is killed and nothing is recorded; the jobs stay as they
are in the store and resume at the next start.

Stopping jobs is engine/job_stops.py, restarting datums engine/datum_restarts.py; the jobs
with a runner are engine/running_jobs.py, which the three share.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from tuskd.blobs.base import BlobStore
from tuskd.domain.jobs import Job, JobKey, transition
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.states import JobState
from tuskd.engine.datum_restarts import DatumRestarter
from tuskd.engine.executor import Executor, WorkerSetup
from tuskd.engine.job_control import JobControl
from tuskd.engine.job_runner import (
    ENGINE_ID_ENV,
    EngineContext,
    JobRunner,
    SpecLoader,
    output_gone,
)
from tuskd.engine.job_stops import JobStopper
from tuskd.engine.leftovers import engine_id_for, kill_leftover_processes
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
from tuskd.engine.running_jobs import WAKE_TOPIC, RunningJobs
from tuskd.engine.sandbox import Isolation
from tuskd.engine.zygote import READONLY_ENV
from tuskd.store.base import Store
from tuskd.store.pps import DatumRow, JobRow

__all__ = ["Engine", "JobEngine", "engine_id_for", "kill_leftover_processes"]

log = logging.getLogger(__name__)

_RESCAN_SECONDS = 1.0
_CLOSE_JOIN_SECONDS = 30.0
RELAUNCH_DELAY = 5.0
"""A job whose runner could not record its outcome (a full disk) is taken up again after this."""


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
        self.engine_id = engine_id_for(data_dir)
        self._ctx = EngineContext(
            store=store,
            jobs=jobs,
            pfs=pfs,
            blobs=blobs,
            executor=executor,
            output_limit=datum_output_limit,
            logs=self.logs,
            load_spec=load_spec,
            engine_id=self.engine_id,
            terminator=terminator,
            data_dir=data_dir,
            clock=clock,
        )
        self._running = RunningJobs()
        self._lock = self._running.lock  # also guards the dispatcher's state below
        self._stopper = JobStopper(store=store, jobs=jobs, hub=hub, terminator=terminator, running=self._running)
        self._restarter = DatumRestarter(store=store, jobs=jobs, running=self._running)
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
        kill_leftover_processes(self.engine_id)
        # The executor's sandbox helpers and user processes carry the engine's marker, so a
        # restart after a crash finds them (and what they started); user code may not write
        # the data directory (store, blobs, other datums).
        env = {ENGINE_ID_ENV: self.engine_id, READONLY_ENV: str(self._data_dir.resolve())}
        self._ctx.executor.prepare(WorkerSetup(self.engine_id, tuple(env.items()), self._isolation))
        self._resume()
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="tusk-dispatcher", daemon=True)
        self._dispatcher.start()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            controls = list(self._running.active.values())
            threads = list(self._running.threads.values())
        for control in controls:
            control.shutdown()
        self._hub.publish(WAKE_TOPIC)
        if self._dispatcher is not None:
            self._dispatcher.join(_CLOSE_JOIN_SECONDS)
        deadline = time.monotonic() + _CLOSE_JOIN_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("job thread %s did not stop in time", thread.name)

    def _resume(self) -> None:
        now = self._clock()
        resumed = 0
        for row in self._unfinished():
            job = row.job
            out_ref = CommitRef(RepoKey(job.key.project, job.output_repo), id=job.key.id)
            if output_gone(self._pfs, out_ref):
                # Left by a crash in the middle of an older server's DropCommitSet: nothing can
                # finish it (a stopped pipeline's job is never dispatched), and waits must return.
                self._stopper.kill_directly(job.key, f"output commit {out_ref} no longer exists")
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
        with self._hub.subscribe(JOB_LIFECYCLE_TOPIC, WAKE_TOPIC) as sub:
            while not self._closing:
                try:
                    self._dispatch()
                except Exception:
                    log.exception("job dispatch failed; retrying")
                if sub.cancelled:
                    return
                sub.wait(_RESCAN_SECONDS)

    def _dispatch(self) -> None:
        with self._store.read() as tx:  # keys only: nothing parsed per unfinished job
            keys = self._jobs.tables(tx).unfinished_job_keys()
        self._stop_ended_elsewhere(set(keys))
        with self._lock:
            busy = {(k.project, k.pipeline) for k in self._running.active}
            now = time.monotonic()
            for key in [k for k, until in self._cooldown.items() if until <= now]:
                del self._cooldown[key]
            cooling = set(self._cooldown)
            self._orphans.intersection_update(keys)
            orphans = set(self._orphans)
        stopped: dict[tuple[str, str], bool] = {}
        heads: dict[tuple[str, str], JobKey] = {}
        for key in keys:  # oldest first
            if key not in orphans:
                heads.setdefault((key.project, key.pipeline), key)
        with self._store.read() as tx:
            tables = self._jobs.tables(tx)
            for pipeline in heads:
                prow = tables.get_pipeline(*pipeline)
                stopped[pipeline] = prow is not None and prow.stopped
        for pipeline, key in heads.items():
            if pipeline in busy or stopped[pipeline] or key in cooling:
                continue
            self._launch(key)

    def _stop_ended_elsewhere(self, unfinished: set[JobKey]) -> None:
        """Stop what still runs of jobs that are no longer unfinished in the store: ended or
        deleted by another server (on PostgreSQL, an API server that is not the engine leader
        updates or deletes a pipeline, or deletes a job). The runner records nothing over the
        outcome already stored; its user processes are killed now rather than left to finish."""
        with self._lock:
            # Only this thread launches runners, each after reading its job as unfinished: every
            # runner here was launched before ``unfinished`` was read, so it is judged by it.
            ended = [(k, c) for k, c in self._running.active.items() if k not in unfinished]
        for key, control in ended:
            if control.request_stop("the job ended on another server"):
                log.info("job %s: ended or deleted elsewhere; stopping what still runs of it", key)

    def _launch(self, key: JobKey) -> None:
        with self._lock:
            if self._closing or key in self._running.active or key in self._running.killing:
                return
            control = JobControl(key)
            runner = JobRunner(self._ctx, key, control)
            thread = threading.Thread(target=self._run, args=(runner,), name=f"job-{key}", daemon=True)
            self._running.active[key] = control
            self._running.threads[key] = thread
        thread.start()

    def _run(self, runner: JobRunner) -> None:
        try:
            runner.run()
        finally:
            with self._lock:
                self._running.active.pop(runner.key, None)
                self._running.threads.pop(runner.key, None)
                if runner.unfinished:
                    self._cooldown[runner.key] = time.monotonic() + RELAUNCH_DELAY
                if runner.control.orphan:
                    self._orphans.add(runner.key)
            if not self._closing:
                self._hub.publish(WAKE_TOPIC)

    # -- stopping (engine/job_stops.py) and restarting datums (engine/datum_restarts.py) -----

    def stop_job(self, key: JobKey, reason: str = "job stopped", grace: float = 0.0) -> Job:
        return self._stopper.stop_job(key, reason, grace)

    def stop_job_set(self, set_id: str, reason: str = "job stopped", grace: float = 0.0) -> list[Job]:
        return self._stopper.stop_job_set(set_id, reason, grace)

    def on_pipeline_changed(self, project: str, name: str, killed: Iterable[JobKey] = ()) -> None:
        self._stopper.on_pipeline_changed(project, name, killed)

    def pipeline_changed(self, change: PipelineChangeView) -> None:
        """``PipelineService`` listener (after the change committed): stop what it killed, dispatch."""
        self._stopper.pipeline_changed(change)

    def job_killed(self, key: JobKey, reason: str) -> None:
        """``JobTrigger`` kill listener: the job was KILLED because its output commit went (a
        dropped or squashed commit set); once that committed, stop what still runs of it."""
        self._stopper.job_killed(key, reason)

    def unrecorded_datums(self, key: JobKey) -> list[DatumRow]:
        """Datums of a running job with no row of their own yet (running or waiting), as rows
        in STARTING, so RestartDatum's data filters can find them. Empty for other jobs."""
        return self._restarter.unrecorded_datums(key)

    def restart_datums(self, key: JobKey, datum_ids: Sequence[str]) -> list[str]:
        """Run datums of a RUNNING job again; returns the IDs restarted (see
        :meth:`~tuskd.engine.datum_restarts.DatumRestarter.restart_datums`)."""
        return self._restarter.restart_datums(key, datum_ids)

    # -- introspection (tests, diagnostics) ---------------------------------------------------

    def running(self) -> list[JobKey]:
        with self._lock:
            return list(self._running.active)
