"""Turns the security settings of a ServerConfig into gRPC interceptors and credentials."""

from __future__ import annotations

import grpc

from tuskd.config import ServerConfig
from tuskd.domain.errors import InvalidArgument
from tuskd.transport.auth import TokenAuthInterceptor, read_token_file


def interceptors_for(config: ServerConfig) -> list[grpc.ServerInterceptor]:
    if config.auth_token_file is None:
        return []
    return [TokenAuthInterceptor(read_token_file(config.auth_token_file))]


def credentials_for(config: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS credentials when both a certificate and a key are configured; None for plaintext."""
    if config.tls_cert is None and config.tls_key is None:
        return None
    if config.tls_cert is None or config.tls_key is None:
        raise InvalidArgument("TLS needs both --tls-cert and --tls-key")
    try:
        cert = config.tls_cert.read_bytes()
        key = config.tls_key.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read TLS file {exc.filename}: {exc.strerror}") from None
    return grpc.ssl_server_credentials([(key, cert)])
