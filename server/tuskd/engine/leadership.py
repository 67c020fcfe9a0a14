"""Which server runs the engine when several share one database: the engine lease, applied.

``tusk serve --engine on|standby|off`` ($TUSK_ENGINE). On a store with an engine lease
(PostgreSQL: store/postgres_lease.py) a :class:`Leadership` thread takes the lease when it is
free or has lapsed, and only then starts what a leader runs (the engine, the cron ticker):
exactly a restart's start, so leftovers are killed and unfinished jobs resume (``restart`` + 1
for a job that was running, finished datums kept). While leading it renews the lease every
third of its length; from the moment it takes the lease every write of this server checks the
lease's epoch in its own transaction (the store's fence), so writes of a leader that was taken
over are refused.

* ``on``: tries at start, and keeps trying while another live server holds the lease.
* ``standby``: waits one lease length before its first try (so a leader started beside it
  wins), then the same.
* ``off``: never runs an engine.

A leader that finds its lease taken (its renewal matched no row, or it could not renew for a
whole lease length) stops its engine at once, as a shutdown does, and runs none again until it
is restarted. A leader closing cleanly releases the lease, so a standby takes over at once.

While this server does not lead, StopJob and RestartDatum are handed to the leader through the
database (engine/engine_requests.py) and answered with its outcome; on a store without that
(SQLite, whose one server then runs no engine) they are UNAVAILABLE. The rest of the API is
served as usual.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Protocol

from tuskd.domain.errors import Unavailable
from tuskd.domain.jobs import Job, JobKey, job_from_dict, job_to_dict
from tuskd.engine.engine_requests import RequestPort, RequestRunner, forward
from tuskd.engine.logs import DatumLogs
from tuskd.engine.ports import PipelineChangeView
from tuskd.engine.scheduler import Engine, JobEngine
from tuskd.store.pps import DatumRow

__all__ = ["EngineMode", "Leadership", "LeasePort", "SoleLease", "no_fence", "server_name"]

log = logging.getLogger(__name__)

EngineMode = Literal["on", "standby", "off"]
_START_WAIT_SECONDS = 120.0
_FORWARD_SECONDS = 60.0  # the leader's answer to a forwarded StopJob (plus its grace) or RestartDatum


def _key_args(key: JobKey) -> list[str]:
    return [key.project, key.pipeline, key.id]


def _key(args: list[str]) -> JobKey:
    return JobKey(args[0], args[1], args[2])


def server_name(address: str = "") -> str:
    """How this server names itself in the lease row (and in messages naming the leader)."""
    where = f" serving {address}" if address else ""
    return f"tusk server pid {os.getpid()} on {socket.gethostname()}{where}"


class LeaseView(Protocol):
    @property
    def epoch(self) -> int: ...

    @property
    def live(self) -> bool: ...

    def describe(self) -> str: ...


class LeasePort(Protocol):
    """The store's engine lease (store/postgres_lease.py's EngineLease)."""

    seconds: float

    def take(self, holder: str) -> int | None: ...

    def renew(self, epoch: int) -> bool: ...

    def release(self, epoch: int) -> None: ...

    def holder(self) -> LeaseView: ...


class Leadership(JobEngine):
    """Runs ``engine`` (and ``extra`` starts/stops, e.g. the cron ticker) while this server
    holds the lease; the :class:`JobEngine` the services see (commands reach the engine only
    while it leads)."""

    def __init__(
        self,
        engine: Engine,
        lease: LeasePort,
        fence: Callable[[int | None], None],
        me: Callable[[], str],
        mode: EngineMode,
        on_lead: Sequence[Callable[[], None]] = (),
        on_stop: Sequence[Callable[[], None]] = (),
        requests: RequestPort | None = None,
    ) -> None:
        self.engine = engine
        self.logs: DatumLogs = engine.logs
        self._lease = lease
        self._fence = fence
        self._me = me
        self._mode = mode
        self._on_lead = list(on_lead)
        self._on_stop = list(on_stop)
        self._requests = requests  # None: StopJob/RestartDatum are UNAVAILABLE off the leader
        self._runner: RequestRunner | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.epoch: int | None = None  # the lease this server holds (None: not leading)
        self._lost = False
        # Clear while the engine starts: renewals go on meanwhile (a start may outlast the
        # lease), and a step-down waits for the start to end before stopping what it started.
        self._started = threading.Event()
        self._started.set()

    @property
    def leading(self) -> bool:
        return self.epoch is not None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._mode == "off":
            log.info("engine off: this server runs no jobs")
            return
        took = self._mode == "on" and self._try_take()  # the usual case: lead from the first call
        if self._mode == "on" and not took:
            log.info("engine lease held by %s: standing by until it lapses", self._describe_holder())
        self._thread = threading.Thread(target=self._loop, name="tusk-engine-lease", daemon=True)
        self._thread.start()  # renews from now on
        if took:  # here, so leftovers are killed and jobs resumed before the server serves
            self._lead()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._lease.seconds + 5)
        with self._lock:
            epoch = self.epoch
        if epoch is not None:
            self._step_down("closing")
            try:
                self._lease.release(epoch)
            except Unavailable as exc:
                log.warning("could not release the engine lease (it lapses by itself): %s", exc)

    def _loop(self) -> None:
        period = self._lease.seconds / 3
        if self._mode == "standby" and not self.leading and self._stop.wait(self._lease.seconds):
            return
        while not self._stop.is_set() and not self._lost:
            if self.leading:
                if not self._renew_until_lost(period):
                    return
            elif self._try_take():
                threading.Thread(target=self._lead_or_step_down, name="tusk-engine-start", daemon=True).start()
            elif self._stop.wait(period):
                return

    def _try_take(self) -> bool:
        try:
            epoch = self._lease.take(self._me())
        except Unavailable as exc:
            log.warning("could not reach the database for the engine lease: %s", exc)
            return False
        if epoch is None:
            return False
        with self._lock:
            self.epoch = epoch
            self._started.clear()
        self._fence(epoch)  # before anything of the engine writes
        log.info("took the engine lease (epoch %d): starting the engine", epoch)
        return True

    def _lead(self) -> None:
        try:
            for start in self._on_lead:
                start()
            epoch = self.epoch
            if self._requests is not None and epoch is not None:
                self._runner = RequestRunner(self._requests, epoch, self._handlers())
                self._runner.start()
        finally:
            self._started.set()

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        engine = self.engine
        return {
            "stop_job": lambda a: job_to_dict(engine.stop_job(_key(a["key"]), a["reason"], a["grace"])),
            "stop_job_set": lambda a: [
                job_to_dict(j) for j in engine.stop_job_set(a["set_id"], a["reason"], a["grace"])
            ],
            "restart_datums": lambda a: engine.restart_datums(_key(a["key"]), a["datum_ids"]),
        }

    def _lead_or_step_down(self) -> None:
        try:
            self._lead()
        except Exception:
            log.exception("the engine did not start: giving the engine lease up")
            with self._lock:
                epoch = self.epoch
            self._lost = True
            self._step_down("the engine did not start")
            if epoch is not None:
                try:
                    self._lease.release(epoch)
                except Unavailable as exc:
                    log.warning("could not release the engine lease (it lapses by itself): %s", exc)

    def _renew_until_lost(self, period: float) -> bool:
        """Renew while leading; False once the lease was lost (the engine is then stopped)."""
        last_renewed = time.monotonic()
        while not self._stop.wait(period):
            epoch = self.epoch
            if epoch is None:
                return False
            try:
                if self._lease.renew(epoch):
                    last_renewed = time.monotonic()
                    continue
                why = "another server took the engine lease"
            except Unavailable as exc:
                if time.monotonic() - last_renewed < self._lease.seconds:
                    log.warning("could not renew the engine lease (retrying): %s", exc)
                    continue
                why = f"the engine lease could not be renewed for {self._lease.seconds:g} s ({exc})"
            log.error("%s: stopping this server's engine; restart the server to stand by again", why)
            self._lost = True
            self._step_down(why)
            return False
        return True

    def _step_down(self, why: str) -> None:
        if not self._started.wait(_START_WAIT_SECONDS):
            log.warning("the engine is still starting after %g s: stopping it anyway", _START_WAIT_SECONDS)
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        for stop in self._on_stop:
            try:
                stop()
            except Exception:
                log.exception("error while stopping the engine (%s)", why)
        with self._lock:
            self.epoch = None
        self._fence(None)

    # -- the engine's commands: here only while leading --------------------------------------

    def _forward(self, what: str, kind: str, args: dict[str, Any], timeout: float) -> Any:
        """``what`` on the engine leader, through the database. UNAVAILABLE at once where it
        cannot be handed over: no live leader, or a store without requests (SQLite, whose one
        server then runs no engine)."""
        try:
            holder = self._lease.holder()
        except Unavailable as exc:
            raise Unavailable(f"{what} needs the job engine, and the database is unreachable: {exc}") from exc
        if self._requests is None or not holder.live:
            missing = "" if self._requests is None else "; no server holds the engine lease now"
            raise Unavailable(
                f"{what} needs the job engine, which this server does not run (--engine {self._mode}"
                f"{', its lease was lost' if self._lost else ''}){missing}; engine leader: {holder.describe()}",
                reason="NOT_ENGINE_LEADER",
            )
        return forward(self._requests, kind, args, timeout, self._describe_holder)

    def _describe_holder(self) -> str:
        try:
            return self._lease.holder().describe()
        except Unavailable:
            return "unknown (the database is unreachable)"

    def stop_job(self, key: JobKey, reason: str = "job stopped", grace: float = 0.0) -> Job:
        if self.leading:
            return self.engine.stop_job(key, reason, grace)
        args = {"key": _key_args(key), "reason": reason, "grace": grace}
        return job_from_dict(self._forward("StopJob", "stop_job", args, grace + _FORWARD_SECONDS))

    def stop_job_set(self, set_id: str, reason: str = "job stopped", grace: float = 0.0) -> list[Job]:
        if self.leading:
            return self.engine.stop_job_set(set_id, reason, grace)
        args = {"set_id": set_id, "reason": reason, "grace": grace}
        return [job_from_dict(j) for j in self._forward("StopJob", "stop_job_set", args, grace + _FORWARD_SECONDS)]

    def on_pipeline_changed(self, project: str, name: str, killed: Iterable[JobKey] = ()) -> None:
        if self.leading:
            self.engine.on_pipeline_changed(project, name, killed)

    def pipeline_changed(self, change: PipelineChangeView) -> None:
        if self.leading:
            self.engine.pipeline_changed(change)

    def job_killed(self, key: JobKey, reason: str) -> None:
        if self.leading:
            self.engine.job_killed(key, reason)

    def unrecorded_datums(self, key: JobKey) -> list[DatumRow]:
        return self.engine.unrecorded_datums(key) if self.leading else []

    def restart_datums(self, key: JobKey, datum_ids: Sequence[str]) -> list[str]:
        if self.leading:
            return self.engine.restart_datums(key, datum_ids)
        args = {"key": _key_args(key), "datum_ids": list(datum_ids)}
        return [str(d) for d in self._forward("RestartDatum", "restart_datums", args, _FORWARD_SECONDS)]

    def running(self) -> list[JobKey]:
        return self.engine.running() if self.leading else []


class SoleLease:
    """The lease of a store only one server can open (SQLite: the data directory's lock): always
    this server's, epoch 1, nothing to fence."""

    seconds = 3600.0

    class _View:
        epoch = 1
        live = False  # asked only when this server runs no engine

        def describe(self) -> str:
            return "none (a SQLite store has one server, and this one runs no engine)"

    def take(self, holder: str) -> int | None:
        return 1

    def renew(self, epoch: int) -> bool:
        return True

    def release(self, epoch: int) -> None:
        pass

    def holder(self) -> LeaseView:
        return self._View()


def no_fence(epoch: int | None) -> None:
    """The fence of a store with a :class:`SoleLease`: nothing to check."""
