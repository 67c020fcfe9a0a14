"""``tusk worker``: a Dask worker that runs tusk's datum sets in tusk's sandbox.

The worker runs in this process (a ``distributed.Worker``, no nanny) with ``slots`` threads and
``slots`` units of the version resource (engine/dask_common.py), so it runs at most ``slots``
datum sets at once and only sets of a server of its own version. The :class:`TuskWorkerPlugin`
holds what the local executor holds on the server: the workspace (datum trees, scratch), the
sandbox pool (namespace helpers that are child subreapers and die with this process) and a
blob store, here S3 read through this worker's own bounded cache. It never touches the metadata
store: inputs come from S3 by hash, outputs go to S3 as blobs, and the results (logs included)
go back to the server as data.

Cancel: Dask's ``future.cancel()`` does not stop a running task, so the server calls
:func:`cancel_datums` on every worker (``Client.run``): the datum's cancel event is set and its
process group killed by the sandbox (within its poll interval, well under a second); a nonce
cancelled before its datum started makes the datum CANCELLED without running.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import Worker, WorkerPlugin, get_worker

from tuskd.blobs.base import BlobStore
from tuskd.engine.dask_common import TlsFiles, version_resource
from tuskd.engine.datum_execution import could_not_run, execute_datum
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_work import DatumResult, DatumTask
from tuskd.engine.executor import WorkerSetup
from tuskd.engine.sandbox import Isolation, SandboxPool
from tuskd.engine.sandbox_probe import detect_isolation
from tuskd.engine.workspace import JobSpace, Workspace, default_scratch_root

__all__ = ["PLUGIN_NAME", "TuskWorkerPlugin", "WorkerConfig", "cancel_datums", "run_datum_set", "run_worker"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "tusk"
_REMEMBERED_CANCELS = 100_000  # nonces cancelled before their datum started, kept this many


class _Cancels:
    """Cancel events of the datums running here, and nonces cancelled before they started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}
        self._early: set[str] = set()
        self._early_order: deque[str] = deque()

    def begin(self, nonce: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._running[nonce] = event
            if nonce in self._early:
                event.set()
        return event

    def end(self, nonce: str) -> None:
        with self._lock:
            self._running.pop(nonce, None)

    def cancel_running(self) -> None:
        with self._lock:
            events = list(self._running.values())
        for event in events:
            event.set()

    def cancel(self, nonces: list[str]) -> int:
        killed = 0
        with self._lock:
            for nonce in nonces:
                event = self._running.get(nonce)
                if event is not None:
                    event.set()
                    killed += 1
                elif nonce not in self._early:
                    self._early.add(nonce)
                    self._early_order.append(nonce)
                    if len(self._early_order) > _REMEMBERED_CANCELS:
                        self._early.discard(self._early_order.popleft())
        return killed


class TuskWorkerPlugin(WorkerPlugin):
    """tusk's sandbox and blob store on one Dask worker (see the module docstring)."""

    name = PLUGIN_NAME

    def __init__(self, blobs: BlobStore, work_root: Path, slots: int, isolation: Isolation | None = None) -> None:
        self.blobs = blobs
        self.work_root = work_root
        self.slots = slots
        self.isolation = isolation
        self.cancels = _Cancels()
        self._lock = threading.Lock()
        self._engine: str | None = None
        self._workspace: Workspace | None = None
        self._space: JobSpace | None = None

    def setup(self, worker: Worker) -> None:
        if self.isolation is None:
            self.isolation = detect_isolation()
        log.info("tusk worker %s: %d slots, isolation %s", worker.address, self.slots, self.isolation.value)

    def teardown(self, worker: Worker) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._space is not None:
            self._space.close()
            self._space = None
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    def _space_for(self, setup: WorkerSetup) -> JobSpace:
        """The slots of ``setup``'s engine, kept across sets (making and removing datum trees per
        set would cost more than a small datum); a new engine ID (a server restarted) starts afresh."""
        with self._lock:
            if self._space is None or self._engine != setup.engine_id:
                if self._engine is not None:
                    # A new server: what the old one still runs here goes nowhere; stop it.
                    self.cancels.cancel_running()
                self._close()
                isolation = self.isolation or detect_isolation()
                self._workspace = Workspace(
                    self.work_root,
                    self.blobs,
                    link=isolation is Isolation.NAMESPACE,
                    # Per worker directory too: two workers of one host (each with its own
                    # --cache-dir) must not share, nor reset, each other's scratch.
                    scratch_root=default_scratch_root(f"worker-{_path_tag(self.work_root)}-{setup.engine_id}"),
                    sandboxes=SandboxPool(isolation=isolation, env=dict(setup.env), max_idle=self.slots),
                    keep=self.slots,
                )
                self._workspace.reset()
                self._space = self._workspace.open_job("sets")
                self._engine = setup.engine_id
            return self._space

    def run_set(self, setup: WorkerSetup, tasks: list[DatumTask]) -> list[DatumResult]:
        """Run ``tasks`` one after another in one slot; a result for each, in order."""
        space = self._space_for(setup)
        results: list[DatumResult] = []
        for task in tasks:
            cancel = self.cancels.begin(task.nonce)
            try:
                if cancel.is_set():
                    results.append(
                        DatumResult(task.datum_id, task.nonce, DatumOutcome.CANCELLED, "stopped before it started")
                    )
                    continue
                try:
                    with space.slot() as slot:
                        results.append(execute_datum(task, self.blobs, slot, cancel))
                except Exception as exc:
                    log.exception("datum %s of job %s@%s could not run", task.datum_id, task.pipeline, task.job_id)
                    results.append(could_not_run(task, exc))
            finally:
                self.cancels.end(task.nonce)
        return results


def run_datum_set(setup: WorkerSetup, tasks: list[DatumTask]) -> list[DatumResult]:
    """The Dask task of one datum set (runs on a tusk worker)."""
    plugin: TuskWorkerPlugin = get_worker().plugins[PLUGIN_NAME]  # type: ignore[assignment]
    return plugin.run_set(setup, tasks)


def cancel_datums(nonces: list[str], dask_worker: Worker | None = None) -> int:
    """Run by ``Client.run`` on every worker: cancel these submissions (kill their process
    groups, or keep them from starting); how many were running here."""
    worker = dask_worker or get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, TuskWorkerPlugin):
        return 0
    return plugin.cancels.cancel(nonces)


