"""pachyderm-sdk 2.12.2 against a real tusk server: FindCommits, ClearCommit, SquashCommit,
DropCommit, the provenance walks, ReposSummary, Fsck, Egress and PipelinesSummary.

The SDK uses its own generated messages (betterproto); nothing of tusk's is imported on the
client side of these calls. Errors arrive as grpc.RpcError with pachd's texts.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from tests.conftest import RunningServer
from tuskd.config import ServerConfig

pachyderm_sdk = pytest.importorskip("pachyderm_sdk", reason="pachyderm-sdk is a test dependency")
from pachyderm_sdk.api import pfs, pps  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    """The test's own directory is one the server allows file:// URLs (and so Egress) for."""
    return replace(server_config, file_url_dirs=(tmp_path,))


@pytest.fixture
def sdk(server: RunningServer) -> object:
    host, port = server.address.rsplit(":", 1)
    client = pachyderm_sdk.Client(host=host, port=int(port))
    yield client
    client._channel.close()


def _put(sdk: object, repo: str, path: str, data: bytes) -> str:
    with sdk.pfs.commit(branch=pfs.Branch.from_uri(f"{repo}@master")) as commit:  # type: ignore[attr-defined]
        commit.put_file_from_bytes(path=path, data=data)
    return str(commit.id)


def _repo_picker(name: str) -> pfs.RepoPicker:
    return pfs.RepoPicker(
        name=pfs.RepoPickerRepoName(project=pfs.ProjectPicker(name="default"), name=name, type="user")
    )


def _chain(sdk: object) -> str:
    for name in ("a", "b"):
        sdk.pfs.create_repo(repo=pfs.Repo(name=name))  # type: ignore[attr-defined]
    sdk.pfs.create_branch(  # type: ignore[attr-defined]
        branch=pfs.Branch.from_uri("b@master"), provenance=[pfs.Branch.from_uri("a@master")]
    )
    set_id = _put(sdk, "a", "/x", b"x")
    sdk.pfs.finish_commit(commit=pfs.Commit.from_uri(f"b@{set_id}"))  # type: ignore[attr-defined]
    return set_id


def test_sdk_find_commits(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="r"))  # type: ignore[attr-defined]
    c1 = _put(sdk, "r", "/a", b"1")
    _put(sdk, "r", "/b", b"2")
    answers = list(
        sdk.pfs.find_commits(start=pfs.Commit.from_uri("r@master"), file_path="/a")  # type: ignore[attr-defined]
    )
    assert [(a.found_commit.id, a.last_searched_commit.id, a.commits_searched) for a in answers] == [
        (c1, "", 1),
        ("", c1, 2),
    ]


def test_sdk_clear_squash_and_drop_commit(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="r"))  # type: ignore[attr-defined]
    c1 = _put(sdk, "r", "/a", b"1")
    c2 = _put(sdk, "r", "/b", b"2")

    with pytest.raises(grpc.RpcError) as info:
        sdk.pfs.clear_commit(commit=pfs.Commit.from_uri(f"r@{c2}"))  # type: ignore[attr-defined]
    assert info.value.details() == "cannot clear finished commit"

    with pytest.raises(grpc.RpcError) as info:
        sdk.pfs.drop_commit(commit=pfs.Commit.from_uri(f"r@{c1}"))  # type: ignore[attr-defined]
    assert info.value.details() == f"cannot drop a commit that has children: default/r@{c1}"

    sdk.pfs.squash_commit(commit=pfs.Commit.from_uri(f"r@{c1}"))  # type: ignore[attr-defined]
    assert not sdk.pfs.commit_exists(pfs.Commit.from_uri(f"r@{c1}"))  # type: ignore[attr-defined]
    sdk.pfs.drop_commit(commit=pfs.Commit.from_uri(f"r@{c2}"))  # type: ignore[attr-defined]
    assert not sdk.pfs.commit_exists(pfs.Commit.from_uri(f"r@{c2}"))  # type: ignore[attr-defined]


