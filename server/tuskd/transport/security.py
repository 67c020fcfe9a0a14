"""Turns the security settings of a ServerConfig into gRPC interceptors and credentials."""

from __future__ import annotations

import ssl
from pathlib import Path

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
    check_tls_pair(config.tls_cert, config.tls_key)
    return grpc.ssl_server_credentials([(key, cert)])


class _EncryptedKey(Exception):
    pass


def _no_password() -> str:
    raise _EncryptedKey  # never let OpenSSL prompt on the terminal for a passphrase


def check_tls_pair(cert: Path, key: Path) -> None:
    """InvalidArgument naming the file and the problem unless ``cert`` holds a PEM certificate and
    ``key`` the unencrypted PEM private key of that certificate. gRPC itself would only report
    that it failed to bind the address."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=str(cert))
    except ssl.SSLError as exc:
        raise InvalidArgument(
            f"the TLS certificate {cert} holds no PEM certificate ({exc.reason or exc}); "
            "give --tls-cert a PEM file that starts with -----BEGIN CERTIFICATE-----",
            reason="TLS_CERT_INVALID",
        ) from None
    try:
        context.load_cert_chain(str(cert), str(key), password=_no_password)
    except _EncryptedKey:
        raise InvalidArgument(
            f"the TLS key {key} is encrypted; give --tls-key an unencrypted PEM private key",
            reason="TLS_KEY_INVALID",
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise InvalidArgument(
                f"the TLS key {key} does not match the certificate {cert}: give the private key "
                "the certificate was issued for",
                reason="TLS_KEY_MISMATCH",
            ) from None
        raise InvalidArgument(
            f"the TLS key {key} holds no usable PEM private key ({exc.reason or exc}); "
            "give --tls-key a PEM file that starts with -----BEGIN PRIVATE KEY-----",
            reason="TLS_KEY_INVALID",
        ) from None
