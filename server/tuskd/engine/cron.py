"""Cron inputs: the ticker thread, and the tick itself (also what RunCron makes).

A tick is one commit on ``master`` of the cron input's repo holding an empty file named by the
tick time (``/2025-01-07T15:04:05Z``); with ``overwrite`` the commit first deletes every earlier
tick file. The commit propagates to the pipeline's output branch like any input commit, so it
gets a job the usual way.

:class:`CronTicker` keeps, for every cron input of every running pipeline, when its next tick is
due: ``schedule.next(max(newest tick file's time, start))``, worked out when it first sees the
input (a pipeline created, updated or started, or the server started) and then advanced one
scheduled time per tick, so missed ticks (after a restart) are made one after another, as pachd
makes them. One thread sleeps until the earliest due tick; pipeline changes wake it (through the
pipeline hook) to read the cron inputs again. With no cron pipeline it sleeps until woken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tuskd.domain.cron import Schedule, parse_schedule, tick_name, tick_time
from tuskd.domain.errors import FailedPrecondition, NotFound, TuskError
from tuskd.domain.inputs import CronInput, cron_inputs
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineKey
from tuskd.engine.ports import CommitPort, PipelineChangeView, PipelineSpecs

__all__ = ["CronTicker", "cron_tick"]

log = logging.getLogger(__name__)

_RETRY_SECONDS = 5.0  # after a tick failed (its repo deleted by hand, the store busy...)
_CLOSE_JOIN_SECONDS = 10.0


def cron_tick(pfs: CommitPort, cron: CronInput, when: datetime) -> str:
    """Commit the tick file for ``when`` to the cron repo's master; returns the file's path."""
    path = "/" + tick_name(when)
    with pfs.begin_modify(CommitRef(RepoKey.of(cron.repo, cron.project), branch="master")) as session:
        if cron.overwrite:
            session.delete_file("/")
        session.add_file(path, iter((b"",)))
    return path


@dataclass
class _Entry:
    cron: CronInput
    schedule: Schedule
    due: datetime | None  # None: never
    not_before: float = 0.0  # retry time after a failed tick (clock seconds)


class CronTicker:
    """Makes the scheduled ticks of running cron pipelines; :meth:`run_now` is RunCron."""

    def __init__(self, pipelines: PipelineSpecs, pfs: CommitPort, *, clock: Callable[[], float] = time.time) -> None:
        self._pipelines = pipelines
        self._pfs = pfs
        self._clock = clock
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        # (pipeline, version, input name) -> its next tick; kept while the version is running.
        self._entries: dict[tuple[PipelineKey, int, str], _Entry] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tusk-cron", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(_CLOSE_JOIN_SECONDS)

    def wake(self) -> None:
        """Read the cron pipelines again (they changed)."""
        self._wake.set()

    def pipeline_changed(self, change: PipelineChangeView) -> None:
        """``PipelineService`` listener (after the change committed): look at the cron inputs again."""
        self.wake()

    def scheduled(self) -> dict[tuple[str, str], datetime | None]:
        """``("project/pipeline", cron input name) -> next tick`` (None: never) of what it follows."""
        return {(f"{key.project}/{key.name}", name): entry.due for (key, _, name), entry in list(self._entries.items())}

    # -- RunCron ----------------------------------------------------------------------------

    def run_now(self, key: PipelineKey) -> list[str]:
        """One tick per cron input of the pipeline, all with the same time (pachd's RunCron).

        NOT_FOUND for a missing pipeline; FAILED_PRECONDITION without a cron input.
        """
        crons = cron_inputs(self._pipelines.spec(key).input)
        if not crons:
            raise FailedPrecondition("pipeline doesn't have a cron input", reason="NO_CRON_INPUT", pipeline=str(key))
        now = datetime.fromtimestamp(self._clock(), UTC)
        return [cron_tick(self._pfs, cron, now) for cron in crons]

    # -- the ticker -------------------------------------------------------------------------

    def _first_due(self, cron: CronInput, schedule: Schedule) -> datetime | None:
        latest = cron.start or datetime.fromtimestamp(self._clock(), UTC)
        try:
            newest = list(
                self._pfs.list_files(
                    CommitRef(RepoKey.of(cron.repo, cron.project), branch="master"), number=1, reverse=True
                )
            )
        except NotFound:
            newest = []
        ticked = tick_time(newest[0].path) if newest else None
        if ticked is not None and ticked > latest:
            latest = ticked
        return schedule.next(latest)

    def _reload(self) -> None:
        entries: dict[tuple[PipelineKey, int, str], _Entry] = {}
        for key, version, crons in self._pipelines.cron_pipelines():
            for cron in crons:
                ident = (key, version, cron.name)
                entry = self._entries.get(ident)
                if entry is None or entry.cron != cron:
                    schedule = parse_schedule(cron.spec)
                    entry = _Entry(cron, schedule, self._first_due(cron, schedule))
                entries[ident] = entry
        self._entries = entries

    def _tick_due(self) -> float | None:
        """Make every tick that is due; the seconds until the next one (None: none scheduled)."""
        now = self._clock()
        wait: float | None = None
        for (key, _, name), entry in self._entries.items():
            while entry.due is not None and entry.due.timestamp() <= now and entry.not_before <= now:
                if self._closing or self._wake.is_set():
                    return 0.0
                try:
                    cron_tick(self._pfs, entry.cron, entry.due)
                except TuskError as err:
                    log.warning("cron tick of %s input %s failed: %s; retrying", key, name, err)
                    entry.not_before = now + _RETRY_SECONDS
                    break
                entry.due = entry.schedule.next(entry.due)
            if entry.due is not None:
                at = max(entry.due.timestamp(), entry.not_before)
                wait = at - now if wait is None else min(wait, at - now)
        return None if wait is None else max(0.0, wait)

    def _loop(self) -> None:
        self._wake.set()  # read the cron pipelines first
        wait: float | None = None
        while not self._closing:
            self._wake.wait(wait)
            if self._closing:
                return
            try:
                if self._wake.is_set():
                    self._wake.clear()
                    self._reload()
                wait = self._tick_due()
            except Exception:
                log.exception("cron ticker failed; retrying")
                wait = _RETRY_SECONDS
