"""Constructs the default dependencies (store, blobs, executor, services) in one place.

This is the only module that names the concrete stores (SQLite; PostgreSQL, imported only for a
``postgresql://`` store), blob stores and thread-pool executor; everything else sees their
Protocols. It imports nothing of grpc: the gRPC server, its health service, interceptors and
credentials are built by ``tuskd.app``. Constructors start no threads; ``Deps.start`` does, after
the server is built, and ``Deps.close`` stops them after the server has drained.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from tuskd.blobs.base import BlobStore
from tuskd.blobs.local import LocalBlobStore
from tuskd.config import ServerConfig, engine_mode, store_location
from tuskd.datadir import DataDirLock
from tuskd.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.pfs import USER_REPO_TYPE, CommitKey
from tuskd.domain.pipelines import PipelineKey, PipelineSpec
from tuskd.engine.cron import CronTicker
from tuskd.engine.egress import LocalFileEgress
from tuskd.engine.engine_requests import RequestPort
from tuskd.engine.executor import Executor, LocalExecutor
from tuskd.engine.leadership import EngineMode, Leadership, LeasePort, SoleLease, no_fence, server_name
from tuskd.engine.scheduler import Engine, JobEngine
from tuskd.services.cluster import ClusterService
from tuskd.services.datum_queries import DatumQueries
from tuskd.services.events import ActiveCount, CancelToken, EventHub
from tuskd.services.fsck import FsckService
from tuskd.services.job_commands import JobCommands
from tuskd.services.job_logs import JobLogs
from tuskd.services.job_queries import JobQueries
from tuskd.services.job_terminate import JobTerminator
from tuskd.services.jobs import JobService
from tuskd.services.jq_filter import JqLimits, JqPool
from tuskd.services.metadata import MetadataService
from tuskd.services.pfs import PfsService
from tuskd.services.pfs_egress import EgressService
from tuskd.services.pfs_history import PfsHistory
from tuskd.services.pipelines import PipelineService
from tuskd.services.projects import ProjectService
from tuskd.services.stream_limits import StreamLimits
from tuskd.services.summaries import SummaryService
from tuskd.services.transactions import TransactionService
from tuskd.services.triggers import JobTrigger
from tuskd.services.url_sources import UrlLimits
from tuskd.store.base import Store, Tx
from tuskd.store.meta import MetaTx
from tuskd.store.pps import PpsTx
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_meta import SqliteMetaTx
from tuskd.store.sqlite_pps import SqlitePpsTx

log = logging.getLogger(__name__)


@dataclass
class Deps:
    config: ServerConfig
    store: Store
    blobs: BlobStore
    hub: EventHub
    pfs: PfsService
    jobs: JobService
    pipelines: PipelineService
    projects: ProjectService
    metadata: MetadataService
    cluster: ClusterService
    transactions: TransactionService
    engine: JobEngine
    jq: JqPool
    history: PfsHistory
    fsck: FsckService
    egress: EgressService
    summaries: SummaryService
    cron: CronTicker
    job_queries: JobQueries
    job_commands: JobCommands
    datum_queries: DatumQueries
    job_logs: JobLogs
    # Flipped when the server starts shutting down: open waits and streams end at once with
    # UNAVAILABLE (clients resume elsewhere) instead of holding the drain for the grace period.
    draining: CancelToken = field(default_factory=CancelToken)
    # RPCs currently blocked in a wait or a long stream (see ServicerBase.cancel_token).
    open_waits: ActiveCount = field(default_factory=ActiveCount)
    # Per-kind caps on those long calls (ServerConfig.max_streams_per_kind).
    streams: StreamLimits = field(default_factory=lambda: StreamLimits(256))
    # Told whether the server is serving (tuskd.app sets the health service's status from it).
    on_serving: list[Callable[[bool], None]] = field(default_factory=list)
    # This server's hold on its data directory (announce() records the address it listens on).
    data_dir_lock: DataDirLock | None = None
    # Whether this server runs the engine (the database's engine lease; engine/leadership.py).
    leadership: Leadership | None = None
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


def _sqlite_pps(tx: Tx) -> PpsTx:
    return SqlitePpsTx(cast(SqliteTx, tx))


def _sqlite_meta(tx: Tx) -> MetaTx:
    return SqliteMetaTx(cast(SqliteTx, tx))


@dataclass
class _OpenedStore:
    store: Store
    pps: Callable[[Tx], PpsTx]
    meta: Callable[[Tx], MetaTx]
    lease: LeasePort = field(default_factory=SoleLease)  # who runs the engine (engine/leadership.py)
    fence: Callable[[int | None], None] = no_fence
    # Starts hearing other servers' changes (PostgreSQL LISTEN): given the handler, returns what
    # stops it; None for a store no other server writes.
    listen: Callable[[Callable[[Sequence[str] | None], None]], Callable[[], None]] | None = None
    # StopJob/RestartDatum handed to the engine leader (None: UNAVAILABLE off the leader).
    requests: RequestPort | None = None


def _open_store(config: ServerConfig) -> _OpenedStore:
    """The metadata store ``config.store`` names, with its PPS and metadata tables and its
    engine lease."""
    location = store_location(config.store, config.data_dir)
    mode = engine_mode(config.engine)
    if location.conninfo is None:
        assert location.path is not None
        if mode == "standby":
            raise InvalidArgument(
                "--engine standby needs a metadata store several servers share (--store postgresql://...);"
                " a SQLite store has one server, which runs the engine (on) or not (off)"
            )
        # Enough idle readers for the concurrent RPCs of a busy server: opening one costs far
        # more than keeping it (each open parses the schema).
        return _OpenedStore(SqliteStore(location.path, max_idle_readers=64), _sqlite_pps, _sqlite_meta)
    try:  # only here: the default install has no PostgreSQL driver
        from tuskd.store.postgres import PostgresStore, PostgresTx
        from tuskd.store.postgres_meta import PostgresMetaTx
        from tuskd.store.postgres_pps import PostgresPpsTx
    except ImportError as exc:
        raise FailedPrecondition(
            f"a PostgreSQL store needs the driver: pip install 'tusk[postgres]' ({exc})", reason="STORE_DRIVER"
        ) from exc

    def pps(tx: Tx) -> PpsTx:
        return PostgresPpsTx(cast(PostgresTx, tx))

    def meta(tx: Tx) -> MetaTx:
        return PostgresMetaTx(cast(PostgresTx, tx))

    # Servers whose blobs are on S3 may share the database (the engine lease picks the one that
    # runs jobs); a server with a local blob directory must be alone on it.
    store = PostgresStore(location.conninfo, server_lock="exclusive" if config.blobs_s3 is None else "shared")
    return _OpenedStore(
        store, pps, meta, store.lease(), store.fence, lambda on_remote: store.listen(on_remote).close, store.requests()
    )


def _output_job_stopper(engine: JobEngine) -> Callable[[Sequence[CommitKey]], None]:
    """Stops the job writing to each commit that is an output commit (the others have none)."""

    def stop(commits: Sequence[CommitKey]) -> None:
        for commit in commits:
            if commit.repo.type != USER_REPO_TYPE:
                continue
            with contextlib.suppress(NotFound):
                engine.stop_job(JobKey(commit.repo.project, commit.repo.name, commit.id), "output commit deleted")

    return stop


def _open_blobs(config: ServerConfig) -> tuple[BlobStore, str, Callable[[], None]]:
    """The local blob directory, or S3 read through a local cache (``--blobs s3://...``); with
    the store's identity (recorded in the metadata: ClusterService.check_blob_store) and what
    closes it."""
    if config.blobs_s3 is None:
        return LocalBlobStore(config.data_dir / "blobs", exclusive=True), "local", lambda: None
    from tuskd.blobs.cache import BlobCache
    from tuskd.blobs.s3 import S3BlobStore  # boto3 is imported only on this path

    location = config.blobs_s3
    cache = BlobCache(config.blob_cache_dir or config.data_dir / "blob-cache", config.blob_cache_bytes)
    try:
        s3 = S3BlobStore(location, cache)
    except BaseException:
        cache.close()
        raise
    try:
        s3.probe()  # a missing bucket or unreachable endpoint stops start-up with a clear message
    except BaseException:
        s3.close()
        raise
    return s3, f"s3://{location.bucket}/{location.prefix.strip('/')}".rstrip("/"), s3.close


def _open_executor(config: ServerConfig, blobs: BlobStore) -> Executor:
    """This server's threads, or a Dask cluster of ``tusk worker`` processes (``--executor``)."""
    from tuskd.engine.dask_common import parse_executor_url  # imports nothing of Dask

    target = parse_executor_url(config.executor_url)
    if target is None:
        return LocalExecutor(config.datum_workers, blobs, config.data_dir / "work")
    if config.blobs_s3 is None:
        raise FailedPrecondition(
            f"--executor {config.executor_url}: workers on other machines cannot read this server's data "
            "directory; keep the blobs on S3 (--blobs s3://...) as the workers do",
            reason="EXECUTOR_NEEDS_S3",
        )
    try:
        from tuskd.engine.dask_executor import DaskExecutor  # Dask is imported only on this path
    except ImportError:
        raise FailedPrecondition(
            f"--executor {config.executor_url} needs Dask, which this install lacks: pip install 'tusk[dask]'",
            reason="DASK_EXTRA_MISSING",
        ) from None
    return DaskExecutor(target)


def _hear_other_servers(
    deps: Deps, listen: Callable[[Callable[[Sequence[str] | None], None]], Callable[[], None]]
) -> None:
    """Wake this server's waiters on changes other servers of the database commit (from start
    until close, before the store closes)."""

    def on_remote(topics: Sequence[str] | None) -> None:
        deps.jobs.remote_changed(topics)  # before the wake-up: woken watchers read the store
        if topics is None:
            deps.hub.publish_all()
        else:
            deps.hub.publish(*topics)

    stops: list[Callable[[], None]] = []

    def stop() -> None:
        while stops:
            stops.pop()()

    deps._on_start.append(lambda: stops.append(listen(on_remote)))
    deps._on_close.append(stop)


def open_deps(config: ServerConfig) -> Deps:
    """Create the data directory and every default dependency for ``config``."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(config.data_dir)  # one server per data directory, held until close
    opened: list[Callable[[], None]] = [lock.release]  # closed in reverse if start-up fails
    try:
        return _open_deps(config, lock, opened)
    except BaseException:
        for close in reversed(opened):
            try:
                close()
            except Exception:
                log.exception("error while closing a dependency after a failed start")
        raise


def _open_deps(config: ServerConfig, lock: DataDirLock, opened: list[Callable[[], None]]) -> Deps:
    opened_store = _open_store(config)
    store, _pps_tables, _meta_tables = opened_store.store, opened_store.pps, opened_store.meta
    opened.append(store.close)
    blobs, blob_store_identity, close_blobs = _open_blobs(config)
    opened.append(close_blobs)
    hub = EventHub()
    url_limits = UrlLimits(
        file_dirs=config.file_url_dirs,
        data_dir=config.data_dir,
        max_bytes=config.url_max_bytes,
        timeout=config.url_timeout,
    )
    pfs = PfsService(store, blobs, hub, meta_tables=_meta_tables, url_limits=url_limits)
    jobs = JobService(store, _pps_tables, hub)
    pipelines = PipelineService(store, pfs, jobs, _meta_tables, data_dir=config.data_dir)
    projects = ProjectService(store, _meta_tables, pfs, pipelines)
    metadata = MetadataService(store, _meta_tables, pfs, pipelines, projects)
    cluster = ClusterService(store, _meta_tables)
    cluster.check_blob_store(blob_store_identity)  # a data dir never switches stores unnoticed
    transactions = TransactionService(store, _meta_tables)
    trigger = JobTrigger(jobs)
    pfs.add_observer(trigger, commit_kinds=JobTrigger.COMMIT_KINDS)  # an output branch's commit gets its job
    executor = _open_executor(config, blobs)

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
        terminator=JobTerminator(jobs, pfs),
        datum_output_limit=config.datum_output_limit,
    )
    jq = JqPool(JqLimits(workers=config.jq_workers, memory_bytes=config.jq_memory_bytes, seconds=config.jq_seconds))
    cron = CronTicker(pipelines, pfs)
    # The engine and the cron ticker run while this server holds the engine lease; the
    # services reach the engine through ``leader`` (UNAVAILABLE naming the leader elsewhere).
    leader = Leadership(
        engine,
        opened_store.lease,
        opened_store.fence,
        lambda: server_name(str(lock.identity.get("address") or config.address)),
        cast(EngineMode, engine_mode(config.engine)),
        on_lead=(engine.start, cron.start),
        on_stop=(cron.close, engine.close),  # the ticker stops first
        requests=opened_store.requests,
    )
    pipelines.add_listener(leader.pipeline_changed)  # after commit: stop the jobs a pipeline change killed
    pipelines.add_listener(cron.pipeline_changed)  # a cron pipeline created, changed or gone
    trigger.add_kill_hook(leader.job_killed)  # ... and of jobs whose output commit was dropped (after commit)
    job_queries = JobQueries(store, jobs, pfs, hub)
    deps = Deps(
        config=config,
        store=store,
        blobs=blobs,
        hub=hub,
        pfs=pfs,
        jobs=jobs,
        pipelines=pipelines,
        projects=projects,
        metadata=metadata,
        cluster=cluster,
        transactions=transactions,
        engine=engine,
        jq=jq,
        history=PfsHistory(pfs, _output_job_stopper(leader)),
        fsck=FsckService(store, blobs),
        egress=EgressService(pfs, blobs, config.data_dir, LocalFileEgress()),
        summaries=SummaryService(pfs, pipelines, projects),
        cron=cron,
        job_queries=job_queries,
        job_commands=JobCommands(store, jobs, job_queries, hub, leader, engine.logs, pfs=pfs),
        datum_queries=DatumQueries(store, jobs, pfs, hub, leader),  # the engine restarts datums
        job_logs=JobLogs(store, jobs, hub, engine.logs),
        streams=StreamLimits(config.max_streams_per_kind),
        data_dir_lock=lock,
        leadership=leader,
    )
    deps._on_close.append(lock.release)  # closed last: after everything that writes the dir
    deps._on_close.append(close_blobs)
    deps._on_close.append(store.close)
    if opened_store.listen is not None:
        _hear_other_servers(deps, opened_store.listen)
    # Closed after the store in reverse order: waiters wake first (ServerShuttingDown).
    deps._on_close.append(hub.shutdown)
    deps._on_close.append(jq.close)
    # The engine starts after the executor and closes first (before the executor, the hub and
    # the store): its jobs stop cleanly while everything they use still works.
    deps._on_start.extend((lock.watch, executor.start, leader.start))
    deps._on_close.extend((executor.stop, leader.close))
    return deps


def serve_worker(
    scheduler: str,
    blobs_url: str,
    work_dir: Path,
    slots: int,
    *,
    cache_bytes: int,
    host: str,
    dashboard_address: str | None,
    insecure: bool,
    tls: tuple[Path, Path, Path] | None,
    name: str | None = None,
) -> None:
    """``tusk worker``: a Dask worker running datum sets with blobs on S3 (engine/dask_worker.py)."""
    from tuskd.blobs.cache import BlobCache
    from tuskd.blobs.s3 import S3BlobStore
    from tuskd.config import parse_blobs_url
    from tuskd.engine.dask_common import TlsFiles, check_address

    address = check_address(scheduler, insecure=insecure, what="--scheduler")
    if address.startswith("tls://") and tls is None:
        raise FailedPrecondition(f"--scheduler {scheduler}: tls:// needs --tls-ca, --tls-cert and --tls-key")
    location = parse_blobs_url(blobs_url)
    if location is None:
        raise FailedPrecondition(
            "--blobs: a worker needs the server's S3 blob store (s3://BUCKET/PREFIX?endpoint=...): "
            "it cannot read the server's data directory"
        )
    try:
        from tuskd.engine.dask_worker import WorkerConfig, run_worker  # Dask only on this path
    except ImportError:
        raise FailedPrecondition("tusk worker needs Dask, which this install lacks: pip install 'tusk[dask]'") from None
    work_dir.mkdir(parents=True, exist_ok=True)
    blobs = S3BlobStore(location, BlobCache(work_dir / "blob-cache", cache_bytes))
    blobs.probe()
    run_worker(
        WorkerConfig(
            scheduler=address,
            blobs=blobs,
            work_dir=work_dir,
            slots=slots,
            host=host,
            dashboard_address=dashboard_address,
            name=name,
            tls=None if tls is None else TlsFiles(*tls),
        )
    )
