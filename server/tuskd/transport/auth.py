"""Token authentication: every RPC but health must carry the server's token in ``authn-token``.

``authn-token`` is the metadata key Pachyderm's own clients send their token in, so
pachyderm-sdk and pachctl-style clients work unchanged. The comparison is constant-time and
the token never appears in logs or error messages.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from tuskd.domain.errors import InvalidArgument
from tuskd.transport.errors import build_status

log = logging.getLogger(__name__)

TOKEN_HEADER = "authn-token"
_OPEN_PREFIXES = ("/grpc.health.v1.Health/",)


def read_token_file(path: Path) -> str:
    """The token in ``path`` (surrounding whitespace ignored); refuses an empty or unreadable file."""
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise InvalidArgument(f"cannot read auth token file {path}: {exc.strerror}") from None
    if not token:
        raise InvalidArgument(f"auth token file {path} is empty")
    return token


def _refuse(message: str) -> Callable[[Any, grpc.ServicerContext], Any]:
    status = build_status(grpc.StatusCode.UNAUTHENTICATED, message, "UNAUTHENTICATED", {})

    def abort(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort_with_status(status)

    return abort


class TokenAuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        method: str = handler_call_details.method
        if method.startswith(_OPEN_PREFIXES):
            return continuation(handler_call_details)
        presented = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == TOKEN_HEADER:
                presented = value.encode() if isinstance(value, str) else value
                break
        if presented is not None and hmac.compare_digest(presented, self._token):
            return continuation(handler_call_details)
        message = (
            f"this tusk server requires a token: send it in the '{TOKEN_HEADER}' metadata "
            "(tusk --auth-token / $TUSK_AUTH_TOKEN)"
            if presented is None
            else "the token sent in 'authn-token' is not valid for this server"
        )
        log.info("unauthenticated call refused", extra={"method": method, "token_present": presented is not None})
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        refuse = _refuse(message)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(refuse, handler.request_deserializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(refuse, handler.request_deserializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(refuse, handler.request_deserializer)
        return grpc.stream_stream_rpc_method_handler(refuse, handler.request_deserializer)
