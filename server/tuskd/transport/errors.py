"""Maps domain exceptions to gRPC statuses, in one place, for every RPC.

A server interceptor wraps each handler (unary or streaming). A ``TuskError`` becomes its
canonical status code with a ``google.rpc.ErrorInfo`` detail (reason, domain, metadata). Any
other exception is a bug on our side: it is logged with its traceback under an incident id
and the client gets INTERNAL with that id and no traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from tuskd.domain import errors
from tuskd.services.events import CancelToken, WaitCancelled

log = logging.getLogger(__name__)

ERROR_DOMAIN = "tusk.pachyderm.io"

_CODES: dict[type[errors.TuskError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.Unimplemented: grpc.StatusCode.UNIMPLEMENTED,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.DataLoss: grpc.StatusCode.DATA_LOSS,
}


def status_code_for(exc: errors.TuskError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        code = _CODES.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.UNKNOWN


MAX_MESSAGE_CHARS = 1024
MAX_METADATA_CHARS = 256


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_status(code: grpc.StatusCode, message: str, reason: str, metadata: dict[str, str]) -> Any:
    """A grpc.Status carrying a google.rpc.Status with one ErrorInfo detail.

    Messages and metadata values are clipped: they often quote what the client sent (a name,
    a path), and status travels in HTTP/2 trailers, which have a hard size limit.
    """
    message = _clip(message, MAX_MESSAGE_CHARS)
    metadata = {_clip(k, 64): _clip(v, MAX_METADATA_CHARS) for k, v in list(metadata.items())[:16]}
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    rich = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=[detail])
    return rpc_status.to_status(rich)


def _abort(
    context: grpc.ServicerContext, exc: BaseException, method: str, draining: CancelToken | None = None
) -> None:
    if isinstance(exc, grpc.RpcError) and not context.is_active():
        # Reading the request stream of a call the client cancelled: nobody is listening, and
        # it is not a bug. Client-streaming handlers that must undo work catch this themselves.
        log.info("client went away mid-stream", extra={"method": method})
        context.abort(grpc.StatusCode.CANCELLED, "the client cancelled the call")
    if isinstance(exc, WaitCancelled) and draining is not None and draining.cancelled:
        exc = errors.Unavailable("the server is shutting down; retry against its replacement", reason="SHUTTING_DOWN")
    if isinstance(exc, errors.TuskError):
        code = status_code_for(exc)
        log.info("rpc refused", extra={"method": method, "code": code.name, "reason": exc.reason})
        context.abort_with_status(build_status(code, exc.message, exc.reason, exc.metadata))
    if isinstance(exc, NotImplementedError):
        # A generated servicer base method (e.g. grpc.health.v1.Health/List of a newer
        # grpcio-health-checking than the servicer implements): the method is not served.
        context.abort_with_status(
            build_status(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented by tusk", "UNIMPLEMENTED", {})
        )
    incident = uuid.uuid4().hex[:12]
    log.error("unexpected error in %s (incident %s)", method, incident, exc_info=exc)
    context.abort_with_status(
        build_status(
            grpc.StatusCode.INTERNAL,
            f"internal error in tusk (incident {incident}); the server log has the details",
            "INTERNAL",
            {"incident": incident},
        )
    )


def _is_abort(exc: BaseException, context: grpc.ServicerContext) -> bool:
    # context.abort() raises a bare Exception after setting the code; let it through untouched.
    return type(exc) is Exception and context.code() is not None  # type: ignore[attr-defined]


class _Undecodable:
    """Stands in for a request whose bytes are not a valid message (bad UTF-8, truncated, ...).

    grpc answers INTERNAL when a deserializer raises; a client's malformed bytes are its own
    mistake, so parsing never raises here and the handler refuses with INVALID_ARGUMENT.
    """

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:
            return _Undecodable(exc)

    return parse


def _checked(request: Any, method: str) -> Any:
    if isinstance(request, _Undecodable):
        raise errors.InvalidArgument(
            f"the request to {method} is not a valid protobuf message (for example a string field that is "
            "not UTF-8); check the client's message definitions",
            reason="MALFORMED_REQUEST",
        )
    return request


def _checked_stream(requests: Iterator[Any], method: str) -> Iterator[Any]:
    for request in requests:
        yield _checked(request, method)


def _wrap_unary(
    fn: Callable[..., Any], method: str, client_streaming: bool, draining: CancelToken | None
) -> Callable[..., Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            checked = _checked_stream(request, method) if client_streaming else _checked(request, method)
            return fn(checked, context)
        except Exception as exc:
            if _is_abort(exc, context):
                raise
            _abort(context, exc, method, draining)
            raise  # unreachable: abort raises

    return handler


def _wrap_stream(
    fn: Callable[..., Iterator[Any]], method: str, client_streaming: bool, draining: CancelToken | None
) -> Callable[..., Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            checked = _checked_stream(request, method) if client_streaming else _checked(request, method)
            yield from fn(checked, context)
        except Exception as exc:
            if _is_abort(exc, context):
                raise
            _abort(context, exc, method, draining)

    return handler


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Wraps every RPC handler so domain errors become statuses and bugs become INTERNAL.

    ``draining``: once flipped, a wait that ends because of it is reported as UNAVAILABLE.
    """

    def __init__(self, draining: CancelToken | None = None) -> None:
        self._draining = draining
        # method -> (registered handler, wrapped handler): a method's handler never changes, so
        # it is wrapped once instead of on every call (this is on every RPC's path).
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: Any, method: str) -> Any:
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method, False, self._draining),
                _tolerant(handler.request_deserializer),
                handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method, False, self._draining),
                _tolerant(handler.request_deserializer),
                handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary(handler.stream_unary, method, True, self._draining),
                _tolerant(handler.request_deserializer),
                handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream(handler.stream_stream, method, True, self._draining),
            _tolerant(handler.request_deserializer),
            handler.response_serializer,
        )
