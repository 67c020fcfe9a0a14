"""Jobs whose datums run on a Dask cluster, blobs on S3: a server configured with
``--blobs s3://`` and ``--executor dask://`` (tests/daskcluster.py: a scheduler process and two
`tusk worker` processes with 2 slots each on 127.0.0.1; SeaweedFS from tests/s3servers.py).

Skips, retries, err_cmd, timeouts, logs, StopJob and RestartDatum behave as with the local
executor; a worker SIGKILLed mid-job leaves the job SUCCESS with the same output commit and no
user process behind. User processes are found through /proc by a marker in their environment.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

import tusk
from tests.conftest import RunningServer, start_server, stop_server
from tests.daskcluster import DaskCluster
from tests.integration.test_engine import (
    S,
    create_pipeline,
    create_repo,
    datums,
    files,
    job,
    jobs_of,
    make_spec,
    pfs_in,
    progress,
    put,
    wait_for,
    wait_job,
)
from tuskd.config import ServerConfig, parse_blobs_url
from tuskd.domain.jobs import JobKey
from tuskd.domain.states import DatumState

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def marked_pids(marker: str) -> list[int]:
    """Processes (on this machine: every worker here) whose environment holds ``marker``."""
    found = []
    needle = f"TUSK_TEST_MARK={marker}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
        except OSError:  # gone, or not ours
            continue
        if needle in env:
            found.append(int(entry))
    return found


def _descendants_marked(pid: int, marker: str) -> bool:
    children = {p.pid for p in psutil.Process(pid).children(recursive=True)}
    return bool(children & set(marked_pids(marker)))


@pytest.fixture
def marker() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> DaskCluster:
    """The module's shared cluster: each test has its own server (its own engine), waits for its
    jobs to end and leaves no datum running, so the workers are idle again after it. A test that
    damages the cluster (kills a worker) asks for a cluster of its own with ``own_cluster``."""
    name = "dask_cluster" if request.node.get_closest_marker("own_cluster") else "shared_dask_cluster"
    found: DaskCluster = request.getfixturevalue(name)
    return found


@pytest.fixture
def dask_server(
    cluster: DaskCluster, tmp_path: Path, server_config: ServerConfig, aws_credentials: None
) -> Iterator[RunningServer]:
    config = replace(
        server_config,
        blobs_s3=parse_blobs_url(cluster.blobs_url),
        blob_cache_dir=tmp_path / "server-cache",
        executor_url=cluster.executor_url,
    )
    running = start_server(config)
    try:
        yield running
    finally:
        stop_server(running)


def test_a_job_with_skips_retries_err_cmd_and_logs_on_dask(dask_server: RunningServer, tmp_path: Path) -> None:
    server = dask_server
    counter = tmp_path / "counter"
    counter.mkdir()
    create_repo(server, "images")
    script = r"""
name=$(basename "$images")
n=$(cat "$COUNTER/$name" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER/$name"
echo "log of $name try $n"
case "$name" in
  flaky*) [ $n -ge 2 ] || exit 5 ;;
  bad*) exit 4 ;;
esac
tr a-z A-Z < "$images" > /pfs/out/$name
"""
    create_pipeline(
        server,
        make_spec("up", script, pfs_in("images"), env={"COUNTER": str(counter)}, err_cmd=["true"], parallelism=4),
    )
    inputs = {f"/f{i}": f"file {i}".encode() for i in range(8)}
    c1 = put(server, "images", {**inputs, "/flaky": b"flaky", "/bad": b"bad"})
    j1 = wait_job(server, "up", c1, timeout=120)
    assert (j1.state, progress(j1)) == (S.JOB_SUCCESS, "9 + 0 + 1 / 10"), j1.reason
    expected = {f"/f{i}": f"FILE {i}".encode() for i in range(8)} | {"/flaky": b"FLAKY"}
    assert files(server, "up", c1) == expected
    rows = {d.record.id: d.record for d in datums(server, "up", c1)}
    flaky = next(r for r in rows.values() if r.attempts == 2)
    assert flaky.state == DatumState.SUCCESS
    [log] = server.deps.engine.logs.read_logs("default", "up", c1, flaky.id)
    assert "log of flaky try 1" in log.lines() and "log of flaky try 2" in log.lines()
    # The next commit: unchanged datums are skipped (bad was recovered: it runs again).
    c2 = put(server, "images", {"/new": b"new"})
    j2 = wait_job(server, "up", c2, timeout=120)
    assert (j2.state, progress(j2)) == (S.JOB_SUCCESS, "1 + 9 + 1 / 11"), j2.reason
    assert files(server, "up", c2) == expected | {"/new": b"NEW"}


def test_a_datum_over_its_timeout_fails_the_job_and_egress_copies_an_output(
    dask_server: RunningServer, tmp_path: Path
) -> None:
    server = dask_server
    create_repo(server, "images")
    create_pipeline(server, make_spec("slow", "sleep 30", pfs_in("images"), datum_timeout=0.5, datum_tries=1))
    target = tmp_path / "egress"
    egress = make_spec("eg", 'cp "$images" /pfs/out/', pfs_in("images"), egress_url=f"file://{target}")
    create_pipeline(server, egress)
    c = put(server, "images", {"/a": b"alpha"})
    j = wait_job(server, "slow", c, timeout=60)
    [d] = datums(server, "slow", c)
    assert j.state == S.JOB_FAILURE
    assert j.reason == f"datum {d.record.id} failed: timed out after 0.5s (attempt 1 of 1)"
    assert wait_job(server, "eg", c, timeout=60).state == S.JOB_SUCCESS
    assert (target / "a").read_bytes() == b"alpha"


def test_stop_job_kills_every_user_process_on_every_worker(
    dask_server: RunningServer, tmp_path: Path, marker: str
) -> None:
    server = dask_server
    started = tmp_path / "started"
    started.mkdir()
    create_repo(server, "images")
    script = 'touch "$STARTED/$(basename "$images")"; sleep 600 & sleep 600'
    spec = make_spec(
        "hold", script, pfs_in("images"), env={"STARTED": str(started), "TUSK_TEST_MARK": marker}, parallelism=4
    )
    create_pipeline(server, spec)
    c = put(server, "images", {f"/{i}": b"x" for i in range(6)})
    wait_for(lambda: len(os.listdir(started)) >= 4, timeout=60, what="four running datums (both workers)")
    assert len(marked_pids(marker)) >= 8  # the shells and their background sleeps
    stopped = server.deps.engine.stop_job(JobKey("default", "hold", c))
    assert stopped.state == S.JOB_KILLED
    assert marked_pids(marker) == []  # gone by the time StopJob returns


def test_restart_datum_kills_it_on_its_worker_and_runs_it_again(
    dask_server: RunningServer, tmp_path: Path, marker: str
) -> None:
    server = dask_server
    runs = tmp_path / "runs"
    runs.mkdir()
    create_repo(server, "images")
    script = r"""
