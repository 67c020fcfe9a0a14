"""Builds the gRPC server from a config and already-constructed dependencies, and runs it.

The composition root's gRPC half: ``tuskd.wiring`` builds the dependencies (no grpc there);
this module adds what is grpc's (the server, health, reflection, the token interceptor, TLS
credentials) and registers the transport's servicers. ``build_server`` only assembles: it
starts nothing. ``serve`` owns the lifecycle: start the
dependencies, start the server, mark health SERVING, and on SIGTERM/SIGINT go NOT_SERVING,
let in-flight calls drain for the grace period, stop, then stop the dependencies.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tuskd.config import ServerConfig
from tuskd.domain.errors import InvalidArgument
from tuskd.services.stream_limits import STREAM_KINDS
from tuskd.transport.errors import ErrorMappingInterceptor
from tuskd.transport.reflection import SERVICE_NAME as REFLECTION_SERVICE
from tuskd.transport.reflection import enable_reflection
from tuskd.transport.registry import register_services
from tuskd.transport.security import credentials_for, interceptors_for
from tuskd.wiring import Deps, open_deps

log = logging.getLogger(__name__)

HEALTH_SERVICE_NAMES = ("", "pfs_v2.API", "pps_v2.API", "versionpb_v2.API")

Security = tuple[list[grpc.ServerInterceptor], grpc.ServerCredentials | None]
"""The token interceptor (if a token file is configured) and the TLS credentials (None: plaintext)."""


def security_for(config: ServerConfig) -> Security:
    """Read the token file and the TLS files; a mistake in them is named here (InvalidArgument)."""
    return interceptors_for(config), credentials_for(config)


def _channel_options(config: ServerConfig) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        # Calls wait for a free thread rather than being refused by grpc; the stream limits
        # (tuskd.services.stream_limits) refuse long streams past their share instead.
        ("grpc.server.max_pending_requests", 100_000),
        ("grpc.so_reuseport", 0),
    ]


def build_server(config: ServerConfig, deps: Deps, security: Security | None = None) -> tuple[grpc.Server, int]:
    """Assemble a server with every service, health and reflection; return it and its port.

    ``security`` is :func:`security_for` of ``config``, read here when not given."""
    interceptors, credentials = security if security is not None else security_for(config)
    # Long streams can hold at most their per-kind limits' worth of threads: rpc_workers stay
    # for every other call however many streams clients open.
    threads = config.rpc_workers + config.max_streams_per_kind * len(STREAM_KINDS)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpc"),
        interceptors=[*interceptors, ErrorMappingInterceptor(deps.draining)],
        options=_channel_options(config),
        maximum_concurrent_rpcs=None,
    )
    names = register_services(server, deps)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    deps.on_serving.append(lambda serving: _set_health(health_servicer, serving))
    if config.reflection:
        enable_reflection(
            (*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, REFLECTION_SERVICE), server
        )
    if credentials is not None:
        port = server.add_secure_port(config.address, credentials)
    else:
        port = server.add_insecure_port(config.address)
    if port == 0:
        raise InvalidArgument(f"cannot listen on {config.address!r}: address invalid or already in use")
    return server, port


def _set_health(servicer: health.HealthServicer, serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in HEALTH_SERVICE_NAMES:
        servicer.set(name, status)


def set_serving(deps: Deps, serving: bool) -> None:
    """Health SERVING or NOT_SERVING on the server built for ``deps``."""
    for tell in deps.on_serving:
        tell(serving)


def serve(config: ServerConfig, ready: threading.Event | None = None) -> None:
    """Run the server until SIGTERM or SIGINT, then shut down gracefully."""
    security = security_for(config)  # a token or TLS mistake is named before anything is opened
    deps = open_deps(config)
    server, port = build_server(config, deps, security)
    if deps.data_dir_lock is not None:  # a second server's refusal names this address
        deps.data_dir_lock.announce(f"{config.address.rsplit(':', 1)[0]}:{port}")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal received, shutting down", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deps.start()
    server.start()
    set_serving(deps, True)
    log.info(
        "tusk serving",
        extra={"address": config.address, "port": port, "data_dir": str(config.data_dir)},
    )
    if ready is not None:
        ready.set()
    stop.wait()
    shutdown(server, deps, config.shutdown_grace)
    log.info("tusk stopped")


def shutdown(server: grpc.Server, deps: Deps, grace: float) -> None:
    """Health NOT_SERVING, end open waits (UNAVAILABLE), drain in-flight calls, then stop deps."""
    set_serving(deps, False)
    deps.draining.cancel()
    # Woken waits answer UNAVAILABLE themselves; give them a moment before the server stops
    # (grpc would otherwise cancel the ones still writing their status).
    deps.open_waits.wait_idle(min(grace, 2.0))
    server.stop(grace).wait()
    deps.close()
