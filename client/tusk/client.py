"""tusk.Client: one object that owns a gRPC channel to a tusk (or Pachyderm) server.

    with tusk.Client("localhost:30650") as c:
        print(c.version())
        for job in c.pps.list_job(pipeline="edges"):
            ...

Area APIs hang off the client (``c.pfs``, ``c.pps``); every failed call raises a
``tusk.errors.TuskError`` subclass, never a raw grpc.RpcError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tusk.address import Address, resolve_address
from tusk.errors import TuskError, translated
from tusk.metadata import MetadataClient, parse_edits
from tusk.pfs import PfsClient
from tusk.pps import PpsClient
from tusk.proto.admin_v2 import admin_pb2, admin_pb2_grpc
from tusk.proto.metadata import metadata_pb2
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc
from tusk.server_info import client_version_message
from tusk.transactions import TRANSACTION_HEADER, ActiveTransaction, TransactionClient

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
AUTH_HEADER = "authn-token"  # the metadata key Pachyderm's clients send their token in


class _MetadataInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the client's current metadata (token, transaction) to every call."""

    def __init__(self, metadata: Callable[[], list[tuple[str, str]]]) -> None:
        self._metadata = metadata

    def _details(self, details: Any) -> Any:
        extra = self._metadata()
        if not extra:
            return details
        return details._replace(metadata=[*(details.metadata or []), *extra])

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
    ``transaction_id``: while set (``with client.transaction():`` sets it), every call carries
    ``pach-transaction: <id>``, so the transactional ones join that transaction (tusk.transactions).
    It belongs to the client object, not to a thread: calls from other threads join it too.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        auth_token: str | None = None,
        root_certificates: str | Path | bytes | None = None,
        options: Sequence[tuple[str, Any]] = (),
        transaction_id: str | None = None,
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
        self._token = token or ""
        self.transaction_id: str | None = transaction_id
        channel = grpc.intercept_channel(channel, _MetadataInterceptor(self._call_metadata))
        self.channel: grpc.Channel = channel
        self._version = version_pb2_grpc.APIStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self.pfs = PfsClient(channel)
        self.pps = PpsClient(channel)
        self.transactions = TransactionClient(channel)
        self.metadata = MetadataClient(channel)
        self._admin = admin_pb2_grpc.APIStub(channel)

    def _call_metadata(self) -> list[tuple[str, str]]:
        extra = [(AUTH_HEADER, self._token)] if self._token else []
        if self.transaction_id is not None:
            extra.append((TRANSACTION_HEADER, self.transaction_id))
        return extra

    @contextmanager
    def transaction(self) -> Iterator[ActiveTransaction]:
        """Start a transaction; the calls made through this client inside the block join it, and
        it is finished (applied, all or nothing) when the block ends, or deleted if the block
        raises. After the block, ``txn.info`` is FinishTransaction's answer."""
        txn = ActiveTransaction(self.transactions.start_transaction().id)
        previous, self.transaction_id = self.transaction_id, txn.id
        try:
            yield txn
        except BaseException:
            self.transaction_id = previous
            with suppress(TuskError):
                self.transactions.delete_transaction(txn.id)
            raise
        self.transaction_id = previous
        txn.info = self.transactions.finish_transaction(txn.id)

    @translated
    def inspect_cluster(self, project: str = "", timeout: float | None = 10.0) -> admin_pb2.ClusterInfo:
        """The server's cluster id (stable per data directory), deployment id, metadata, and
        ``warnings`` (a version mismatch; ``project`` that does not exist)."""
        request = admin_pb2.InspectClusterRequest(
            client_version=client_version_message(), current_project=pfs_pb2.Project(name=project)
        )
        return self._admin.InspectCluster(request, timeout=timeout)

    def edit_metadata(self, *edits: str | metadata_pb2.Edit, project: str = "default") -> None:
        """``client.edit_metadata("repo", "images", "add", "owner=me", ...)`` in pachctl's words
        (groups of four, tusk.metadata), or Edit messages; all apply together or none."""
        messages = [e for e in edits if isinstance(e, metadata_pb2.Edit)]
        words = [e for e in edits if isinstance(e, str)]
        if words:
            messages.extend(parse_edits(words, project))
        self.metadata.edit_metadata(messages)

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
