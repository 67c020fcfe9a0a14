"""WaitJob through a real server: the opening message, one message per change, per-target seqs,
exactly-once resume with after_seq (also across a server restart), heartbeats, the end of the
stream, status codes, freeing the server thread on cancel, and hundreds of concurrent waiters."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

import tusk
from tests.conftest import RunningServer, free_port, start_server
from tests.integration.test_job_api import FINISH, RUN, add_job, drive, name, succeed, wait_until
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2
from tuskd.config import ServerConfig
from tuskd.domain.jobs import Counts, JobKey, Stats
from tuskd.domain.states import JobState
from tuskd.services.jobs import WatchTarget


def _request(key: JobKey | None = None, set_id: str = "", after_seq: int = 0, heartbeat: float | None = None):  # type: ignore[no-untyped-def]
    req = pps_pb2.WaitJobRequest(after_seq=after_seq)
    if key is not None:
        req.job.pipeline.name = key.pipeline
        req.job.id = key.id
    if set_id:
        req.job_set.id = set_id
    if heartbeat is not None:
        req.heartbeat_interval.FromNanoseconds(int(heartbeat * 1e9))
    return req


def _changes(stream: Iterator[pps_pb2.WaitJobResponse]) -> list[tuple[int, str, int]]:
    return [(r.seq, r.job_info.job.pipeline.name, r.job_info.state) for r in stream if not r.heartbeat]


def _history(server: RunningServer, target: WatchTarget, after: int) -> list[tuple[int, str, int]]:
    return [
        (i.seq, i.job.key.pipeline, int(i.job.state))
        for i in server.deps.jobs.watch(target, after_seq=after)
        if i.job is not None
    ]


def test_opens_with_current_state_then_streams_each_change_until_terminal(
    server: RunningServer, client: tusk.Client
) -> None:
    key = add_job(server, "edges")
    drive(server, key, JobState.JOB_STARTING)
    got: list[pps_pb2.WaitJobResponse] = []
    t = threading.Thread(target=lambda: got.extend(client.pps.wait_job(name(key), heartbeat=0.05)))
    t.start()
    wait_until(lambda: len(got) >= 1)
    assert (got[0].seq, got[0].job_info.state) == (2, pps_pb2.JOB_STARTING)
    drive(server, key, JobState.JOB_RUNNING)
    server.deps.jobs.set_total(key, 2)
    server.deps.jobs.record_progress(key, Counts(processed=1), Stats(process_time=0.5))
    server.deps.jobs.record_progress(key, Counts(recovered=1), Stats())
    drive(server, key, *FINISH)
    t.join(5)
    assert not t.is_alive()
    changes = [r for r in got if not r.heartbeat]
    assert [r.seq for r in changes] == [2, 3, 4, 5, 6, 7, 8]
    assert [r.job_info.state for r in changes][-1] == pps_pb2.JOB_SUCCESS
    assert (changes[3].job_info.data_processed, changes[3].job_info.data_total) == (1, 2)
    assert changes[4].job_info.data_recovered == 1
    # Heartbeats carry the latest seq sent.
    seen = 0
    for r in got:
        if r.heartbeat:
            assert r.seq == seen and not r.HasField("job_info")
        else:
            seen = r.seq


def test_terminal_target_gets_one_message_and_the_end(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "edges")
    succeed(server, key)
    got = list(client.pps.wait_job(name(key)))
    assert [(r.seq, r.job_info.state) for r in got] == [(5, pps_pb2.JOB_SUCCESS)]
    # Resuming at the last seq of a finished job: nothing left to send, the stream just ends.
    assert list(client.pps.wait_job(name(key), after_seq=5)) == []
    assert [r.seq for r in client.pps.wait_job(name(key), after_seq=3)] == [4, 5]


def test_resume_after_a_dropped_stream_gets_every_change_exactly_once(
    server: RunningServer, client: tusk.Client
) -> None:
    key = add_job(server, "edges")
    drive(server, key, *RUN)
    stub = client.pps.stub
    first = stub.WaitJob(_request(key, heartbeat=0.05))
    received: list[tuple[int, str, int]] = []
    for response in first:
        if response.heartbeat:
            continue
        received.append((response.seq, response.job_info.job.pipeline.name, response.job_info.state))
        if len(received) == 1:
            server.deps.jobs.set_total(key, 3)
            server.deps.jobs.record_progress(key, Counts(processed=1), Stats())
        if len(received) == 3:
            break
    first.cancel()  # the connection "drops" mid-job
    server.deps.jobs.record_progress(key, Counts(processed=1), Stats())
    server.deps.jobs.record_progress(key, Counts(failed=1), Stats())
    drive(server, key, JobState.JOB_FAILURE, reason="datum 7f failed")
    second = _changes(stub.WaitJob(_request(key, after_seq=received[-1][0])))
    union = received + second
    assert union == _history(server, WatchTarget(key=key), received[0][0] - 1)
    assert [s for s, _, _ in union] == list(range(received[0][0], server.deps.jobs.get(key).seq + 1))
    assert union[-1][2] == pps_pb2.JOB_FAILURE


def test_job_set_wait_covers_every_job_with_one_seq_per_set(server: RunningServer, client: tusk.Client) -> None:
    set_id = uuid.uuid4().hex
    a, b = add_job(server, "a", set_id), add_job(server, "b", set_id)
    succeed(server, a)
    got: list[tuple[int, str, int]] = []

    def follow() -> None:
        for r in client.pps.wait_job(set_id, heartbeat=0.05):
            if not r.heartbeat:
                got.append((r.seq, r.job_info.job.pipeline.name, r.job_info.state))

    t = threading.Thread(target=follow)
    t.start()
    wait_until(lambda: len(got) == 2)
    # Opening: each job's current state, in the order of their last changes.
    assert [(p, s) for _, p, s in got] == [("b", pps_pb2.JOB_CREATED), ("a", pps_pb2.JOB_SUCCESS)]
    drive(server, b, JobState.JOB_STARTING, JobState.JOB_UNRUNNABLE, reason="upstream a failed")
    t.join(5)
    assert not t.is_alive()
    assert [(p, s) for _, p, s in got[2:]] == [("b", pps_pb2.JOB_STARTING), ("b", pps_pb2.JOB_UNRUNNABLE)]
    seqs = [s for s, _, _ in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # Resume in the middle of a set's history: exactly the later changes.
    assert _changes(client.pps.wait_job(set_id, after_seq=seqs[1])) == got[2:]


def test_status_codes(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "edges")
    stub = client.pps.stub

    def code(request: pps_pb2.WaitJobRequest) -> grpc.StatusCode:
        with pytest.raises(grpc.RpcError) as err:
            list(stub.WaitJob(request, timeout=5))
        return err.value.code()  # type: ignore[no-any-return]

    missing = replace(key, id=uuid.uuid4().hex)
    assert code(_request(missing)) == grpc.StatusCode.NOT_FOUND
    assert code(_request(set_id=uuid.uuid4().hex)) == grpc.StatusCode.NOT_FOUND
    assert code(_request(key, after_seq=99)) == grpc.StatusCode.OUT_OF_RANGE
    assert code(_request()) == grpc.StatusCode.INVALID_ARGUMENT
    assert code(_request(key, set_id=key.id)) == grpc.StatusCode.INVALID_ARGUMENT
    assert code(_request(set_id="not-an-id")) == grpc.StatusCode.INVALID_ARGUMENT
    bad = _request(key)
    bad.heartbeat_interval.CopyFrom(duration_pb2.Duration(seconds=-1))
    assert code(bad) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(errors.NotFound, match=f"jobs default/edges@{missing.id} not found"):
        list(client.pps.wait_job(name(missing)))


def test_heartbeats_arrive_in_quiet_periods(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "edges")
    stream = client.pps.stub.WaitJob(_request(key, heartbeat=0.05))
    started = time.monotonic()
    first = next(stream)
    beats = [next(stream) for _ in range(3)]
    elapsed = time.monotonic() - started
    stream.cancel()
    assert first.seq == 1 and not first.heartbeat
    assert all(b.heartbeat and b.seq == 1 for b in beats)
    assert 0.1 <= elapsed < 2.0


def test_default_heartbeat_comes_from_config(make_server: object) -> None:
    server: RunningServer = make_server(heartbeat_seconds=0.05)  # type: ignore[operator]
    key = add_job(server, "edges")
    with server.client() as c:
        stream = c.pps.stub.WaitJob(_request(key))
        assert not next(stream).heartbeat
        assert next(stream).heartbeat
        stream.cancel()


def test_cancel_and_deadline_free_the_server_thread(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "edges")
    hub = server.deps.hub
    before = hub.subscriber_count()
    stream = client.pps.stub.WaitJob(_request(key, heartbeat=60))
    next(stream)
    assert hub.subscriber_count() == before + 1
    stream.cancel()
    wait_until(lambda: hub.subscriber_count() == before, timeout=2)
    with pytest.raises(grpc.RpcError) as err:
        list(client.pps.stub.WaitJob(_request(key, heartbeat=60), timeout=0.3))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: hub.subscriber_count() == before, timeout=2)


def test_two_hundred_concurrent_waiters_all_get_the_terminal_message(make_server: object) -> None:
    server: RunningServer = make_server(rpc_workers=512)  # type: ignore[operator]
    key = add_job(server, "edges")
    drive(server, key, *RUN)
    hub = server.deps.hub
    before = hub.subscriber_count()
    clients = [server.client() for _ in range(4)]
    finals: list[int] = []
    lock = threading.Lock()

    def waiter(c: tusk.Client) -> None:
        last = None
        for response in c.pps.wait_job(name(key), heartbeat=30):
            if not response.heartbeat:
                last = response.job_info.state
        with lock:
            finals.append(last or 0)

    threads = [threading.Thread(target=waiter, args=(clients[i % 4],)) for i in range(200)]
    for t in threads:
        t.start()
    wait_until(lambda: hub.subscriber_count() >= before + 200, timeout=20)
    drive(server, key, *FINISH)
    for t in threads:
        t.join(20)
    for c in clients:
        c.close()
    assert finals == [pps_pb2.JOB_SUCCESS] * 200
    wait_until(lambda: hub.subscriber_count() == before, timeout=5)


def test_client_resumes_across_a_server_restart(tmp_path: Path) -> None:
    """The client's wait_job outlives its server: it reconnects with the last seq it saw and the
    union of what it got is the job's whole history, each change once."""
    config = ServerConfig(
        address=f"127.0.0.1:{free_port()}", data_dir=tmp_path / "data", rpc_workers=32, datum_workers=1
    )
    first = start_server(config)
    key = add_job(first, "edges")
    drive(first, key, *RUN)
    got: list[pps_pb2.WaitJobResponse] = []
    reconnects: list[int] = []
    client = tusk.Client(config.address)

    def follow() -> None:
        for response in client.pps.wait_job(
            name(key), heartbeat=0.05, reconnect_for=30, on_reconnect=lambda seq, err: reconnects.append(seq)
        ):
            if not response.heartbeat:
                got.append(response)

    t = threading.Thread(target=follow)
    t.start()
    wait_until(lambda: len(got) == 1)
    first.deps.jobs.set_total(key, 1)
    wait_until(lambda: len(got) == 2)
    first.server.stop(grace=0.1).wait()
    first.deps.close()
    second = start_server(config)
    try:
        # The restarted engine records the interrupted job's restart (RUNNING -> STARTING).
        drive(second, key, JobState.JOB_RUNNING)
        second.deps.jobs.record_progress(key, Counts(processed=1), Stats())
        drive(second, key, *FINISH)
        t.join(30)
        assert not t.is_alive()
        seqs = [r.seq for r in got]
        assert seqs == list(range(seqs[0], second.deps.jobs.get(key).seq + 1))
        history = _history(second, WatchTarget(key=key), seqs[0] - 1)
        assert [(r.seq, r.job_info.job.pipeline.name, r.job_info.state) for r in got] == history
        assert got[-1].job_info.state == pps_pb2.JOB_SUCCESS and got[-1].job_info.restart == 1
        assert reconnects and reconnects[0] == seqs[1]  # resumed right after the last change seen
    finally:
        client.close()
        second.server.stop(grace=0.1).wait()
        second.deps.close()
