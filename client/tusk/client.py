"""tusk.Client: one object that owns a gRPC channel to a tusk (or Pachyderm) server.

    with tusk.Client("localhost:30650") as c:
        print(c.version())
        for job in c.pps.list_job(pipeline="edges"):
            ...

Area APIs hang off the client (``c.pfs``, ``c.pps``); every failed call raises a
``tusk.errors.TuskError`` subclass, never a raw grpc.RpcError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tusk.address import Address, resolve_address
from tusk.errors import translated
from tusk.pfs import PfsClient
from tusk.pps import PpsClient
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
AUTH_HEADER = "authn-token"  # the metadata key Pachyderm's clients send their token in


class _AuthInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, token: str) -> None:
        self._token = token

    def _details(self, details: Any) -> Any:
        metadata = [*(details.metadata or []), (AUTH_HEADER, self._token)]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any, it: Any) -> Any:
        return continuation(self._details(details), it)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any, it: Any) -> Any:
        return continuation(self._details(details), it)


class Client:
    """A connection to a tusk server.

    ``address``: ``host:port``, ``grpc://host:port`` or ``grpcs://host:port``; when omitted,
    ``$TUSK_ADDRESS``, then ``$PACHD_ADDRESS``, then ``localhost:30650``.
    ``auth_token``: sent as ``authn-token`` metadata (default ``$TUSK_AUTH_TOKEN``).
    ``root_certificates``: PEM file or bytes of the CA that signed the server's certificate.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        auth_token: str | None = None,
        root_certificates: str | Path | bytes | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        import os

        self.address: Address = resolve_address(address)
        token = auth_token if auth_token is not None else os.environ.get("TUSK_AUTH_TOKEN")
        channel_options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            *options,
        ]
        if self.address.tls or root_certificates is not None:
            roots = root_certificates
            if isinstance(roots, (str, Path)):
                roots = Path(roots).read_bytes()
            creds = grpc.ssl_channel_credentials(root_certificates=roots)
            channel = grpc.secure_channel(self.address.target, creds, options=channel_options)
        else:
            channel = grpc.insecure_channel(self.address.target, options=channel_options)
        self._raw_channel = channel
        if token:
            channel = grpc.intercept_channel(channel, _AuthInterceptor(token))
        self.channel: grpc.Channel = channel
        self._version = version_pb2_grpc.APIStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self.pfs = PfsClient(channel)
        self.pps = PpsClient(channel)

    @translated
    def version(self, timeout: float | None = 10.0) -> version_pb2.Version:
        """The server's version (GetVersion)."""
        return self._version.GetVersion(empty_pb2.Empty(), timeout=timeout)

    @translated
    def health(self, service: str = "", timeout: float | None = 10.0) -> str:
        """``SERVING`` or ``NOT_SERVING`` from grpc.health.v1."""
        resp = self._health.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the channel is connected (raises tusk.errors.Unavailable on timeout)."""
        from tusk.errors import Unavailable

        try:
            grpc.channel_ready_future(self._raw_channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"cannot reach the tusk server at {self.address} within {timeout:g}s") from None

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
