"""Cron pipelines through the official Pachyderm Python client (pachyderm-sdk 2.12.2)."""

from __future__ import annotations

import time

import grpc
import pytest

pachyderm_sdk = pytest.importorskip("pachyderm_sdk", reason="pachyderm-sdk is a test dependency")
from pachyderm_sdk.api import pfs, pps  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sdk(server: object) -> object:
    host, port = server.address.rsplit(":", 1)  # type: ignore[attr-defined]
    client = pachyderm_sdk.Client(host=host, port=int(port))
    yield client
    client._channel.close()


def test_sdk_creates_a_cron_pipeline_and_runs_it(sdk: object) -> None:
    pipeline = pps.Pipeline(name="nightly")
    sdk.pps.create_pipeline(  # type: ignore[attr-defined]
        pipeline=pipeline,
        transform=pps.Transform(cmd=["sh", "-c", "ls /pfs/tick > /pfs/out/ticks"], image="alpine"),
        input=pps.Input(cron=pps.CronInput(name="tick", spec="@daily", overwrite=True)),
    )
    info = sdk.pps.inspect_pipeline(pipeline=pipeline, details=True)  # type: ignore[attr-defined]
    cron = info.details.input.cron
    assert (cron.repo, cron.project, cron.spec, cron.overwrite) == ("nightly_tick", "default", "@daily", True)
    sdk.pps.run_cron(pipeline=pipeline)  # type: ignore[attr-defined]
    sdk.pps.run_cron(pipeline=pipeline)  # type: ignore[attr-defined]
    tick_repo = pfs.Repo(name="nightly_tick")
    files = list(sdk.pfs.list_file(file=pfs.File.from_uri("nightly_tick@master:/")))  # type: ignore[attr-defined]
    assert len(files) == 1  # overwrite: the second tick replaced the first
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        jobs = list(sdk.pps.list_job(pipeline=pipeline))  # type: ignore[attr-defined]
        if len(jobs) >= 3 and all(j.state == pps.JobState.JOB_SUCCESS for j in jobs):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the ticks' jobs did not finish")
    newest = max(jobs, key=lambda j: j.created)
    out = b"".join(
        c.value
        for c in sdk.pfs.get_file(file=pfs.File.from_uri(f"nightly@{newest.job.id}:/ticks"))  # type: ignore[attr-defined]
    )
    assert out.decode().split() == [files[0].file.path.lstrip("/")]
    sdk.pps.delete_pipeline(pipeline=pipeline)  # type: ignore[attr-defined]
    assert tick_repo.name not in [r.repo.name for r in sdk.pfs.list_repo()]  # type: ignore[attr-defined]


def test_sdk_run_cron_without_a_cron_input_is_refused(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="images"))  # type: ignore[attr-defined]
    pipeline = pps.Pipeline(name="edges")
    sdk.pps.create_pipeline(  # type: ignore[attr-defined]
        pipeline=pipeline,
        transform=pps.Transform(cmd=["true"], image="alpine"),
        input=pps.Input(pfs=pps.PfsInput(repo="images", glob="/*")),
    )
    with pytest.raises(grpc.RpcError, match=r"pipeline.*have a cron input"):  # the SDK suite's own match
        sdk.pps.run_cron(pipeline=pipeline)  # type: ignore[attr-defined]


def test_sdk_cannot_list_the_datums_of_a_cron_input(sdk: object) -> None:
    cron = pps.Input(cron=pps.CronInput(name="tick", spec="@daily", repo="ticks"))
    with pytest.raises(grpc.RpcError, match="can't list datums with a cron input"):
        list(sdk.pps.list_datum(input=cron))  # type: ignore[attr-defined]
