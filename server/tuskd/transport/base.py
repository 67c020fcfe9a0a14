"""Shared base of the servicers: what they use of the wired dependencies, and the cancel-token helper.

:class:`ServedDeps` is the transport's port: exactly what the servicers read, all of it
services (the store, the blob store and the job engine are not reachable from here).
``tuskd.wiring.Deps`` provides it; ``tuskd.app`` hands that to ``register_services``.
"""

from __future__ import annotations

from typing import Protocol

import grpc

from tuskd.config import ServerConfig
from tuskd.domain.pipelines import PipelineKey
from tuskd.services.cluster import ClusterService
from tuskd.services.datum_queries import DatumQueries
from tuskd.services.events import ActiveCount, CancelToken
from tuskd.services.fsck import FsckService
from tuskd.services.job_commands import JobCommands
from tuskd.services.job_logs import JobLogs
from tuskd.services.job_queries import JobQueries
from tuskd.services.jq_filter import JqPool
from tuskd.services.metadata import MetadataService
from tuskd.services.pfs import PfsService
from tuskd.services.pfs_egress import EgressService
from tuskd.services.pfs_history import PfsHistory
from tuskd.services.pipelines import PipelineService
from tuskd.services.projects import ProjectService
from tuskd.services.stream_limits import StreamLimits
from tuskd.services.summaries import SummaryService
from tuskd.services.transactions import TransactionService


class CronRuns(Protocol):
    """RunCron: one tick of every cron input of a pipeline now (the engine's cron ticker)."""

    def run_now(self, key: PipelineKey) -> list[str]: ...


class ServedDeps(Protocol):
    """What the servicers use: the services, the call limits and the shutdown switch."""

    config: ServerConfig
    pfs: PfsService
    pipelines: PipelineService
    projects: ProjectService
    metadata: MetadataService
    cluster: ClusterService
    transactions: TransactionService
    jq: JqPool
    history: PfsHistory
    fsck: FsckService
    egress: EgressService
    summaries: SummaryService
    job_queries: JobQueries
    job_commands: JobCommands
    datum_queries: DatumQueries
    job_logs: JobLogs
    # Per-kind caps on long calls, the RPCs blocked in one, and the switch that ends them at shutdown.
    streams: StreamLimits
    open_waits: ActiveCount
    draining: CancelToken

    @property
    def cron(self) -> CronRuns: ...


class ServicerBase:
    def __init__(self, deps: ServedDeps) -> None:
        self.deps = deps

    def call_token(self, context: grpc.ServicerContext) -> CancelToken:
        """A token that flips when the call ends: the client cancels or its deadline passes."""
        token = CancelToken()
        if not context.add_callback(token.cancel):
            token.cancel()
        return token

    def cancel_token(self, context: grpc.ServicerContext, kind: str) -> CancelToken:
        """A token that flips when the client cancels, its deadline passes, or the server starts
        draining for shutdown, so a blocked wait frees its thread at once. Takes one of the
        ``kind`` stream slots for the call's life (ResourceExhausted when none is free)."""
        release = self.deps.streams.enter(kind)
        token = CancelToken()
        leave = self.deps.open_waits.enter()
        unlink = self.deps.draining.add_callback(token.cancel)
        for callback in (token.cancel, unlink, leave, release):
            if not context.add_callback(callback):  # the RPC already ended
                token.cancel()
                unlink()
                leave()
                release()
                break
        return token
