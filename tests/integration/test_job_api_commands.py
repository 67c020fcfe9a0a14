"""The pps_v2 job RPCs over gRPC: job sets, SubscribeJob, DeleteJob, StopJob (helpers: test_job_api.py)."""

from __future__ import annotations

import threading
import time
import uuid

import grpc
import pytest

import tusk
from tests.conftest import RunningServer
from tests.integration.test_job_api import RUN, add_job, add_pipeline, drive, ids, name, seed_dag, succeed, wait_until
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.states import JobState

# --------------------------------------------------------------------------------------------
# Job sets
# --------------------------------------------------------------------------------------------


def test_inspect_job_set_in_dag_order_and_wait(server: RunningServer, client: tusk.Client) -> None:
    set_id = seed_dag(server, "montage")
    add_pipeline(server, "edges")
    add_pipeline(server, "montage")
    # Created downstream first on purpose: the order must come from the DAG, not from creation.
    montage = add_job(server, "montage", set_id)
    edges = add_job(server, "edges", set_id)
    assert ids(client.pps.inspect_job_set(set_id)) == [name(edges), name(montage)]

    got: list[tuple[str, int]] = []

    def waiter() -> None:
        for info in client.pps.inspect_job_set(set_id, wait=True, timeout=10):
            got.append((info.job.pipeline.name, info.state))

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)
    assert got == []
    succeed(server, edges)
    wait_until(lambda: len(got) == 1)
    assert got == [("edges", pps_pb2.JOB_SUCCESS)]
    drive(server, montage, *RUN, JobState.JOB_KILLED, reason="job stopped")
    t.join(5)
    assert got == [("edges", pps_pb2.JOB_SUCCESS), ("montage", pps_pb2.JOB_KILLED)]
    with pytest.raises(errors.NotFound):
        list(client.pps.inspect_job_set(uuid.uuid4().hex))
    with pytest.raises(errors.InvalidArgument):
        list(client.pps.inspect_job_set("nope"))


def test_list_job_set(server: RunningServer, client: tusk.Client) -> None:
    add_pipeline(server, "a")
    add_pipeline(server, "b")
    s1, s2 = uuid.uuid4().hex, uuid.uuid4().hex
    add_job(server, "a", s1)
    add_job(server, "b", s1)
    add_job(server, "a", s2)
    sets = list(client.pps.list_job_set())
    assert [(s.job_set.id, len(s.jobs)) for s in sets] == [(s2, 1), (s1, 2)]
    assert [s.job_set.id for s in client.pps.list_job_set(reverse=True)] == [s1, s2]
    assert [s.job_set.id for s in client.pps.list_job_set(number=1)] == [s2]
    try:
        import jq  # noqa: F401 - only whether it is installed matters
    except ImportError:
        with pytest.raises(errors.InvalidArgument, match="jq"):
            list(client.pps.list_job_set(jq_filter=".jobs | length == 2"))
    else:
        assert [s.job_set.id for s in client.pps.list_job_set(jq_filter=".jobs | length == 2")] == [s1]


# --------------------------------------------------------------------------------------------
# SubscribeJob, DeleteJob, StopJob
# --------------------------------------------------------------------------------------------


def test_subscribe_job_streams_existing_then_changes(server: RunningServer, client: tusk.Client) -> None:
    add_pipeline(server, "p")
    done = add_job(server, "p")
    succeed(server, done)
    waiting = add_job(server, "p")
    hub = server.deps.hub
    before = hub.subscriber_count()
    stream = client.pps.stub.SubscribeJob(pps_pb2.SubscribeJobRequest(pipeline=pps_pb2.Pipeline(name="p")))
    seen: list[tuple[str, int]] = []

    def reader() -> None:
        try:
            for info in stream:
                seen.append((info.job.id, info.state))
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.CANCELLED

    t = threading.Thread(target=reader)
    t.start()
    wait_until(lambda: len(seen) == 1)
    assert seen == [(waiting.id, pps_pb2.JOB_CREATED)]  # finished jobs are not replayed
    fresh = add_job(server, "p")
    drive(server, waiting, *RUN)
    wait_until(lambda: len(seen) == 4)
    assert sorted(seen[1:]) == sorted(
        [(fresh.id, pps_pb2.JOB_CREATED), (waiting.id, pps_pb2.JOB_STARTING), (waiting.id, pps_pb2.JOB_RUNNING)]
    )
    stream.cancel()
    t.join(5)
    wait_until(lambda: hub.subscriber_count() == before)
    with pytest.raises(errors.NotFound):
        next(client.pps.subscribe_job("nope"))


def test_delete_job(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "p")
    drive(server, key, *RUN)
    # As pachd: deleting a running job stops it ("job deleted"), then removes it.
    client.pps.delete_job(name(key))
    with pytest.raises(errors.NotFound):
        client.pps.inspect_job(name(key))
    with pytest.raises(errors.NotFound):
        client.pps.delete_job(name(key))
    finished = add_job(server, "q")
    drive(server, finished, *RUN)
    client.pps.stop_job(name(finished))
    client.pps.delete_job(name(finished))
    with pytest.raises(errors.NotFound):
        client.pps.inspect_job(name(finished))


def test_stop_job(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "p")
    drive(server, key, *RUN)
    client.pps.stop_job(name(key))
    info = client.pps.inspect_job(name(key))
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "job stopped")
    assert info.HasField("finished")
    # A terminal job: a no-op success that changes nothing.
    client.pps.stop_job(name(key), reason="again")
    assert client.pps.inspect_job(name(key)).reason == "job stopped"
    done = add_job(server, "p")
    succeed(server, done)
    client.pps.stop_job(name(done))
    assert client.pps.inspect_job(name(done)).state == pps_pb2.JOB_SUCCESS


def test_stop_job_set_and_argument_errors(server: RunningServer, client: tusk.Client) -> None:
    set_id = uuid.uuid4().hex
    a, b = add_job(server, "a", set_id), add_job(server, "b", set_id)
    drive(server, a, *RUN)
    client.pps.stop_job(set_id, reason="enough", grace=0.5)
    for key in (a, b):
        info = client.pps.inspect_job(name(key))
        assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "enough")
    stub = client.pps.stub
    for request in (
        pps_pb2.StopJobRequest(),
        pps_pb2.StopJobRequest(job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="a"), id=set_id),
                               job_set=pps_pb2.JobSet(id=set_id)),
    ):  # fmt: skip
        with pytest.raises(grpc.RpcError) as err:
            stub.StopJob(request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(errors.InvalidArgument, match="grace"):
        client.pps.stop_job(name(a), grace=-1)
    with pytest.raises(errors.NotFound):
        client.pps.stop_job(uuid.uuid4().hex)
    with pytest.raises(errors.NotFound):
        client.pps.stop_job(f"a@{uuid.uuid4().hex}")


def test_job_info_omits_default_project_but_names_others(server: RunningServer, client: tusk.Client) -> None:
    key = add_job(server, "p", project="team")
    info = client.pps.inspect_job(f"team/p@{key.id}")
    assert info.job.pipeline.project.name == "team"
    assert info.output_commit.branch.repo.project.name == "team"
    plain = client.pps.inspect_job(name(add_job(server, "p")))
    assert not plain.job.pipeline.HasField("project")
