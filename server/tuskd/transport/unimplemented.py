"""Makes every RPC of the contract that tusk does not serve yet answer UNIMPLEMENTED clearly.

Generated servicer bases raise NotImplementedError (logged as a server-side error). Instead,
``complete_servicer`` gives each missing method a handler that aborts with UNIMPLEMENTED and a
message naming the RPC, so a client learns exactly what is missing and the log stays clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from tuskd.domain.errors import Unimplemented
from tuskd.transport.unserved import reason_for

T = TypeVar("T")


def _missing(full_name: str, server_streaming: bool) -> Any:
    message = f"{full_name} is not served by tusk: {reason_for(full_name)}"

    if server_streaming:

        def stream_handler(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            raise Unimplemented(message)
            yield  # pragma: no cover - makes this a generator

        stream_handler.tusk_unserved = True  # type: ignore[attr-defined]  # read by is_served
        return stream_handler

    def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        raise Unimplemented(message)

    handler.tusk_unserved = True  # type: ignore[attr-defined]  # read by is_served
    return handler


def is_served(cls: type, method: str) -> bool:
    """Whether ``cls`` (a servicer completed by ``complete_servicer``) serves ``method`` itself."""
    handler = getattr(cls, method, None)
    return handler is not None and not getattr(handler, "tusk_unserved", False)


def complete_servicer(service: ServiceDescriptor) -> Callable[[type[T]], type[T]]:
    """Class decorator: give every method of ``service`` that the class lacks an UNIMPLEMENTED handler."""

    def decorate(cls: type[T]) -> type[T]:
        _fill(cls, service)
        return cls

    return decorate


def _fill(cls: type, service: ServiceDescriptor) -> None:
    for method in service.methods:
        if method.name in cls.__dict__:
            continue
        base_owner = next((c for c in cls.__mro__ if method.name in c.__dict__), None)
        # Methods inherited from our own servicer classes count; generated stubs do not.
        if base_owner is not None and not base_owner.__module__.endswith("_pb2_grpc"):
            continue
        setattr(cls, method.name, _missing(f"{service.full_name}/{method.name}", method.server_streaming))
