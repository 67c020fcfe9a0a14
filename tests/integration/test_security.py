"""Token auth (authn-token metadata) and TLS, through real servers and real clients."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

import tusk
from tusk import errors
from tusk.proto.pfs_v2 import pfs_pb2

TOKEN = "s3cret-token-0123456789"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "server.crt", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def test_token_required_on_every_rpc_but_health(
    make_server: object, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = make_server(auth_token_file=token_file)  # type: ignore[operator]
    with tusk.Client(server.address) as anonymous:
        assert anonymous.health() == "SERVING"  # health stays open for probes
        with pytest.raises(errors.Unauthenticated, match="authn-token"):
            anonymous.version()
        with pytest.raises(grpc.RpcError) as info:  # a raw stream stub: the status code itself
            list(anonymous.pfs.stub.ListRepo(pfs_pb2.ListRepoRequest()))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with (
        tusk.Client(server.address, auth_token="wrong") as wrong,
        pytest.raises(errors.Unauthenticated, match="not valid"),
    ):
        wrong.version()
    with tusk.Client(server.address, auth_token=TOKEN) as ok:
        assert ok.version().major == 2
    assert TOKEN not in caplog.text
    assert "wrong" not in caplog.text


def test_reflection_needs_the_token_too_and_can_be_turned_off(make_server: object, token_file: Path) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    server = make_server(auth_token_file=token_file)  # type: ignore[operator]
    with grpc.insecure_channel(server.address) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        req = reflection_pb2.ServerReflectionRequest(list_services="")
        with pytest.raises(grpc.RpcError) as info:
            list(stub.ServerReflectionInfo(iter([req]), timeout=5))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        answers = list(stub.ServerReflectionInfo(iter([req]), timeout=5, metadata=[("authn-token", TOKEN)]))
        names = {s.name for s in answers[0].list_services_response.service}
        assert "pps_v2.API" in names

    plain = make_server(reflection=False, data_dir=server.config.data_dir.parent / "other")  # type: ignore[operator]
    with grpc.insecure_channel(plain.address) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            list(stub.ServerReflectionInfo(iter([req]), timeout=5))
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_tls_with_a_generated_certificate(make_server: object, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server = make_server(tls_cert=cert, tls_key=key)  # type: ignore[operator]
    with tusk.Client(f"grpcs://{server.address}", root_certificates=cert) as c:
        assert c.version().major == 2
    # A plaintext client cannot talk to it.
    with tusk.Client(server.address) as plain, pytest.raises(errors.Unavailable):
        plain.version(timeout=3)
    # Nor can a TLS client that does not trust the certificate.
    (tmp_path / "other").mkdir()
    other_cert, _ = _self_signed(tmp_path / "other")
    with (
        tusk.Client(f"grpcs://{server.address}", root_certificates=other_cert) as untrusting,
        pytest.raises(errors.Unavailable),
    ):
        untrusting.version(timeout=3)
    with grpc.secure_channel(server.address, grpc.ssl_channel_credentials(cert.read_bytes())) as ch:
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_cli_with_token_and_tls_against_tusk_serve(server_process: object, tmp_path: Path, token_file: Path) -> None:
    cert, key = _self_signed(tmp_path)
    sp = server_process(  # type: ignore[operator]
        "--auth-token-file", str(token_file), "--tls-cert", str(cert), "--tls-key", str(key), tls_ca=cert
    )
    base = [sys.executable, "-m", "tusk", "--address", f"grpcs://{sp.address}", "--ca", str(cert)]
    ok = subprocess.run([*base, "--auth-token", TOKEN, "version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "2.12.0" in ok.stdout
    refused = subprocess.run([*base, "version"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("error: this tusk server requires a token")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert TOKEN not in sp.log()


def test_bad_security_files_fail_clearly(server_process: object, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tusk",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path / "d"),
            "--auth-token-file",
            str(empty),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "is empty" in out.stderr
    assert "Traceback" not in out.stderr


def _serve_once(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tusk", "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True, text=True, timeout=60,
    )


def test_tls_key_of_another_certificate_is_named_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cert, _ = _self_signed(tmp_path / "a")
    _, other_key = _self_signed(tmp_path / "b")
    out = _serve_once(tmp_path, "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert out.returncode != 0
    assert f"the TLS key {other_key} does not match the certificate {cert}" in out.stderr
    assert "Failed to bind" not in out.stderr
    assert "Traceback" not in out.stderr


def test_tls_files_that_are_not_pem_are_named_at_start_up(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    for args, named in (
        (("--tls-cert", str(garbage), "--tls-key", str(key)), f"the TLS certificate {garbage}"),
        (("--tls-cert", str(cert), "--tls-key", str(garbage)), f"the TLS key {garbage}"),
    ):
        out = _serve_once(tmp_path, *args)
        assert out.returncode != 0
        assert named in out.stderr
        assert "Failed to bind" not in out.stderr
        assert "Traceback" not in out.stderr
