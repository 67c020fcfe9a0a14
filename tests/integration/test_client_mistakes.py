"""Client mistakes that were answered INTERNAL (issue 12, item 6): forged page tokens (huge
numbers, deep nesting, lone surrogates), timestamps and durations outside protobuf's range or
with mismatched signs. Each must be INVALID_ARGUMENT with a message naming the field."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

import tusk
from tests.conftest import RunningServer
from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in, put, wait_job
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2

pytestmark = pytest.mark.timeout(60)


def _token(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return decoded


def _invalid(call: Callable[[], Any], field: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        result = call()
        if isinstance(result, Iterator):
            list(result)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()  # type: ignore[attr-defined]
    assert field in info.value.details()  # type: ignore[attr-defined]


@pytest.fixture
def finished_job(server: RunningServer) -> str:
    create_repo(server, "images")
    create_pipeline(server, make_spec("p", "true", pfs_in("images")))
    first = put(server, "images", {"/a": b"1", "/b": b"2"})
    wait_job(server, "p", first)
    second = put(server, "images", {"/c": b"3"})
    wait_job(server, "p", second)
    return second


BAD_TOKENS = [
    b"[" * 100_000,  # nesting past the JSON parser's recursion limit
    b'{"v":1,"r":' + b"9" * 5000 + b',"f":""}',  # an integer too long to convert
]


@pytest.mark.parametrize("raw", BAD_TOKENS, ids=["nested", "long-int"])
def test_malformed_page_tokens(client: tusk.Client, finished_job: str, raw: bytes) -> None:
    stub = client.pps.stub
    _invalid(lambda: stub.ListJob(pps_pb2.ListJobRequest(page_size=1, page_token=_token(raw)), timeout=10), "page_token")
    job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="p"), id=finished_job)
    request = pps_pb2.ListDatumRequest(job=job, page_size=1, page_token=_token(raw))
    _invalid(lambda: stub.ListDatum(request, timeout=10), "page_token")


@pytest.mark.parametrize("row", [10**30, 2**63, -1, True])
def test_job_page_token_with_a_forged_row(client: tusk.Client, finished_job: str, row: object) -> None:
    stub = client.pps.stub
    real = list(stub.ListJob(pps_pb2.ListJobRequest(page_size=1), timeout=10))[-1].page_token
    forged = {**_untoken(real), "r": row}
    _invalid(lambda: stub.ListJob(pps_pb2.ListJobRequest(page_size=1, page_token=_token(forged)), timeout=10),
             "page_token")  # fmt: skip


@pytest.mark.parametrize("datum", ["\ud800", "x" * 100_000, 7])
def test_datum_page_token_with_a_forged_datum(client: tusk.Client, finished_job: str, datum: object) -> None:
    stub = client.pps.stub
    job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="p"), id=finished_job)
    real = list(stub.ListDatum(pps_pb2.ListDatumRequest(job=job, page_size=1), timeout=10))[-1].page_token
    forged = {**_untoken(real), "d": datum}
    request = pps_pb2.ListDatumRequest(job=job, page_size=1, page_token=_token(forged))
    _invalid(lambda: stub.ListDatum(request, timeout=10), "page_token")


OUT_OF_RANGE_TIMES = [
    timestamp_pb2.Timestamp(seconds=2**62),
    timestamp_pb2.Timestamp(seconds=-(2**62)),
    timestamp_pb2.Timestamp(seconds=1, nanos=-1),
    timestamp_pb2.Timestamp(seconds=1, nanos=2_000_000_000),
]


@pytest.mark.parametrize("ts", OUT_OF_RANGE_TIMES, ids=["far-future", "far-past", "negative-nanos", "big-nanos"])
def test_out_of_range_pagination_markers(client: tusk.Client, finished_job: str, ts: timestamp_pb2.Timestamp) -> None:
    stub = client.pps.stub
    _invalid(lambda: stub.ListJob(pps_pb2.ListJobRequest(paginationMarker=ts), timeout=10), "paginationMarker")
    _invalid(lambda: stub.ListJobSet(pps_pb2.ListJobSetRequest(paginationMarker=ts), timeout=10), "paginationMarker")


@pytest.mark.parametrize("ts", OUT_OF_RANGE_TIMES, ids=["far-future", "far-past", "negative-nanos", "big-nanos"])
def test_out_of_range_started_time(client: tusk.Client, ts: timestamp_pb2.Timestamp) -> None:
    client.pfs.create_repo("r")
    request = pfs_pb2.ListCommitRequest(repo=pfs_pb2.Repo(name="r", type="user"), started_time=ts)
    _invalid(lambda: client.pfs.stub.ListCommit(request, timeout=10), "started_time")


BAD_DURATIONS = [
    duration_pb2.Duration(seconds=1, nanos=-5),
    duration_pb2.Duration(seconds=-1, nanos=5),
    duration_pb2.Duration(seconds=2**62),
    duration_pb2.Duration(nanos=1_500_000_000),
]


@pytest.mark.parametrize("d", BAD_DURATIONS, ids=["negative-nanos", "mixed-signs", "huge", "big-nanos"])
def test_malformed_pipeline_timeouts(server: RunningServer, client: tusk.Client, d: duration_pb2.Duration) -> None:
    create_repo(server, "images")
    for field in ("datum_timeout", "job_timeout"):
        request = pps_pb2.CreatePipelineRequest(
            pipeline=pps_pb2.Pipeline(name="p"),
            transform=pps_pb2.Transform(cmd=["true"]),
            input=pps_pb2.Input(pfs=pps_pb2.PFSInput(repo="images", glob="/*")),
            **{field: d},
        )
        _invalid(lambda: client.pps.stub.CreatePipeline(request, timeout=10), field)  # noqa: B023 - called at once


@pytest.mark.parametrize("d", BAD_DURATIONS, ids=["negative-nanos", "mixed-signs", "huge", "big-nanos"])
def test_malformed_durations_elsewhere(client: tusk.Client, finished_job: str, d: duration_pb2.Duration) -> None:
    stub = client.pps.stub
    job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="p"), id=finished_job)
    _invalid(lambda: stub.WaitJob(pps_pb2.WaitJobRequest(job=job, heartbeat_interval=d), timeout=10),
             "heartbeat_interval")  # fmt: skip
    _invalid(lambda: stub.GetLogs(pps_pb2.GetLogsRequest(job=job, since=d), timeout=10), "since")


HUGE = duration_pb2.Duration(seconds=315_576_000_000)  # valid protobuf, ten thousand years


def test_huge_waits_are_bounded(server: RunningServer, client: tusk.Client) -> None:
    create_repo(server, "images")
    create_pipeline(server, make_spec("p", "sleep 30", pfs_in("images")))
    job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="p"), id=put(server, "images", {"/a": b"1"}))
    stub = client.pps.stub
    _invalid(lambda: stub.WaitJob(pps_pb2.WaitJobRequest(job=job, heartbeat_interval=HUGE), timeout=10),
             "heartbeat_interval")  # fmt: skip
    _invalid(lambda: stub.StopJob(pps_pb2.StopJobRequest(job=job, grace_period=HUGE), timeout=10), "grace_period")
    for field in ("datum_timeout", "job_timeout"):
        request = pps_pb2.CreatePipelineRequest(
            pipeline=pps_pb2.Pipeline(name="q"),
            transform=pps_pb2.Transform(cmd=["true"]),
            input=pps_pb2.Input(pfs=pps_pb2.PFSInput(repo="images", glob="/*")),
            **{field: HUGE},
        )
        _invalid(lambda: stub.CreatePipeline(request, timeout=10), field)  # noqa: B023 - called at once
    client.pps.stop_job(f"p@{job.id}")


def test_malformed_duration_in_a_field_tusk_only_records(server: RunningServer, client: tusk.Client) -> None:
    """Found by the fuzzer: the spec is stored as JSON, which protobuf refuses to print."""
    create_repo(server, "images")
    request = pps_pb2.CreatePipelineRequest(
        pipeline=pps_pb2.Pipeline(name="p"),
        transform=pps_pb2.Transform(cmd=["true"]),
        input=pps_pb2.Input(pfs=pps_pb2.PFSInput(repo="images", glob="/*")),
        maximum_expected_uptime=duration_pb2.Duration(nanos=2**31 - 1),
    )
    _invalid(lambda: client.pps.stub.CreatePipeline(request, timeout=10), "maximum_expected_uptime")


def test_a_cron_start_out_of_range_is_invalid_argument(client: tusk.Client) -> None:
    # Found by the fuzzer: a Timestamp with negative nanos in input.cron.start was INTERNAL.
    from tusk.proto.pps_v2 import pps_pb2_grpc

    stub = pps_pb2_grpc.APIStub(client.channel)
    bad = pps_pb2.Input(cron=pps_pb2.CronInput(name="t", spec="@daily", start=timestamp_pb2.Timestamp(nanos=-4363)))
    with pytest.raises(grpc.RpcError) as info:
        list(stub.ListDatum(pps_pb2.ListDatumRequest(input=bad), timeout=10))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input.cron.start" in (info.value.details() or "")
