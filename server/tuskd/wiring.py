"""Constructs the default dependencies (store, blobs, executor, services) in one place.

This is the only module that names the concrete SQLite store, local blob store and thread-pool
executor; everything else sees their Protocols. Constructors start no threads; ``Deps.start``
does, after the server is built, and ``Deps.close`` stops them after the server has drained.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import grpc
from grpc_health.v1 import health

from tuskd.blobs.base import BlobStore
from tuskd.blobs.local import LocalBlobStore
from tuskd.config import ServerConfig
from tuskd.datadir import DataDirLock
from tuskd.domain.jobs import Job
from tuskd.domain.pipelines import PipelineKey, PipelineSpec
from tuskd.engine.executor import ThreadPoolExecutor
from tuskd.engine.scheduler import Engine, JobEngine
from tuskd.services.events import ActiveCount, CancelToken, EventHub
from tuskd.services.jobs import JobService
from tuskd.services.pfs import PfsService
from tuskd.services.pipelines import PipelineService
from tuskd.services.triggers import JobTrigger
from tuskd.store.base import Store, Tx
from tuskd.store.pps import PpsTx
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_pps import SqlitePpsTx
from tuskd.transport.security import credentials_for, interceptors_for

log = logging.getLogger(__name__)


@dataclass
class Deps:
    config: ServerConfig
    health: health.HealthServicer
    store: Store
    blobs: BlobStore
    hub: EventHub
    pfs: PfsService
    jobs: JobService
    pipelines: PipelineService
    engine: JobEngine
    interceptors: list[grpc.ServerInterceptor] = field(default_factory=list)
    # Flipped when the server starts shutting down: open waits and streams end at once with
    # UNAVAILABLE (clients resume elsewhere) instead of holding the drain for the grace period.
    draining: CancelToken = field(default_factory=CancelToken)
    # RPCs currently blocked in a wait or a long stream (see ServicerBase.cancel_token).
    open_waits: ActiveCount = field(default_factory=ActiveCount)
    server_credentials: grpc.ServerCredentials | None = None
    _on_start: list[Callable[[], None]] = field(default_factory=list)
    _on_close: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        for fn in self._on_start:
            fn()

    def close(self) -> None:
        """Stop in reverse order of construction; one failing step does not skip the others."""
        for fn in reversed(self._on_close):
            try:
                fn()
            except Exception:
                log.exception("error while closing a dependency")


def _pps_tables(tx: Tx) -> PpsTx:
    return SqlitePpsTx(cast(SqliteTx, tx))


def open_deps(config: ServerConfig) -> Deps:
    """Create the data directory and every default dependency for ``config``."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(config.data_dir)  # one server per data directory, held until close
    try:
        return _open_deps(config, lock)
    except BaseException:
        lock.release()
        raise


def _open_deps(config: ServerConfig, lock: DataDirLock) -> Deps:
    # Enough idle readers for the concurrent RPCs of a busy server: opening one costs far more
    # than keeping it (each open parses the schema).
    store = SqliteStore(config.data_dir / "metadata.db", max_idle_readers=64)
    blobs = LocalBlobStore(config.data_dir / "blobs", exclusive=True)
    hub = EventHub()
    pfs = PfsService(store, blobs, hub, allow_file_urls=config.allow_file_urls)
    jobs = JobService(store, _pps_tables, hub)
    pipelines = PipelineService(store, pfs, jobs)
    pfs.add_observer(JobTrigger(jobs))  # a commit on a pipeline's output branch gets its job
    executor = ThreadPoolExecutor(config.datum_workers)

    def load_spec(job: Job) -> PipelineSpec:
        return pipelines.spec(PipelineKey(job.key.project, job.key.pipeline), job.pipeline_version)

    engine = Engine(
        store=store,
        jobs=jobs,
        pfs=pfs,
        blobs=blobs,
        hub=hub,
        executor=executor,
        data_dir=config.data_dir,
        load_spec=load_spec,
        datum_output_limit=config.datum_output_limit,
    )
    pipelines.add_hook(engine.pipeline_hook)  # stop the processes of jobs a pipeline change killed
    deps = Deps(
        config=config,
        health=health.HealthServicer(experimental_non_blocking=True),
        store=store,
        blobs=blobs,
        hub=hub,
        pfs=pfs,
        jobs=jobs,
        pipelines=pipelines,
        engine=engine,
        interceptors=interceptors_for(config),
        server_credentials=credentials_for(config),
    )
    deps._on_close.append(lock.release)  # closed last: after everything that writes the dir
    deps._on_close.append(store.close)
    # Closed after the store in reverse order: waiters wake first (ServerShuttingDown).
    deps._on_close.append(hub.shutdown)
    # The engine starts after the executor and closes first (before the executor, the hub and
    # the store): its jobs stop cleanly while everything they use still works.
    deps._on_start.extend((executor.start, engine.start))
    deps._on_close.extend((executor.stop, engine.close))
    return deps
