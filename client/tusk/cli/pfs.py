"""``tusk`` commands for versioned data (repos, branches, commits, files), shaped like pachctl's.

Arguments use pachctl's syntax, parsed by ``tusk.pfs``: ``repo``, ``repo@branch``,
``repo@<commit id>``, ``repo@branch^2``, ``repo@ref:/path``. Tables are pachctl's:
``list repo`` (``NAME CREATED SIZE (MASTER) DESCRIPTION``), ``list commit`` (``REPO BRANCH COMMIT
FINISHED SIZE ORIGIN DESCRIPTION``), ``list branch`` (``BRANCH HEAD TRIGGER``), ``list file`` and
``glob file`` (``NAME TYPE SIZE``); ``--raw``/``-o json|yaml`` print the protobuf messages.
``put file`` sends every source of one invocation in one ModifyFile stream, so a directory
(``-r``) or several ``-f`` make exactly one commit.

This module holds what the pfs commands share (argument checks, tables and descriptions); the
commands are in ``pfs_repos`` (repos), ``pfs_commits`` (branches and commits) and ``pfs_files``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import click
from google.protobuf import timestamp_pb2

from tusk import format as fmt
from tusk.cli.job_views import progress_bar
from tusk.cli.root import project_option
from tusk.pfs import format_commit, format_repo
from tusk.proto.pfs_v2 import pfs_pb2

REPO_HEADERS = ["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"]
COMMIT_HEADERS = ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN", "DESCRIPTION"]
COMMIT_SET_HEADERS = ["ID", "SUBCOMMITS", "PROGRESS", "CREATED", "MODIFIED"]
BRANCH_HEADERS = ["BRANCH", "HEAD", "TRIGGER"]
FILE_HEADERS = ["NAME", "TYPE", "SIZE"]


class BadUsage(click.ClickException):
    """A mistake in the arguments, told in one line (exit 2, like click's usage errors)."""

    exit_code = 2


repo_project_option = project_option("repo")


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def _when(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


def _show_time(when: datetime | None, full: bool) -> str:
    return fmt.full_timestamp(when) if full else fmt.ago(when)


def repo_row(info: pfs_pb2.RepoInfo, full_timestamps: bool = False, with_project: bool = False) -> list[str]:
    row = [
        format_repo(info.repo),
        _show_time(_when(info.created, info.HasField("created")), full_timestamps),
        fmt.bytes_size(info.details.size_bytes or info.size_bytes_upper_bound),
        info.description,
    ]
    if with_project:
        row[0] = format_repo(pfs_pb2.Repo(name=info.repo.name, type=info.repo.type))
        row.insert(0, info.repo.project.name or "default")
    return row


def describe_repo(info: pfs_pb2.RepoInfo) -> str:
    lines = [f"Name: {format_repo(info.repo)}"]
    if info.repo.type not in ("", "user"):
        lines.append(f"Type: {info.repo.type}")
    if info.description:
        lines.append(f"Description: {info.description}")
    lines.append(f"Created: {fmt.ago(_when(info.created, info.HasField('created')))}")
    lines.append(f"Size of HEAD on master: {fmt.bytes_size(info.details.size_bytes or info.size_bytes_upper_bound)}")
    if info.branches:
        lines.append(f"Branches: {', '.join(b.name for b in info.branches)}")
    return "\n".join(lines)


def _origin_word(info: pfs_pb2.CommitInfo) -> str:
    return str(pfs_pb2.OriginKind.Name(info.origin.kind)) if info.origin.kind else "-"


def commit_row(info: pfs_pb2.CommitInfo, full_timestamps: bool = False) -> list[str]:
    c = info.commit
    repo = c.repo if c.repo.name else c.branch.repo
    finished = _when(info.finished, info.HasField("finished"))
    return [
        format_repo(repo),
        c.branch.name or "-",
        c.id,
        _show_time(finished, full_timestamps),
        fmt.bytes_size(info.details.size_bytes or info.size_bytes_upper_bound),
        _origin_word(info),
        info.description,
    ]


def describe_commit(info: pfs_pb2.CommitInfo, full_timestamps: bool = False) -> str:
    c = info.commit
    lines = [f"Commit: {format_commit(c)}"]
    if c.branch.name:
        lines.append(f"Original Branch: {c.branch.name}")
    if info.description:
        lines.append(f"Description: {info.description}")
    if info.HasField("parent_commit"):
        lines.append(f"Parent: {info.parent_commit.id}")
    if info.child_commits:
        lines.append(f"Children: {', '.join(child.id for child in info.child_commits)}")
    lines.append(f"Origin: {_origin_word(info)}")
    lines.append(f"Started: {_show_time(_when(info.started, info.HasField('started')), full_timestamps)}")
    if info.HasField("finishing"):
        lines.append(f"Finishing: {_show_time(_when(info.finishing, True), full_timestamps)}")
    if info.HasField("finished"):
        lines.append(f"Finished: {_show_time(_when(info.finished, True), full_timestamps)}")
    else:
        lines.append("Finished: -")
    if info.error:
        lines.append(f"Error: {info.error}")
    lines.append(f"Size: {fmt.bytes_size(info.details.size_bytes or info.size_bytes_upper_bound)}")
    if info.direct_provenance:
        lines.append(f"Provenance: {', '.join(format_commit(p) for p in info.direct_provenance)}")
    if info.direct_subvenance:
        lines.append(f"Subvenance: {', '.join(format_commit(s) for s in info.direct_subvenance)}")
    return "\n".join(lines)


def commit_set_row(info: pfs_pb2.CommitSetInfo, full_timestamps: bool = False) -> list[str]:
    commits = list(info.commits)
    ok = sum(1 for c in commits if c.HasField("finished") and not c.error)
    failed = sum(1 for c in commits if c.HasField("finished") and c.error)
    started = [t for c in commits if (t := _when(c.started, c.HasField("started"))) is not None]
    touched = started + [t for c in commits if (t := _when(c.finished, c.HasField("finished"))) is not None]
    return [
        info.commit_set.id,
        str(len(commits)),
        progress_bar(8, ok, len(commits) - ok - failed, failed, color=False),
        _show_time(min(started, default=None), full_timestamps),
        _show_time(max(touched, default=None), full_timestamps),
    ]


def branch_row(info: pfs_pb2.BranchInfo) -> list[str]:
    return [info.branch.name, info.head.id or "-", info.trigger.branch or "-"]


def describe_branch(info: pfs_pb2.BranchInfo) -> str:
    b = info.branch
    lines = [
        f"Name: {format_repo(b.repo)}@{b.name}",
        f"Head Commit: {format_commit(info.head) if info.head.id else '-'}",
    ]
    if info.direct_provenance:
        lines.append(f"Provenance: {', '.join(f'{format_repo(p.repo)}@{p.name}' for p in info.direct_provenance)}")
    if info.subvenance:
        lines.append(f"Subvenance: {', '.join(f'{format_repo(s.repo)}@{s.name}' for s in info.subvenance)}")
    return "\n".join(lines)


def _file_type(info: pfs_pb2.FileInfo) -> str:
    return {pfs_pb2.FILE: "file", pfs_pb2.DIR: "dir"}.get(info.file_type, "-")


def file_row(info: pfs_pb2.FileInfo) -> list[str]:
    return [info.file.path, _file_type(info), fmt.bytes_size(info.size_bytes)]


def describe_file(info: pfs_pb2.FileInfo) -> str:
    lines = [
        f"Path: {info.file.path}",
        f"Commit: {format_commit(info.file.commit)}",
        f"Type: {_file_type(info)}",
        f"Size: {fmt.bytes_size(info.size_bytes)}",
    ]
    if info.hash:
        lines.append(f"Hash: {info.hash.hex()}")
    if info.HasField("committed"):
        lines.append(f"Committed: {fmt.ago(_when(info.committed, True))}")
    return "\n".join(lines)


def emit(rows: Iterable[list[str]], headers: list[str]) -> None:
    click.echo(fmt.table(headers, list(rows)))


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def needs_ref(text: str, what: str, example: str) -> None:
    if "@" not in text:
        raise BadUsage(f"{text!r} names no {what}: write it as {example}")


def repo_of(text: str) -> str:
    return text.partition("@")[0]


def head_arg(value: str, repo: str) -> str:
    """``--head``: ``repo@ref``, or a bare commit ID or branch of the branch's own repo."""
    return value if "@" in value else f"{repo}@{value}"