@dataclass(frozen=True)
class WorkerConfig:
    scheduler: str
    """``tcp://host:port`` or ``tls://host:port`` (checked by dask_common.check_address)."""
    blobs: BlobStore
    work_dir: Path
    """Datum trees and Dask's own local directory go under it."""
    slots: int
    host: str = "127.0.0.1"
    dashboard_address: str | None = None
    """None: no dashboard."""
    name: str | None = None
    tls: TlsFiles | None = None


async def _serve(config: WorkerConfig) -> None:
    plugin = TuskWorkerPlugin(config.blobs, config.work_dir / "datums", config.slots)
    local_dir = config.work_dir / "dask"
    local_dir.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"dashboard": False}
    if config.dashboard_address is not None:
        kwargs = {"dashboard": True, "dashboard_address": config.dashboard_address}
    worker = Worker(
        config.scheduler,
        nthreads=config.slots,
        resources={version_resource(): config.slots},
        local_directory=str(local_dir),
        host=config.host,
        name=config.name,
        security=None if config.tls is None else config.tls.security(),
        plugins=(plugin,),
        **kwargs,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.close()))
    async with worker:
        log.info("tusk worker %s serving scheduler %s", worker.address, config.scheduler)
        await worker.finished()


def run_worker(config: WorkerConfig) -> None:
    """Serve as a worker until SIGTERM, Ctrl-C or the scheduler going away for good."""
    asyncio.run(_serve(config))


def _path_tag(path: Path) -> str:
    """A short name that differs between the work roots of two workers on one host."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
