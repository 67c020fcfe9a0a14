"""Typed client exceptions; every grpc.RpcError is translated here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

P = ParamSpec("P")
R = TypeVar("R")


class TuskError(Exception):
    """Base of every error the client raises for a failed call.

    ``code`` is the gRPC status code, ``reason`` and ``metadata`` come from the server's
    google.rpc.ErrorInfo when it sent one.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.reason = reason
        self.metadata = metadata or {}

    def __str__(self) -> str:
        return self.message


class InvalidArgument(TuskError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(TuskError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(TuskError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(TuskError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(TuskError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(TuskError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(TuskError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unimplemented(TuskError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Unavailable(TuskError):
    """The server could not be reached or is shutting down."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(TuskError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(TuskError):
    code = grpc.StatusCode.CANCELLED


class DataLoss(TuskError):
    """Stored content is damaged (a blob no longer matches its hash): it is never served."""

    code = grpc.StatusCode.DATA_LOSS


class ServerError(TuskError):
    """INTERNAL, UNKNOWN and other server-side failures."""


_BY_CODE: dict[grpc.StatusCode, type[TuskError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        Unimplemented,
        Unavailable,
        DeadlineExceeded,
        Cancelled,
        DataLoss,
    )
}


def from_rpc_error(err: grpc.RpcError) -> TuskError:
    """Translate a grpc.RpcError (a grpc.Call) to the matching typed exception."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message = (err.details() if hasattr(err, "details") else None) or str(code.name).lower()
    reason, metadata = "", {}
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except ValueError:
        status = None
    if status is not None:
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                reason, metadata = info.reason, dict(info.metadata)
    if code == grpc.StatusCode.UNAVAILABLE and "failed to connect" in message.lower():
        message = f"cannot reach the tusk server: {message}"
    cls = _BY_CODE.get(code, ServerError)
    return cls(message, code=code, reason=reason, metadata=metadata)


def translated(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator for client methods: re-raise grpc.RpcError as a TuskError."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    return wrapper


def translated_stream(it: Iterator[Any]) -> Iterator[Any]:
    """Iterate a server stream, re-raising grpc.RpcError as a TuskError."""
    try:
        yield from it
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
