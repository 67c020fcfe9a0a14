"""The bare grpcio floor in its own process: no tusk code, only what grpcio itself costs.

Three shapes (run until SIGTERM):

* ``--method /pkg.Svc/Method --payload FILE``: one generic unary method answering fixed bytes
  (same as bench.servers.bare_server, which runs in-process).
* ``--method /pkg.Svc/Method --table FILE``: the same method answering, per request, the bytes
  the table gives for that request's exact bytes (a dict lookup; an unknown request gets
  NOT_FOUND). The table file is a sequence of (4-byte big-endian length, bytes) items, request
  and answer alternating (``write_table``).
* ``--fanout --payload FILE``: ``/bench.Fanout/Follow`` (server stream) sends the payload at once,
  then again each time ``/bench.Fanout/Fire`` (unary) is called, ending after ``--fires`` sends;
  every follower blocks on one shared condition, like WaitJob waiters on a change. ``Fire``
  answers the server's wall-clock time of the notify (ASCII seconds), so a client measures how
  long grpcio takes to deliver one change to every follower. Two server kinds: a thread per
  stream (grpc.server with ``--workers`` threads), or, with ``--aio``, grpc.aio (one event loop;
  followers wait on one asyncio condition).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc


def unary_handler(method: str, payload: bytes) -> grpc.GenericRpcHandler:
    def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
        return payload

    service, name = method.strip("/").split("/")
    return grpc.method_handlers_generic_handler(service, {name: grpc.unary_unary_rpc_method_handler(answer)})


def write_table(path: Path, pairs: list[tuple[bytes, bytes]]) -> None:
    with open(path, "wb") as out:
        for request, answer in pairs:
            for item in (request, answer):
                out.write(len(item).to_bytes(4, "big"))
                out.write(item)


def read_table(path: Path) -> dict[bytes, bytes]:
    data = path.read_bytes()
    items: list[bytes] = []
    at = 0
    while at < len(data):
        n = int.from_bytes(data[at : at + 4], "big")
        items.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return dict(zip(items[0::2], items[1::2], strict=True))


def table_handler(method: str, table: dict[bytes, bytes]) -> grpc.GenericRpcHandler:
    def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
        found = table.get(request)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no answer for this request in the table")
        return found

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


def aio_fanout_handler(payload: bytes, fires: int) -> grpc.GenericRpcHandler:
    cond = asyncio.Condition()
    state = {"generation": 0}

    async def follow(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        seen = state["generation"]
        yield payload
        while seen < fires:
            async with cond:
                while state["generation"] == seen:
                    await cond.wait()
                seen = state["generation"]
            yield payload

    async def fire(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        async with cond:
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


async def serve_aio(address: str, payload: bytes, fires: int) -> None:
    server = grpc.aio.server(options=[("grpc.server.max_pending_requests", 100_000)])
    server.add_generic_rpc_handlers((aio_fanout_handler(payload, fires),))
    if server.add_insecure_port(address) == 0:
        sys.exit(f"cannot listen on {address}")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await server.start()
    await stop.wait()
    await server.stop(None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--payload", type=Path)
    parser.add_argument("--table", type=Path)
    parser.add_argument("--method", default="")
    parser.add_argument("--fanout", action="store_true")
    parser.add_argument("--aio", action="store_true", help="fan-out on grpc.aio instead of a thread per stream")
    parser.add_argument("--fires", type=int, default=2)
    parser.add_argument("--workers", type=int, default=64)
    args = parser.parse_args()
    if args.table is not None:
        handler = table_handler(args.method, read_table(args.table))
    else:
        payload = args.payload.read_bytes()
        if args.fanout and args.aio:
            asyncio.run(serve_aio(args.address, payload, args.fires))
            return
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
