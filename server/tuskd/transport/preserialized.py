"""Methods whose servicer answers with bytes it already serialized (the job read model's renderings).

grpcio sends a response as it is when the method handler has no response serializer. The
generated ``add_*Servicer_to_server`` functions always name one, so :func:`adding` hands them a
stand-in for the server that drops it from the named methods' handlers, on both of grpcio's
routes to a handler (the generic handlers and the registered methods). Everything else (the
request deserializer, the interceptors wrapping the handler: errors, auth, drain) is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import grpc

__all__ = ["PRESERIALIZED", "adding"]

# service -> its methods whose servicer returns the serialized response (bytes).
PRESERIALIZED: Mapping[str, Collection[str]] = {"pps_v2.API": ("InspectJob",)}


def _unserialized(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    if handler.unary_unary is None:  # only unary answers are served pre-serialized so far
        raise TypeError("only unary-unary methods answer with pre-serialized bytes")
    return grpc.unary_unary_rpc_method_handler(handler.unary_unary, handler.request_deserializer, None)


class _Generic(grpc.GenericRpcHandler):
    """A generic handler whose named methods' handlers come without a response serializer."""

    def __init__(self, inner: grpc.GenericRpcHandler, methods: Collection[str]) -> None:
        self._inner = inner
        self._methods = methods
        self._made: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(handler_call_details)
        method = handler_call_details.method
        if handler is None or method not in self._methods:
            return handler
        made = self._made.get(method)
        if made is None or made[0] is not handler:  # a method's handler never changes: made once
            made = (handler, _unserialized(handler))
            self._made[method] = made
        return made[1]


class _Server:
    """What a generated add function uses of a grpc.Server, rewriting ``service``'s methods."""

    def __init__(self, server: grpc.Server, service: str, methods: Collection[str]) -> None:
        self._server = server
        self._service = service
        self._methods = methods

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        full = {f"/{self._service}/{m}" for m in self._methods}
        self._server.add_generic_rpc_handlers(tuple(_Generic(h, full) for h in handlers))

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        if service == self._service:
            handlers = {name: _unserialized(h) if name in self._methods else h for name, h in handlers.items()}
        register = self._server.add_registered_method_handlers  # type: ignore[attr-defined]  # not in the stubs
        register(service, handlers)


def adding(add: Callable[[Any, grpc.Server], None], service: str) -> Callable[[Any, grpc.Server], None]:
    """``add`` (a generated add function of ``service``), with :data:`PRESERIALIZED` applied."""
    methods = PRESERIALIZED.get(service)
    if not methods:
        return add

    def add_preserialized(servicer: Any, server: grpc.Server) -> None:
        add(servicer, _Server(server, service, methods))  # type: ignore[arg-type]  # what add uses of it

    return add_preserialized
