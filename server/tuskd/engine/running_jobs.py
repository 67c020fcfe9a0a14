"""The engine's record of which jobs have a runner on this server, shared by its parts.

The dispatcher (engine/scheduler.py) adds a job's control and thread when it launches a runner
and removes them when the runner ends; stopping (engine/job_stops.py) asks a running job's
control to stop, or marks a job it kills directly as ``killing`` so the dispatcher does not
launch it meanwhile; restarting datums (engine/datum_restarts.py) reaches a running job's
control. Everything here is read and changed under ``lock``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tuskd.domain.jobs import JobKey
from tuskd.engine.job_control import JobControl

__all__ = ["WAKE_TOPIC", "RunningJobs"]

WAKE_TOPIC = "engine/wake"
"""Published to wake the dispatcher (a runner ended, a job was stopped, a pipeline changed)."""


@dataclass
class RunningJobs:
    """The jobs with a runner (``active``: their controls, ``threads``) and the jobs being
    killed without one (``killing``), under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    active: dict[JobKey, JobControl] = field(default_factory=dict)
    threads: dict[JobKey, threading.Thread] = field(default_factory=dict)
    killing: set[JobKey] = field(default_factory=set)

    def control(self, key: JobKey) -> JobControl | None:
        """The control of ``key``'s runner, if it has one."""
        with self.lock:
            return self.active.get(key)
