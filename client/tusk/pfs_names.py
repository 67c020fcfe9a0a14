"""How the pfs client names things: the pachctl spellings of repos, branches, commits and files
parsed into (and formatted from) ``pfs_v2`` messages, commit states and origins, timestamps, and the
one wrapper of server streams the pfs client modules return (:data:`Stream`).

See :mod:`tusk.pfs` for the spellings; these names are exported from there too.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf import timestamp_pb2

from tusk import errors
from tusk.errors import translated_stream
from tusk.proto.pfs_v2 import pfs_pb2

__all__ = [
    "BranchLike",
    "CommitLike",
    "FileLike",
    "RepoLike",
    "Stream",
    "abs_path",
    "commit_state",
    "format_commit",
    "format_repo",
    "parse_branch",
    "parse_commit",
    "parse_file",
    "parse_origin",
    "parse_repo",
    "stream",
    "to_timestamp",
]

RepoLike = str | pfs_pb2.Repo
BranchLike = str | pfs_pb2.Branch
CommitLike = str | pfs_pb2.Commit
FileLike = str | pfs_pb2.File
T = TypeVar("T")
Stream = Generator[T, None, None]  # what streaming methods return: close() cancels the call

_COMMIT_ID = re.compile(r"^[0-9a-f]{32}$")
_STATES = {
    "started": pfs_pb2.STARTED,
    "ready": pfs_pb2.READY,
    "finishing": pfs_pb2.FINISHING,
    "finished": pfs_pb2.FINISHED,
}
_ORIGINS = {"user": pfs_pb2.USER, "auto": pfs_pb2.AUTO, "fsck": pfs_pb2.FSCK}


def parse_repo(repo: RepoLike, project: str = "") -> pfs_pb2.Repo:
    """``[project/]name[.type]`` as a ``pfs_pb2.Repo`` (a Repo is returned as is)."""
    if isinstance(repo, pfs_pb2.Repo):
        return repo
    text = repo.strip()
    proj, _, name = text.rpartition("/")
    name, _, repo_type = name.partition(".")
    return pfs_pb2.Repo(name=name, type=repo_type or "user", project=pfs_pb2.Project(name=proj or project or "default"))


def parse_branch(branch: BranchLike, project: str = "") -> pfs_pb2.Branch:
    """``repo@branch`` (``repo`` alone: its ``master``) as a ``pfs_pb2.Branch``."""
    if isinstance(branch, pfs_pb2.Branch):
        return branch
    repo_part, _, name = branch.partition("@")
    if _COMMIT_ID.match(name) or any(c in name for c in "^~="):
        raise errors.InvalidArgument(f"{branch!r} names a commit, not a branch: write it as <repo>@<branch>")
    return pfs_pb2.Branch(repo=parse_repo(repo_part, project), name=name or "master")


def parse_commit(commit: CommitLike, project: str = "") -> pfs_pb2.Commit:
    """``repo@branch``, ``repo@<id>``, ``repo@branch^2``, ``repo@branch=<id>`` or ``repo`` (its
    master) as a ``pfs_pb2.Commit``."""
    if isinstance(commit, pfs_pb2.Commit):
        return commit
    repo_part, _, ref = commit.partition("@")
    repo = parse_repo(repo_part, project)
    ref = ref.strip() or "master"
    if "=" in ref:  # pachctl's branch=id: that commit, reached through that branch
        name, _, commit_id = ref.partition("=")
        return pfs_pb2.Commit(repo=repo, branch=pfs_pb2.Branch(repo=repo, name=name), id=commit_id)
    if _COMMIT_ID.match(ref) or any(c in ref for c in "^~"):
        return pfs_pb2.Commit(repo=repo, id=ref)  # the server resolves ids and ancestry
    return pfs_pb2.Commit(repo=repo, branch=pfs_pb2.Branch(repo=repo, name=ref))


def parse_file(file: FileLike, project: str = "", default_path: str = "/") -> pfs_pb2.File:
    """``repo@ref:/path`` as a ``pfs_pb2.File``; without ``:/path``, ``default_path``."""
    if isinstance(file, pfs_pb2.File):
        return file
    commit_part, sep, path = file.partition(":")
    return pfs_pb2.File(commit=parse_commit(commit_part, project), path=abs_path(path) if sep else default_path)


def abs_path(path: str) -> str:
    """A repo path with its leading ``/`` (``a/b`` -> ``/a/b``)."""
    return path if path.startswith("/") else f"/{path}"


def format_repo(repo: pfs_pb2.Repo, with_project: bool = False) -> str:
    """pachctl's spelling of a repo: ``images``, ``edges.spec``, ``proj/images``."""
    name = repo.name if repo.type in ("", "user") else f"{repo.name}.{repo.type}"
    project = repo.project.name
    if with_project or (project and project != "default"):
        return f"{project or 'default'}/{name}"
    return name


def format_commit(commit: pfs_pb2.Commit) -> str:
    """``images@<id>`` (or ``images@master`` for a head not yet resolved to an ID)."""
    repo = commit.repo if commit.repo.name else commit.branch.repo
    return f"{format_repo(repo)}@{commit.id or commit.branch.name}"


def commit_state(state: bool | str | int) -> int:
    """A ``pfs_pb2`` CommitState from ``True`` (finished), a word (``finished``) or a value."""
    if state is True:
        return int(pfs_pb2.FINISHED)
    if state is False:
        return int(pfs_pb2.COMMIT_STATE_UNKNOWN)
    if isinstance(state, str):
        try:
            return int(_STATES[state.lower()])
        except KeyError:
            raise errors.InvalidArgument(f"unknown commit state {state!r}: use one of {', '.join(_STATES)}") from None
    return int(state)


def parse_origin(kind: str | int | None) -> int:
    """A ``pfs_pb2`` OriginKind from a word (``user``, ``auto``, ``fsck``), a value; None is ORIGIN_KIND_UNKNOWN."""
    if kind is None:
        return int(pfs_pb2.ORIGIN_KIND_UNKNOWN)
    if isinstance(kind, str):
        try:
            return int(_ORIGINS[kind.lower()])
        except KeyError:
            raise errors.InvalidArgument(f"unknown commit origin {kind!r}: use user, auto or fsck") from None
    return int(kind)


def to_timestamp(when: datetime | timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp from a datetime (a Timestamp is returned as is)."""
    if isinstance(when, timestamp_pb2.Timestamp):
        return when
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


def stream(call: Any) -> Stream[Any]:
    """A server stream with typed errors; closing the iterator early cancels the call."""
    try:
        yield from translated_stream(call)
    finally:
        call.cancel()