name=$(basename "$images"); echo run >> "$RUNS/$name"; echo "$PACH_DATUM_ID" > "$RUNS/$name.id"
[ "$(wc -l < "$RUNS/$name")" -ge 2 ] || sleep 600
cp "$images" /pfs/out/
"""
    create_pipeline(
        server,
        make_spec("p", script, pfs_in("images"), env={"RUNS": str(runs), "TUSK_TEST_MARK": marker}, datum_tries=1),
    )
    c = put(server, "images", {"/slow": b"slow data"})
    wait_for(lambda: (runs / "slow.id").exists() and (runs / "slow.id").read_text().strip(), timeout=60, what="start")
    first = marked_pids(marker)
    assert first
    with tusk.Client(server.address) as client:
        client.pps.restart_datum(f"p@{c}", datum_ids=[(runs / "slow.id").read_text().strip()])
        info = client.pps.wait_job_done(f"p@{c}")[0]
    assert info.state == tusk.proto.pps_v2.pps_pb2.JOB_SUCCESS, info.reason
    assert (runs / "slow").read_text().split() == ["run", "run"]
    assert files(server, "p", c) == {"/slow": b"slow data"}
    assert not [p for p in first if p in marked_pids(marker)]


@pytest.mark.own_cluster
def test_a_worker_killed_mid_job_leaves_the_same_output(
    dask_server: RunningServer, cluster: DaskCluster, tmp_path: Path, marker: str
) -> None:
    server = dask_server
    started = tmp_path / "started"
    started.mkdir()
    create_repo(server, "images")
    script = (
        'touch "$STARTED/$(basename "$images")"; sleep 0.5; tr a-z A-Z < "$images" > /pfs/out/$(basename "$images")'
    )
    env = {"STARTED": str(started), "TUSK_TEST_MARK": marker}
    create_pipeline(server, make_spec("ref", script, pfs_in("images"), env=env, parallelism=4))
    c = put(server, "images", {f"/f{i:02}": f"content {i}".encode() for i in range(16)})
    ref = wait_job(server, "ref", c, timeout=120)
    assert ref.state == S.JOB_SUCCESS, ref.reason
    for entry in os.listdir(started):
        os.unlink(started / entry)
    create_pipeline(server, make_spec("victim", script, pfs_in("images"), env=env, parallelism=4))
    wait_for(lambda: len(os.listdir(started)) >= 4, timeout=60, what="datums running on both workers")
    victim_worker = cluster.workers[0]
    wait_for(lambda: _descendants_marked(victim_worker.pid, marker), timeout=60, what="a datum on the worker to kill")
    os.kill(victim_worker.pid, signal.SIGKILL)
    victim_worker.proc.wait()
    [victim] = jobs_of(server, "victim")
    j = wait_job(server, "victim", victim.key.id, timeout=120)
    assert (j.state, progress(j)) == (S.JOB_SUCCESS, "16 + 0 / 16"), j.reason
    assert files(server, "victim", victim.key.id) == files(server, "ref", c)
    wait_for(lambda: not marked_pids(marker), timeout=30, what="no user process left")
    assert job(server, "ref", c).state == S.JOB_SUCCESS