def test_sdk_recursive_drop_and_walks(sdk: object) -> None:
    set_id = _chain(sdk)
    start = pfs.CommitPicker(id=pfs.CommitPickerCommitByGlobalId(repo=_repo_picker("b"), id=set_id))
    prov = list(sdk.pfs.walk_commit_provenance(start=[start]))  # type: ignore[attr-defined]
    assert [(c.commit.repo.name, c.commit.id) for c in prov] == [("a", set_id)]
    branch = pfs.BranchPicker(name=pfs.BranchPickerBranchName(repo=_repo_picker("a"), name="master"))
    subv = list(sdk.pfs.walk_branch_subvenance(start=[branch]))  # type: ignore[attr-defined]
    assert [b.branch.repo.name for b in subv] == ["b"]

    with pytest.raises(grpc.RpcError) as info:
        sdk.pfs.drop_commit(commit=pfs.Commit.from_uri(f"a@{set_id}"))  # type: ignore[attr-defined]
    assert info.value.details() == f"cannot drop commit (default/a@{set_id}) with subvenance without recursive"
    sdk.pfs.drop_commit(commit=pfs.Commit.from_uri(f"a@{set_id}"), recursive=True)  # type: ignore[attr-defined]
    assert not sdk.pfs.commit_exists(pfs.Commit.from_uri(f"b@{set_id}"))  # type: ignore[attr-defined]


def test_sdk_repos_summary_fsck_and_egress(sdk: object, server: RunningServer, tmp_path: Path) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="r"))  # type: ignore[attr-defined]
    _put(sdk, "r", "/a.txt", b"hello")
    summary = sdk.pfs.repos_summary(projects=[pfs.ProjectPicker(name="default")])  # type: ignore[attr-defined]
    assert [(s.project.name, s.user_repo_count, s.size_bytes) for s in summary.summaries] == [("default", 1, 5)]

    # The SDK's plain fsck() sends zombie_all=false: that must be the ordinary check.
    assert list(sdk.pfs.fsck()) == []  # type: ignore[attr-defined]
    blob = next((server.config.data_dir / "blobs").rglob(hashlib.sha256(b"hello").hexdigest()))
    os.chmod(blob, 0o644)
    blob.write_bytes(b"jello")
    errors = [r.error for r in sdk.pfs.fsck()]  # type: ignore[attr-defined]
    assert len(errors) == 1 and errors[0].endswith(f"its content hashes to {hashlib.sha256(b'jello').hexdigest()}")

    out = tmp_path / "egress"
    # Content that no longer matches its hash is never served, by GetFile nor by Egress.
    with pytest.raises(grpc.RpcError) as corrupt:
        sdk.pfs.egress(  # type: ignore[attr-defined]
            commit=pfs.Commit.from_uri("r@master"), object_storage=pfs.ObjectStorageEgress(url=f"file://{out}")
        )
    assert corrupt.value.code() == grpc.StatusCode.DATA_LOSS
    blob.write_bytes(b"hello")  # restored (from a backup)
    assert list(sdk.pfs.fsck()) == []  # type: ignore[attr-defined]
    answer = sdk.pfs.egress(  # type: ignore[attr-defined]
        commit=pfs.Commit.from_uri("r@master"), object_storage=pfs.ObjectStorageEgress(url=f"file://{out}")
    )
    assert answer.object_storage.bytes_written == 5
    assert (out / "a.txt").read_bytes() == b"hello"
    with pytest.raises(grpc.RpcError) as info:
        sdk.pfs.egress(  # type: ignore[attr-defined]
            commit=pfs.Commit.from_uri("r@master"), object_storage=pfs.ObjectStorageEgress(url="s3://bucket/x")
        )
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_sdk_pipelines_summary(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="in"))  # type: ignore[attr-defined]
    sdk.pps.create_pipeline(  # type: ignore[attr-defined]
        pipeline=pps.Pipeline(name="p"),
        transform=pps.Transform(cmd=["true"]),
        input=pps.Input(pfs=pps.PfsInput(repo="in", glob="/*")),
    )
    sdk.pps.stop_pipeline(pipeline=pps.Pipeline(name="p"))  # type: ignore[attr-defined]
    answer = sdk.pps.pipelines_summary()  # type: ignore[attr-defined]
    assert [(s.project.name, s.active_pipelines, s.paused_pipelines) for s in answer.summaries] == [("default", 0, 1)]
