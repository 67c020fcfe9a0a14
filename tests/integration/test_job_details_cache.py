"""InspectJob details are cached per pipeline version, and a re-created pipeline is not served
from the stale entry of its earlier incarnation."""

from __future__ import annotations

import tusk
from tusk.proto.pfs_v2 import pfs_pb2


def _pipeline(client: tusk.Client, cmd: list[str]) -> None:
    client.pps.create_pipeline(
        {"pipeline": {"name": "edges"}, "transform": {"cmd": cmd}, "input": {"pfs": {"repo": "images", "glob": "/*"}}}
    )


def _latest_details_cmd(client: tusk.Client) -> list[str]:
    job = next(iter(client.pps.list_job(pipeline="edges")))
    info = client.pps.inspect_job(f"edges@{job.job.id}", wait=True, details=True)
    return list(info.details.transform.cmd)


def test_recreated_pipeline_shows_its_own_spec(client: tusk.Client) -> None:
    client.pfs.stub.CreateRepo(pfs_pb2.CreateRepoRequest(repo=pfs_pb2.Repo(name="images")))
    _pipeline(client, ["true", "first"])
    assert _latest_details_cmd(client) == ["true", "first"]
    assert _latest_details_cmd(client) == ["true", "first"]  # served from the cache the second time
    client.pps.delete_pipeline("edges")
    _pipeline(client, ["true", "second"])  # version 1 again, with another spec
    assert _latest_details_cmd(client) == ["true", "second"]
