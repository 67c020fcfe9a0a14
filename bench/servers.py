"""Servers for benchmarks: a real tusk server in-process, and the bare grpcio floor."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from tuskd.app import build_server, set_serving
from tuskd.config import ServerConfig
from tuskd.wiring import Deps, open_deps


@contextmanager
def tusk_server(**overrides: Any) -> Iterator[tuple[str, Deps]]:
    with tempfile.TemporaryDirectory(prefix="tusk-bench-") as tmp:
        config = ServerConfig(address="127.0.0.1:0", data_dir=Path(tmp) / "data", **overrides)
        deps = open_deps(config)
        server, port = build_server(config, deps)
        deps.start()
        server.start()
        set_serving(deps, True)
        try:
            yield f"127.0.0.1:{port}", deps
        finally:
            server.stop(1).wait()
            deps.close()


@contextmanager
def bare_server(method: str, answer: Callable[[bytes], bytes], workers: int = 64) -> Iterator[str]:
    """A grpcio server with one generic unary method and no tusk code: the floor."""

    def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
        return answer(request)

    service, name = method.strip("/").split("/")
    generic = grpc.method_handlers_generic_handler(service, {name: grpc.unary_unary_rpc_method_handler(handler)})
    server = grpc.server(ThreadPoolExecutor(max_workers=workers))
    server.add_generic_rpc_handlers((generic,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None).wait()


def hammer(call: Callable[[], object], callers: int, calls_each: int) -> float:
    """Run ``call`` from ``callers`` threads, ``calls_each`` times each; return calls per second."""
    import time

    def worker() -> None:
        for _ in range(calls_each):
            call()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=callers) as pool:
        for f in [pool.submit(worker) for _ in range(callers)]:
            f.result()
    return callers * calls_each / (time.perf_counter() - start)


def alternate(ours: Callable[[], float], base: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Run ``ours`` and ``base`` (each returns a rate) alternately ``rounds`` times; the best of
    each. On a shared machine the neighbours' load drifts: alternating exposes both sides to the
    same drift, and the best round of each is the one least disturbed."""
    best_ours = best_base = 0.0
    for _ in range(rounds):
        best_ours = max(best_ours, ours())
        best_base = max(best_base, base())
    return best_ours, best_base
