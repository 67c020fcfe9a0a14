"""jqFilter programs cannot freeze or kill the server: one that never ends, spins or asks for
gigabytes is stopped (RESOURCE_EXHAUSTED, or DEADLINE_EXCEEDED once the client's deadline has
passed) while every other call keeps answering, and the server's own memory stays put."""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc
import psutil
import pytest

from tests.conftest import RunningServer
from tests.integration.test_job_api import add_job, add_pipeline, ids, name
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

ENDLESS = ("def f: f; f", "last(range(1e12))")


def test_endless_filters_are_stopped_while_other_calls_answer(make_server: Callable[..., RunningServer]) -> None:
    server = make_server(jq_seconds=2)
    add_pipeline(server, "p")
    job = add_job(server, "p")
    with server.client() as c:
        for program in ENDLESS:
            outcome: list[BaseException] = []

            def run(program: str = program, outcome: list[BaseException] = outcome) -> None:
                try:
                    list(c.pps.list_job(jq_filter=program, timeout=60))
                except errors.TuskError as error:
                    outcome.append(error)

            listing = threading.Thread(target=run)
            listing.start()
            answered = 0
            while listing.is_alive() or answered == 0:  # the server answers while jq runs
                assert c.version(timeout=30).major >= 0
                assert c.health(timeout=30) == "SERVING"
                answered += 1
            listing.join()
            [exc] = outcome
            assert isinstance(exc, errors.ResourceExhausted)
            assert "ran longer than a request's jq filters may" in str(exc)
        with pytest.raises(grpc.RpcError) as info:
            list(c.pps.stub.ListPipeline(pps_pb2.ListPipelineRequest(jqFilter="last(range(1e12))"), timeout=60))
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "ran longer" in info.value.details()
        # The workers were replaced: filters work as before.
        assert ids(c.pps.list_job(jq_filter='.state != "JOB_SUCCESS"')) == [name(job)]


def test_memory_hungry_filters_are_stopped_and_the_server_stays_small(
    make_server: Callable[..., RunningServer],
) -> None:
    server = make_server(jq_memory_bytes=256 * 1024 * 1024)
    add_pipeline(server, "p")
    job = add_job(server, "p")
    me = psutil.Process()
    before = me.memory_info().rss
    with server.client() as c:
        for program in ("[range(1e9)] | length", '[range(1e8) | tostring] | join(",") | length'):
            with pytest.raises(errors.ResourceExhausted, match="needed more memory than jq filters may use"):
                list(c.pps.list_job(jq_filter=program, timeout=60))
        assert me.memory_info().rss - before < 100 * 1024 * 1024
        assert c.health() == "SERVING"
        assert ids(c.pps.list_job(jq_filter=".job.pipeline.name == \"p\"")) == [name(job)]


def test_a_filter_stops_when_the_clients_deadline_passes(make_server: Callable[..., RunningServer]) -> None:
    # One worker and a budget far longer than the test: only the deadline can free the worker.
    server = make_server(jq_workers=1, jq_seconds=3600)
    add_pipeline(server, "p")
    job = add_job(server, "p")
    with server.client() as c:
        with pytest.raises(errors.DeadlineExceeded):
            list(c.pps.list_job(jq_filter="def f: f; f", timeout=1))
        assert ids(c.pps.list_job(jq_filter="true", timeout=30)) == [name(job)]
