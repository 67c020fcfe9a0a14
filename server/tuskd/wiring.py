"""Constructs the default dependencies (store, blobs, executor, services) in one place.

Constructors start no threads; ``Deps.start`` does, after the server is built, and
``Deps.close`` stops them after the server has drained.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health

from tuskd.config import ServerConfig

log = logging.getLogger(__name__)


@dataclass
class Deps:
    config: ServerConfig
    health: health.HealthServicer
    interceptors: list[grpc.ServerInterceptor] = field(default_factory=list)
    server_credentials: grpc.ServerCredentials | None = None
    _on_start: list[Callable[[], None]] = field(default_factory=list)
    _on_close: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        for fn in self._on_start:
            fn()

    def close(self) -> None:
        for fn in reversed(self._on_close):
            try:
                fn()
            except Exception:
                log.exception("error while closing a dependency")


def open_deps(config: ServerConfig) -> Deps:
    """Create the data directory and every default dependency for ``config``."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return Deps(config=config, health=health.HealthServicer(experimental_non_blocking=True))
