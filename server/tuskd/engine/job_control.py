"""Stop requests, kill events and datum restarts of one running job, shared by the engine (any
thread: StopJob, RestartDatum, a pipeline change, a dropped commit set) and the job's runner.

A stop request is durable in intent: once ``stop_reason`` is set the runner records KILLED.
Shutdown (``closing``) records nothing. The events (``no_more``, ``kill``, ``token``) belong to
one try of the runner: after an internal error the runner takes a fresh set (``fresh_try``) so
its retry runs the datums again, unless a stop or shutdown came meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tuskd.cancel import CancelToken
from tuskd.domain.datums import Datum
from tuskd.domain.jobs import JobKey
from tuskd.domain.states import DatumState
from tuskd.engine.executor import Batch
from tuskd.store.pps import DatumRow

__all__ = ["JobControl", "JobGone", "JobStopped", "KillSwitch", "RunningDatum", "ServerStopping"]


class JobStopped(Exception):
    """The job was asked to stop: record KILLED."""


class ServerStopping(Exception):
    """The server is stopping: record nothing, the job resumes at the next start."""


class JobGone(Exception):
    """The job was deleted under the runner."""


class KillSwitch(threading.Event):
    """An event that also tells whoever subscribed when it is set: the job's ``no_more`` drains
    its executor batch and its ``kill`` cancels the batch's running datums, while one datum can
    still be cancelled alone (RestartDatum)."""

    def __init__(self) -> None:
        super().__init__()
        self._mu = threading.Lock()
        self._subscribers: dict[int, Callable[[], Any]] = {}
        self._ids = 0
        self._children: set[threading.Event] = set()

    def set(self) -> None:
        super().set()
        with self._mu:
            subscribers = [*self._subscribers.values(), *(child.set for child in self._children)]
        for fn in subscribers:
            fn()

    def child(self) -> threading.Event:
        """An event set by ``set`` (or at once if already set), until ``release``."""
        event = threading.Event()
        with self._mu:
            self._children.add(event)
        if self.is_set():
            event.set()
        return event

    def release(self, event: threading.Event) -> None:
        with self._mu:
            self._children.discard(event)

    def on_set(self, fn: Callable[[], Any]) -> Callable[[], None]:
        """Call ``fn`` when the event is set (at once if it is already); returns the way to
        unsubscribe."""
        with self._mu:
            self._ids += 1
            ident = self._ids
            self._subscribers[ident] = fn
        if self.is_set():
            fn()

        def unsubscribe() -> None:
            with self._mu:
                self._subscribers.pop(ident, None)

        return unsubscribe


@dataclass
class RunningDatum:
    """A datum submitted to the executor and not finished yet (``nonce``: its submission in
    ``batch``); ``restart`` asks for a fresh run from attempt 1 once this one ends."""

    batch: Batch
    nonce: str
    restart: bool = False

    def request_restart(self) -> None:
        """Run the datum again from attempt 1: the current run is cancelled (its process group
        is killed) if it started; whatever it ends with is not recorded."""
        self.restart = True
        self.batch.cancel(self.nonce)


@dataclass
class JobControl:
    """Stop requests and completion of one running job, shared by the engine and its runner.

    Datum restarts (RestartDatum) go through it too, under ``lock``: ``running`` holds the datums
    handed to the executor and not finished (their submission), ``finished`` those that ended but
    are not recorded yet (their outcome), ``reruns`` the done datums (FAILED or RECOVERED) to run
    again once the current batch is through (ID -> the outcome already counted; STARTING while it is
    not recorded yet), and ``datums_closed`` is set once the runner took its last look at
    ``reruns``: from then on the job is past its datums and restarts are refused.
    """

    key: JobKey
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_reason: str | None = None
    closing: bool = False
    committing: bool = False
    orphan: bool = False  # the job has no output repo: the engine does not touch it
    no_more: KillSwitch = field(default_factory=KillSwitch)  # schedule no new datum
    kill: KillSwitch = field(default_factory=KillSwitch)  # kill running user code
    token: CancelToken = field(default_factory=CancelToken)  # interrupts blocking waits
    done: threading.Event = field(default_factory=threading.Event)
    _timers: list[threading.Timer] = field(default_factory=list)
    plan: dict[str, Datum] = field(default_factory=dict)  # datums planned in Python (not carried), by ID
    running: dict[str, RunningDatum] = field(default_factory=dict)
    finished: dict[str, DatumState] = field(default_factory=dict)
    reruns: dict[str, DatumState] = field(default_factory=dict)
    datums_closed: bool = False
    describe: Callable[[Datum], DatumRow] | None = None  # a datum's row (for data filters)

    def request_stop(self, reason: str, grace: float = 0.0) -> bool:
        """Ask the job to stop; False if it is already committing its outcome (too late)."""
        with self.lock:
            if self.committing or self.done.is_set():
                return False
            if self.stop_reason is None:
                self.stop_reason = reason
        self.no_more.set()
        self.token.cancel()
        if grace <= 0:
            self.kill.set()
        else:
            self._timer(grace, self.kill.set)
        return True

    def shutdown(self) -> None:
        """The server is stopping: kill user code now and record nothing."""
        with self.lock:
            self.closing = True
        self.no_more.set()
        self.kill.set()
        self.token.cancel()

    def _timer(self, seconds: float, fn: Callable[[], Any]) -> threading.Timer:
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        with self.lock:
            self._timers.append(timer)
        timer.start()
        return timer

    def fresh_try(self) -> None:
        """New events for the runner's next try after an internal error: the failed try set
        ``no_more`` and ``kill`` to end its datums, which would make the retry run none. Datums
        finished but not recorded are forgotten (they run again), and so are restarted datums
        waiting to rerun (their STARTING rows bring them back). Raises if a stop or shutdown came
        meanwhile (those keep their events)."""
        with self.lock:
            self.check()
            self.no_more = KillSwitch()
            self.kill = KillSwitch()
            self.token = CancelToken()
            self.running.clear()
            self.finished.clear()
            self.reruns.clear()

    def cancel_timers(self) -> None:
        with self.lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def check(self) -> None:
        """Raise if the job must stop (a stop request wins over shutdown: it is durable)."""
        if self.stop_reason is not None:
            raise JobStopped(self.stop_reason)
        if self.closing:
            raise ServerStopping()

    @contextlib.contextmanager
    def commit_point(self) -> Iterator[None]:
        """Enter the final commit: stop requests arriving from now on are ignored."""
        with self.lock:
            if self.stop_reason is not None:
                raise JobStopped(self.stop_reason)
            if self.closing:
                raise ServerStopping()
            self.committing = True
        try:
            yield
        except BaseException:
            with self.lock:
                self.committing = False
            raise
