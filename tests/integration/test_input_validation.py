"""Values a client sends that the server must refuse with INVALID_ARGUMENT naming the field
(issue 12, item 11): system repo types in CreateRepo, malformed input commits, parallelism and
datum_tries out of range, globs nested past the parser's depth limit."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

import tusk
from tests.conftest import RunningServer
from tusk import errors
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.pfs import RepoKey

pytestmark = pytest.mark.timeout(60)


def _spec(**extra: Any) -> dict[str, Any]:
    return {
        "pipeline": {"name": "p"},
        "transform": {"cmd": ["true"]},
        "input": {"pfs": {"repo": "images", "glob": "/*"}},
        **extra,
    }


@pytest.mark.parametrize("repo_type", ["spec", "meta"])
def test_create_repo_of_a_system_type_is_refused(client: tusk.Client, repo_type: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        client.pfs.stub.CreateRepo(pfs_pb2.CreateRepoRequest(repo=pfs_pb2.Repo(name="x", type=repo_type)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert f'repo type "{repo_type}"' in info.value.details()  # type: ignore[attr-defined]
    assert [r.repo.name for r in client.pfs.list_repo(type=repo_type)] == []


def test_pipeline_input_commit_must_be_a_commit_id(server: RunningServer, client: tusk.Client) -> None:
    server.deps.pfs.create_repo(RepoKey.of("images"))
    with pytest.raises(errors.InvalidArgument) as info:
        client.pps.create_pipeline(_spec(input={"pfs": {"repo": "images", "glob": "/*", "commit": "zz"}}))
    assert "input.pfs.commit" in info.value.message
    assert "'zz'" in info.value.message


def test_pipeline_input_commit_is_refused_even_when_well_formed(server: RunningServer, client: tusk.Client) -> None:
    server.deps.pfs.create_repo(RepoKey.of("images"))
    with pytest.raises(errors.InvalidArgument) as info:
        client.pps.create_pipeline(_spec(input={"pfs": {"repo": "images", "glob": "/*", "commit": "a" * 32}}))
    assert "input.pfs.commit" in info.value.message


def test_list_datum_input_commit_must_be_a_commit_id(server: RunningServer, client: tusk.Client) -> None:
    server.deps.pfs.create_repo(RepoKey.of("images"))
    request = pps_pb2.ListDatumRequest(
        input=pps_pb2.Input(pfs=pps_pb2.PFSInput(repo="images", glob="/*", commit="zz"))
    )
    with pytest.raises(grpc.RpcError) as info:
        list(client.pps.stub.ListDatum(request, timeout=10))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "input.pfs.commit" in info.value.details()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"parallelism_spec": pps_pb2.ParallelismSpec(constant=2**64 - 1)}, "parallelism_spec.constant"),
        ({"parallelism_spec": pps_pb2.ParallelismSpec(constant=2**62)}, "parallelism_spec.constant"),
        ({"datum_tries": 2**62}, "datum_tries"),
        ({"datum_tries": -1}, "datum_tries"),
    ],
)
def test_pipeline_counts_are_bounded(
    server: RunningServer, client: tusk.Client, request_fields: dict[str, Any], field: str
) -> None:
    server.deps.pfs.create_repo(RepoKey.of("images"))
    request = pps_pb2.CreatePipelineRequest(
        pipeline=pps_pb2.Pipeline(name="p"),
        transform=pps_pb2.Transform(cmd=["true"]),
        input=pps_pb2.Input(pfs=pps_pb2.PFSInput(repo="images", glob="/*")),
        **request_fields,
    )
    with pytest.raises(grpc.RpcError) as info:
        client.pps.stub.CreatePipeline(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert field in info.value.details()  # type: ignore[attr-defined]


@pytest.mark.parametrize("opener", ["{", "(", "[[", "{a,"])
def test_deeply_nested_glob_is_invalid_argument(server: RunningServer, client: tusk.Client, opener: str) -> None:
    server.deps.pfs.create_repo(RepoKey.of("images"))
    glob = "/" + opener * 1000 + "x"
    with pytest.raises(errors.InvalidArgument) as info:
        client.pps.create_pipeline(_spec(input={"pfs": {"repo": "images", "glob": glob}}))
    assert "glob" in info.value.message


@pytest.mark.parametrize("opener", ["{", "("])
def test_deeply_nested_glob_in_glob_file_is_invalid_argument(client: tusk.Client, opener: str) -> None:
    client.pfs.create_repo("images")
    client.pfs.put_file("images@master", "/a", b"x")
    with pytest.raises(errors.InvalidArgument) as info:
        list(client.pfs.glob_file("images@master", "/" + opener * 1000 + "a"))
    assert "glob" in info.value.message
