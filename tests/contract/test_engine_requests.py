"""Engine requests on a real PostgreSQL (store/postgres_requests.py, engine/engine_requests.py):
a request forwarded by one server is run by the leader's runner and answered with its result or
its error (same class); a request a dead leader claimed and never finished is claimed again by
the next epoch; a request nobody runs ends UNAVAILABLE naming the leader."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tuskd.domain.errors import NotFound, Unavailable
from tuskd.engine.engine_requests import RequestRunner, forward
from tuskd.store.postgres import PostgresStore
from tuskd.store.postgres_requests import EngineRequests

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def requests(pg_url: str) -> Iterator[EngineRequests]:
    store = PostgresStore(pg_url)
    try:
        yield store.requests()
    finally:
        store.close()


def _double(args: dict[str, Any]) -> list[int]:
    return [2 * n for n in args["numbers"]]


def _missing(args: dict[str, Any]) -> None:
    raise NotFound(f"job {args['job']} not found")


def test_a_forwarded_request_is_run_by_the_leader_and_answered(requests: EngineRequests) -> None:
    runner = RequestRunner(requests, 1, {"double": _double, "missing": _missing})
    runner.start()
    try:
        assert forward(requests, "double", {"numbers": [1, 2]}, 30, lambda: "leader") == [2, 4]
        with pytest.raises(NotFound, match="job x@y not found"):
            forward(requests, "missing", {"job": "x@y"}, 30, lambda: "leader")
    finally:
        runner.close()


def test_a_request_a_dead_leader_claimed_is_run_by_the_next(requests: EngineRequests) -> None:
    request_id = requests.submit("double", {"numbers": [5]})
    assert [r[0] for r in requests.claim(1)] == [request_id]  # epoch 1 claims it, then dies
    assert requests.claim(1) == []  # not twice by the same epoch
    runner = RequestRunner(requests, 2, {"double": _double})
    runner.start()
    try:
        while not requests.outcome(request_id)[0]:
            time.sleep(0.05)
        assert requests.outcome(request_id) == (True, [10], None, None)
    finally:
        runner.close()


def test_a_request_nobody_runs_is_unavailable_naming_the_leader(requests: EngineRequests) -> None:
    with pytest.raises(Unavailable, match=r"did not answer within 0\.3 s \(leader: server A\)"):
        forward(requests, "double", {"numbers": [1]}, 0.3, lambda: "server A")
