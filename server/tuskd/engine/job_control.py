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
from tuskd.store.pps import DatumRow

__all__ = ["JobControl", "JobGone", "JobStopped", "KillSwitch", "RunningDatum", "ServerStopping"]


class JobStopped(Exception):
    """The job was asked to stop: record KILLED."""


class ServerStopping(Exception):
    """The server is stopping: record nothing, the job resumes at the next start."""


class JobGone(Exception):
    """The job was deleted under the runner."""


class KillSwitch(threading.Event):
    """The job's kill event: setting it also sets the cancel event of every running datum, so
    one datum can be cancelled alone (RestartDatum) while a stop still reaches them all."""

    def __init__(self) -> None:
        super().__init__()
        self._mu = threading.Lock()
        self._children: set[threading.Event] = set()

    def set(self) -> None:
        super().set()
        with self._mu:
            children = list(self._children)
        for child in children:
            child.set()

    def child(self) -> threading.Event:
        """A cancel event for one datum: set by ``set`` (or at once if already set)."""
        event = threading.Event()
        with self._mu:
            self._children.add(event)
        if self.is_set():
            event.set()
        return event

    def release(self, event: threading.Event) -> None:
        with self._mu:
            self._children.discard(event)


@dataclass
class RunningDatum:
    """A datum whose attempts are running now; ``restart`` asks for a fresh run from attempt 1."""

    cancel: threading.Event
    restart: bool = False


@dataclass
class JobControl:
    """Stop requests and completion of one running job, shared by the engine and its runner.

    Datum restarts (RestartDatum) go through it too, under ``lock``: ``running`` holds the
    datums running now, ``finished`` those that ended but are not recorded yet (their outcome),
    ``reruns`` the done datums (FAILED or RECOVERED) to run again once the current batch is
    through (ID -> the outcome already counted; STARTING while it is not recorded yet), and
    ``datums_closed`` is set once the runner took its last look at ``reruns``: from then on the
    job is past its datums and restarts are refused.
    """

    key: JobKey
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_reason: str | None = None
    closing: bool = False
    committing: bool = False
    orphan: bool = False  # the job has no output repo: the engine does not touch it
    no_more: threading.Event = field(default_factory=threading.Event)  # schedule no new datum
    kill: KillSwitch = field(default_factory=KillSwitch)  # kill running user code
    token: CancelToken = field(default_factory=CancelToken)  # interrupts blocking waits
    done: threading.Event = field(default_factory=threading.Event)
    _timers: list[threading.Timer] = field(default_factory=list)
    plan: dict[str, Datum] = field(default_factory=dict)  # every datum of the job, by ID
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
            self.no_more = threading.Event()
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
