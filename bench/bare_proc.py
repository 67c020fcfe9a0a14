"""The bare grpcio floor in its own process: no tusk code, only what grpcio itself costs.

Two shapes (run until SIGTERM):

* ``--method /pkg.Svc/Method --payload FILE``: one generic unary method answering fixed bytes
  (same as bench.servers.bare_server, which runs in-process).
* ``--fanout --payload FILE``: ``/bench.Fanout/Follow`` (server stream) sends the payload at once,
  then again each time ``/bench.Fanout/Fire`` (unary) is called, ending after ``--fires`` sends;
  every follower blocks on one shared condition, like WaitJob waiters on a change. ``Fire``
  answers the server's wall-clock time of the notify (ASCII seconds), so a client measures how
  long grpcio takes to deliver one change to every follower.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc


def unary_handler(method: str, payload: bytes) -> grpc.GenericRpcHandler:
    def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
        return payload

    service, name = method.strip("/").split("/")
    return grpc.method_handlers_generic_handler(service, {name: grpc.unary_unary_rpc_method_handler(answer)})


def fanout_handler(payload: bytes, fires: int) -> grpc.GenericRpcHandler:
    cond = threading.Condition()
    state = {"generation": 0}

    def follow(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        seen = state["generation"]
        yield payload
        while seen < fires and context.is_active():
            with cond:
                if state["generation"] == seen:
                    cond.wait(timeout=1.0)
                current = state["generation"]
            if current > seen:
                seen = current
                yield payload

    def fire(request: bytes, context: grpc.ServicerContext) -> bytes:
        with cond:
            state["generation"] += 1
            at = time.time()
            cond.notify_all()
        return repr(at).encode()

    return grpc.method_handlers_generic_handler(
        "bench.Fanout",
        {
            "Follow": grpc.unary_stream_rpc_method_handler(follow),
            "Fire": grpc.unary_unary_rpc_method_handler(fire),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--payload", type=Path, required=True)
    parser.add_argument("--method", default="")
    parser.add_argument("--fanout", action="store_true")
    parser.add_argument("--fires", type=int, default=2)
    parser.add_argument("--workers", type=int, default=64)
    args = parser.parse_args()
    payload = args.payload.read_bytes()
    handler = fanout_handler(payload, args.fires) if args.fanout else unary_handler(args.method, payload)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=args.workers), options=[("grpc.server.max_pending_requests", 100_000)]
    )
    server.add_generic_rpc_handlers((handler,))
    if server.add_insecure_port(args.address) == 0:
        sys.exit(f"cannot listen on {args.address}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    stop.wait()
    server.stop(None).wait()


if __name__ == "__main__":
    main()
