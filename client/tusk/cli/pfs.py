"""``tusk`` commands for versioned data (repos, branches, commits, files), shaped like pachctl's.

Arguments use pachctl's syntax, parsed by ``tusk.pfs``: ``repo``, ``repo@branch``,
``repo@<commit id>``, ``repo@branch^2``, ``repo@ref:/path``. Tables are pachctl's:
``list repo`` (``NAME CREATED SIZE (MASTER) DESCRIPTION``), ``list commit`` (``REPO BRANCH COMMIT
FINISHED SIZE ORIGIN DESCRIPTION``), ``list branch`` (``BRANCH HEAD TRIGGER``), ``list file`` and
``glob file`` (``NAME TYPE SIZE``); ``--raw``/``-o json|yaml`` print the protobuf messages.
``put file`` sends every source of one invocation in one ModifyFile stream, so a directory
(``-r``) or several ``-f`` make exactly one commit.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

import click
from google.protobuf import timestamp_pb2

from tusk import format as fmt
from tusk.cli.output import full_timestamps_option, output_option, print_raw, raw_option, show_one
from tusk.cli.root import (
    Settings,
    create,
    delete,
    diff,
    finish,
    get,
    glob,
    inspect,
    list_,
    pass_settings,
    project_option,
    put,
    start,
    update,
    wait,
)
from tusk.pfs import (
    ModifyFile,
    format_commit,
    format_repo,
    join_path,
    parse_branch,
    parse_commit,
    parse_file,
    parse_repo,
)
from tusk.proto.pfs_v2 import pfs_pb2

REPO_HEADERS = ["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"]
COMMIT_HEADERS = ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN", "DESCRIPTION"]
COMMIT_SET_HEADERS = ["ID", "SUBCOMMITS", "PROGRESS", "CREATED", "MODIFIED"]
BRANCH_HEADERS = ["BRANCH", "HEAD", "TRIGGER"]
FILE_HEADERS = ["NAME", "TYPE", "SIZE"]

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class BadUsage(click.ClickException):
    """A mistake in the arguments, told in one line (exit 2, like click's usage errors)."""

    exit_code = 2


_project_option = project_option("repo")
_raw_option = raw_option
_output_option = output_option
_full_timestamps_option = full_timestamps_option


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
    from tusk.cli.jobs import progress_bar

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


def _emit(rows: Iterable[list[str]], headers: list[str]) -> None:
    click.echo(fmt.table(headers, list(rows)))


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _needs_ref(text: str, what: str, example: str) -> None:
    if "@" not in text:
        raise BadUsage(f"{text!r} names no {what}: write it as {example}")


def _repo_of(text: str) -> str:
    return text.partition("@")[0]


def _head_arg(value: str, repo: str) -> str:
    """``--head``: ``repo@ref``, or a bare commit ID or branch of the branch's own repo."""
    return value if "@" in value else f"{repo}@{value}"


# --------------------------------------------------------------------------------------------
# Repos
# --------------------------------------------------------------------------------------------


@create.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="", help="A description of the repo.")
@_project_option
@pass_settings
def create_repo_cmd(settings: Settings, name: str, description: str, project: str) -> None:
    """Create a new repo (names: letters, digits, '_' and '-')."""
    with settings.transactional() as client:
        client.pfs.create_repo(parse_repo(name, project), description=description)


@update.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="", help="The repo's new description.")
@_project_option
@pass_settings
def update_repo_cmd(settings: Settings, name: str, description: str, project: str) -> None:
    """Set a repo's description (creates the repo if it does not exist)."""
    with settings.transactional() as client:
        client.pfs.create_repo(parse_repo(name, project), description=description, update=True)


@list_.command("repo")
@click.option("--all", "all_types", is_flag=True, help="Include the repos pipelines keep (<pipeline>.spec ...).")
@click.option("--type", "repo_type", default=None, help="Only repos of this type (user, spec, meta).")
@_project_option
@click.option("-A", "--all-projects", is_flag=True, help="Repos of every project.")
@_full_timestamps_option
@_raw_option
@_output_option
@pass_settings
def list_repo_cmd(
    settings: Settings,
    all_types: bool,
    repo_type: str | None,
    project: str,
    all_projects: bool,
    full_timestamps: bool,
    raw: bool,
    output: str | None,
) -> None:
    """List repos (user repos only, unless --all or --type)."""
    kind = repo_type if repo_type is not None else ("" if all_types else "user")
    projects = [] if all_projects else [project or "default"]
    with settings.client() as client:
        infos = list(client.pfs.list_repo(type=kind, projects=projects))
    if raw or output:
        print_raw(infos, output or "json")
        return
    headers = (["PROJECT"] if all_projects else []) + REPO_HEADERS
    _emit((repo_row(i, full_timestamps, all_projects) for i in infos), headers)


@inspect.command("repo")
@click.argument("name")
@_project_option
@_raw_option
@_output_option
@pass_settings
def inspect_repo_cmd(settings: Settings, name: str, project: str, raw: bool, output: str | None) -> None:
    """Show one repo in detail."""
    with settings.client() as client:
        info = client.pfs.inspect_repo(parse_repo(name, project))
    show_one(info, raw, output, lambda: describe_repo(info))


@delete.command("repo")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Delete every user repo of the project.")
@click.option("-f", "--force", is_flag=True, help="Delete even if a pipeline reads it.")
@_project_option
@pass_settings
def delete_repo_cmd(settings: Settings, names: tuple[str, ...], all_: bool, force: bool, project: str) -> None:
    """Delete repos with their branches, commits and files."""
    if bool(names) == all_:
        raise BadUsage("give repo names or --all")
    with settings.transactional() as client:
        targets = (
            [i.repo for i in client.pfs.list_repo(projects=[project or "default"])]
            if all_
            else [parse_repo(n, project) for n in names]
        )
        for repo in targets:
            deleted = client.pfs.delete_repo(repo, force=force)
            if not deleted and not all_ and client.transaction_id is None:
                # The server answers deleted=false for a repo it does not have (in a transaction
                # the delete is only queued: its answer says nothing yet).
                from tusk.errors import NotFound

                raise NotFound(f"repo {repo.project.name or 'default'}/{format_repo(repo).split('/')[-1]} not found")


# --------------------------------------------------------------------------------------------
# Branches
# --------------------------------------------------------------------------------------------


@create.command("branch")
@click.argument("branch")
@click.option("--head", default=None, help="Its head: a commit ID or branch of the same repo, or repo@ref.")
@click.option("-p", "--provenance", multiple=True, help="A branch that feeds this one, repo@branch (repeatable).")
@click.option("--new-commit-set", is_flag=True, help="Open a new commit on it (and downstream) with a new ID.")
@_project_option
@pass_settings
def create_branch_cmd(
    settings: Settings, branch: str, head: str | None, provenance: tuple[str, ...], new_commit_set: bool, project: str
) -> None:
    """Create or move a branch: repo@branch."""
    _needs_ref(branch, "branch", "<repo>@<branch>")
    for p in provenance:
        _needs_ref(p, "branch", "<repo>@<branch> (in --provenance)")
    repo = _repo_of(branch)
    with settings.transactional() as client:
        client.pfs.create_branch(
            parse_branch(branch, project),
            head=parse_commit(_head_arg(head, repo), project) if head else None,
            provenance=[parse_branch(p, project) for p in provenance],
            new_commit_set=new_commit_set,
        )


@inspect.command("branch")
@click.argument("branch")
@_project_option
@_raw_option
@_output_option
@pass_settings
def inspect_branch_cmd(settings: Settings, branch: str, project: str, raw: bool, output: str | None) -> None:
    """Show one branch: repo@branch."""
    _needs_ref(branch, "branch", "<repo>@<branch>")
    with settings.client() as client:
        info = client.pfs.inspect_branch(parse_branch(branch, project))
    show_one(info, raw, output, lambda: describe_branch(info))


@list_.command("branch")
@click.argument("repo")
@_project_option
@_raw_option
@_output_option
@pass_settings
def list_branch_cmd(settings: Settings, repo: str, project: str, raw: bool, output: str | None) -> None:
    """List the branches of a repo."""
    with settings.client() as client:
        infos = list(client.pfs.list_branch(parse_repo(repo, project)))
    if raw or output:
        print_raw(infos, output or "json")
        return
    _emit((branch_row(i) for i in infos), BRANCH_HEADERS)


@delete.command("branch")
@click.argument("branch")
@click.option("-f", "--force", is_flag=True, help="Delete even if other branches depend on it.")
@_project_option
@pass_settings
def delete_branch_cmd(settings: Settings, branch: str, force: bool, project: str) -> None:
    """Delete a branch (its commits stay): repo@branch."""
    _needs_ref(branch, "branch", "<repo>@<branch>")
    with settings.transactional() as client:
        client.pfs.delete_branch(parse_branch(branch, project), force=force)


# --------------------------------------------------------------------------------------------
# Commits
# --------------------------------------------------------------------------------------------


@start.command("commit")
@click.argument("branch")
@click.option("-p", "--parent", default=None, help="The parent commit (ID of the same repo, or repo@ref).")
@click.option("-m", "--message", "--description", "description", default="", help="The commit's description.")
@_project_option
@pass_settings
def start_commit_cmd(settings: Settings, branch: str, parent: str | None, description: str, project: str) -> None:
    """Open a commit on repo@branch and print its ID."""
    _needs_ref(branch, "branch", "<repo>@<branch>")
    with settings.transactional() as client:
        commit = client.pfs.start_commit(
            parse_branch(branch, project),
            parent=parse_commit(_head_arg(parent, _repo_of(branch)), project) if parent else None,
            description=description,
        )
    click.echo(commit.id)


@finish.command("commit")
@click.argument("commit")
@click.option("-m", "--message", "--description", "description", default="", help="Set the commit's description.")
@click.option("--error", default="", help="Finish it as failed with this message (jobs reading it turn unrunnable).")
@click.option("-f", "--force", is_flag=True, help="Finish it even if it is a pipeline's output commit.")
@_project_option
@pass_settings
def finish_commit_cmd(settings: Settings, commit: str, description: str, error: str, force: bool, project: str) -> None:
    """Finish an open commit: repo@branch or repo@<id>."""
    _needs_ref(commit, "commit", "<repo>@<branch> or <repo>@<commit id>")
    with settings.transactional() as client:
        client.pfs.finish_commit(parse_commit(commit, project), description=description, error=error, force=force)


@inspect.command("commit")
@click.argument("commit")
@click.option("--wait", is_flag=True, help="Wait until the commit is finished.")
@_full_timestamps_option
@_project_option
@_raw_option
@_output_option
@pass_settings
def inspect_commit_cmd(
    settings: Settings, commit: str, wait: bool, full_timestamps: bool, project: str, raw: bool, output: str | None
) -> None:
    """Show one commit (repo@ref), or every commit of a commit set (a bare ID)."""
    with settings.client() as client:
        if "@" not in commit:
            infos = list(client.pfs.inspect_commit_set(commit, wait=wait))
            if raw or output:
                print_raw(infos, output or "json")
            else:
                _emit((commit_row(i, full_timestamps) for i in infos), COMMIT_HEADERS)
            return
        info = client.pfs.inspect_commit(parse_commit(commit, project), wait=wait)
    show_one(info, raw, output, lambda: describe_commit(info, full_timestamps))


@wait.command("commit")
@click.argument("commit")
@_project_option
@pass_settings
def wait_commit_cmd(settings: Settings, commit: str, project: str) -> None:
    """Wait until a commit (repo@ref) or every commit of a commit set (a bare ID) is finished;
    exit 5 if one finished with an error."""
    from tusk.cli import Unsuccessful

    with settings.client() as client:
        if "@" in commit:
            infos = [client.pfs.wait_commit(parse_commit(commit, project))]
        else:
            infos = list(client.pfs.inspect_commit_set(commit, wait=True))
    failed = [i for i in infos if i.error]
    if failed:
        raise Unsuccessful("; ".join(f"commit {format_commit(i.commit)} failed: {i.error}" for i in failed))


@list_.command("commit")
@click.argument("target", required=False)
@click.option("-n", "--number", type=click.IntRange(min=0), default=0, help="At most this many commits (0: all).")
@click.option("--from", "from_", default=None, help="Only commits after this one (ID of the same repo, or repo@ref).")
@click.option("--all", "all_", is_flag=True, help="Include commits that are only an alias of an upstream commit.")
@click.option(
    "--origin",
    type=click.Choice(["user", "auto", "fsck"], case_sensitive=False),
    default=None,
    help="Only commits of this origin: user (made by a client) or auto (opened for a pipeline).",
)
@click.option("-r", "--reverse", is_flag=True, help="Oldest first.")
@_full_timestamps_option
@_project_option
@_raw_option
@_output_option
@pass_settings
def list_commit_cmd(
    settings: Settings,
    target: str | None,
    number: int,
    from_: str | None,
    all_: bool,
    origin: str | None,
    reverse: bool,
    full_timestamps: bool,
    project: str,
    raw: bool,
    output: str | None,
) -> None:
    """List the commits of repo (or of repo@branch's history), newest first; without a repo,
    the commit sets."""
    with settings.client() as client:
        if target is None:
            sets = list(client.pfs.list_commit_set(project=project))
            if raw or output:
                print_raw(sets, output or "json")
            else:
                _emit((commit_set_row(s, full_timestamps) for s in sets), COMMIT_SET_HEADERS)
            return
        repo = parse_repo(_repo_of(target), project)
        infos = list(
            client.pfs.list_commit(
                repo,
                # --from needs an end: the branch given, else master's head
                to=parse_commit(target, project) if "@" in target or from_ else None,
                from_=parse_commit(_head_arg(from_, _repo_of(target)), project) if from_ else None,
                number=number,
                reverse=reverse,
                all=all_,
                origin_kind=origin,
            )
        )
    if raw or output:
        print_raw(infos, output or "json")
        return
    _emit((commit_row(i, full_timestamps) for i in infos), COMMIT_HEADERS)


# --------------------------------------------------------------------------------------------
# Files: writing
# --------------------------------------------------------------------------------------------


def _put_one(mf: ModifyFile, source: str, dest: str, recursive: bool, append: bool, many: bool) -> None:
    """One ``-f`` source into the open ModifyFile stream (see ``put file``'s help)."""
    as_dir = many or dest.endswith("/") or not dest
    if source == "-":
        if as_dir:
            raise BadUsage("reading standard input needs a file path: put file repo@branch:/path -f -")
        mf.put_file(dest, sys.stdin.buffer, append=append)
        return
    if _URL.match(source):
        name = PurePosixPath(source.split("://", 1)[1].split("?", 1)[0]).name
        mf.put_file_url(join_path(dest, name) if as_dir else dest, source, recursive=recursive, append=append)
        return
    local = Path(source)
    if local.is_dir():
        if not recursive:
            raise BadUsage(f"{source} is a directory: add -r to put its files")
        for dirpath, dirnames, filenames in os.walk(local):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                mf.put_file(join_path(dest or "/", path.relative_to(local).as_posix()), path, append=append)
        return
    if not local.exists():
        raise click.ClickException(f"{source}: no such file or directory")
    mf.put_file(join_path(dest, local.name) if as_dir else dest, local, append=append)


@put.command("file")
@click.argument("target")
@click.option(
    "-f",
    "--file",
    "sources",
    multiple=True,
    required=True,
    help="A local file, a directory (with -r), a URL, or - for standard input (repeatable).",
)
@click.option("-r", "--recursive", is_flag=True, help="Put the files under a directory, keeping their relative paths.")
@click.option("-a", "--append", is_flag=True, help="Append to the files instead of replacing them.")
@_project_option
@pass_settings
def put_file_cmd(
    settings: Settings, target: str, sources: tuple[str, ...], recursive: bool, append: bool, project: str
) -> None:
    """Put files into repo@branch[:/path], all in one commit.

    Without a path, a file keeps its name at the top of the repo; a path ending in '/' (or
    several -f) is a directory to put files into; with -r a directory's files go under the path
    with their relative paths. Reading standard input (-f -) needs a path.
    """
    _needs_ref(target, "branch", "<repo>@<branch>[:/path]")
    commit_part, sep, dest = target.partition(":")
    if sep and not dest.startswith("/"):
        dest = f"/{dest}"
    if sources.count("-") > 1:
        raise BadUsage("standard input (-f -) can be read only once")
    if "-" in sources and (len(sources) > 1 or not dest or dest.endswith("/")):
        raise BadUsage("reading standard input needs a file path: put file repo@branch:/path -f -")
    for source in sources:  # check every local source before sending anything
        if source == "-" or _URL.match(source):
            continue
        if not Path(source).exists():
            raise click.ClickException(f"{source}: no such file or directory")
        if Path(source).is_dir() and not recursive:
            raise BadUsage(f"{source} is a directory: add -r to put its files")
    with settings.client() as client, client.pfs.modify_file(parse_commit(commit_part, project)) as mf:
        for source in sources:
            _put_one(mf, source, dest, recursive, append, many=len(sources) > 1)


@delete.command("file")
@click.argument("target")
@_project_option
@pass_settings
def delete_file_cmd(settings: Settings, target: str, project: str) -> None:
    """Delete a file or directory: repo@branch:/path."""
    _needs_ref(target, "branch", "<repo>@<branch>:/path")
    file = parse_file(target, project, default_path="")
    if not file.path:
        raise BadUsage(f"{target!r} names no path: write it as <repo>@<branch>:/path")
    with settings.client() as client:
        client.pfs.delete_file(file.commit, file.path)


# --------------------------------------------------------------------------------------------
# Files: reading
# --------------------------------------------------------------------------------------------


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (for tarfile's streaming mode)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]  # RawIOBase takes a buffer
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _write_atomically(out: Path, chunks: Iterable[bytes]) -> None:
    """Write to a temporary file next to ``out`` and rename it: a failed download leaves ``out``
    as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _extract(chunks: Iterator[bytes], prefix: str, out: Path) -> None:
    """Extract a GetFileTAR stream of ``prefix`` into ``out`` (the directory's content goes
    straight into ``out``)."""
    strip = prefix.strip("/")
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks)), mode="r|") as tar:
        for member in tar:
            name = member.name.strip("/")
            if strip and name == strip and member.isfile():
                rel = PurePosixPath(name).name  # the path was a single file
            elif strip:
                if not name.startswith(strip + "/"):
                    continue
                rel = name[len(strip) + 1 :]
            else:
                rel = name
            parts = PurePosixPath(rel).parts
            if not rel or any(p in ("..", "") for p in parts) or PurePosixPath(rel).is_absolute():
                continue
            target = out.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                source = tar.extractfile(member)
                if source is not None:
                    _write_atomically(target, iter(lambda s=source: s.read(1 << 20), b""))  # type: ignore[misc]


@get.command("file")
@click.argument("target")
@click.option("-o", "--output", "output", default=None, help="Write to this path instead of standard output.")
@click.option("-r", "--recursive", is_flag=True, help="Download a directory into the -o directory.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Start this many bytes into the file.")
@_project_option
@pass_settings
def get_file_cmd(
    settings: Settings, target: str, output: str | None, recursive: bool, offset: int, project: str
) -> None:
    """Print a file (repo@ref:/path), or save it with -o; a directory needs -r -o DIR."""
    _needs_ref(target, "commit", "<repo>@<ref>:/path")
    file = parse_file(target, project)
    with settings.client() as client:
        if recursive:
            if not output:
                raise BadUsage("-r needs an output directory: -o DIR")
            _extract(client.pfs.get_file_tar(file.commit, file.path), file.path, Path(output))
            return
        info = client.pfs.inspect_file(file.commit, file.path)
        if info.file_type == pfs_pb2.DIR:
            raise BadUsage(f"{file.path} is a directory: use -r -o DIR to download it")
        chunks = client.pfs.get_file(file.commit, file.path, offset=offset)
        if output and output != "-":
            _write_atomically(Path(output), chunks)
            return
        stdout: IO[bytes] = sys.stdout.buffer
        for chunk in chunks:
            stdout.write(chunk)
        stdout.flush()


@list_.command("file")
@click.argument("target")
@_project_option
@_raw_option
@_output_option
@pass_settings
def list_file_cmd(settings: Settings, target: str, project: str, raw: bool, output: str | None) -> None:
    """List a directory: repo@ref[:/dir] (the top of the repo by default)."""
    _needs_ref(target, "commit", "<repo>@<ref>[:/dir]")
    file = parse_file(target, project)
    with settings.client() as client:
        infos = list(client.pfs.list_file(file.commit, file.path))
    if raw or output:
        print_raw(infos, output or "json")
        return
    _emit((file_row(i) for i in infos), FILE_HEADERS)


@glob.command("file")
@click.argument("target")
@_project_option
@_raw_option
@_output_option
@pass_settings
def glob_file_cmd(settings: Settings, target: str, project: str, raw: bool, output: str | None) -> None:
    """List the files and directories matching a glob: repo@ref:PATTERN (e.g. 'images@master:/*.png')."""
    _needs_ref(target, "commit", "<repo>@<ref>:PATTERN")
    commit_part, sep, pattern = target.partition(":")
    if not sep or not pattern:
        raise BadUsage(f"{target!r} has no pattern: write it as <repo>@<ref>:PATTERN")
    with settings.client() as client:
        infos = list(client.pfs.glob_file(parse_commit(commit_part, project), pattern))
    if raw or output:
        print_raw(infos, output or "json")
        return
    _emit((file_row(i) for i in infos), FILE_HEADERS)


@inspect.command("file")
@click.argument("target")
@_project_option
@_raw_option
@_output_option
@pass_settings
def inspect_file_cmd(settings: Settings, target: str, project: str, raw: bool, output: str | None) -> None:
    """Show one file or directory: repo@ref:/path."""
    _needs_ref(target, "commit", "<repo>@<ref>:/path")
    file = parse_file(target, project)
    with settings.client() as client:
        info = client.pfs.inspect_file(file.commit, file.path)
    show_one(info, raw, output, lambda: describe_file(info))


@diff.command("file")
@click.argument("new")
@click.argument("old", required=False)
@click.option("-s", "--shallow", is_flag=True, help="Stop at the first level of directories.")
@click.option("--name-only", is_flag=True, help="Print '+ path', '- path' or 'M path' per changed file.")
@_project_option
@_raw_option
@_output_option
@pass_settings
def diff_file_cmd(
    settings: Settings,
    new: str,
    old: str | None,
    shallow: bool,
    name_only: bool,
    project: str,
    raw: bool,
    output: str | None,
) -> None:
    """Show what changed under NEW (repo@ref[:/path]) since OLD (default: NEW's parent commit)."""
    _needs_ref(new, "commit", "<repo>@<ref>[:/path]")
    new_file = parse_file(new, project)
    old_file = parse_file(old if "@" in (old or "") else f"{_repo_of(new)}@{old}", project) if old else None
    if old_file is not None and old and ":" not in old:
        old_file.path = new_file.path
    with settings.client() as client:
        diffs = list(
            client.pfs.diff_file(
                new_file.commit,
                new_file.path,
                old_commit=old_file.commit if old_file is not None else None,
                old_path=old_file.path if old_file is not None else None,
                shallow=shallow,
            )
        )
    if raw or output:
        print_raw(diffs, output or "json")
        return
    if name_only:
        for d in diffs:
            has_new, has_old = d.HasField("new_file"), d.HasField("old_file")
            if has_new and has_old and d.new_file.file_type == pfs_pb2.DIR:
                continue
            mark = "M" if has_new and has_old else ("+" if has_new else "-")
            click.echo(f"{mark} {(d.new_file if has_new else d.old_file).file.path}")
        return
    added = [d.new_file for d in diffs if d.HasField("new_file")]
    removed = [d.old_file for d in diffs if d.HasField("old_file")]
    sections = []
    if added:
        sections.append("New Files:\n" + fmt.table(FILE_HEADERS, [file_row(i) for i in added]))
    if removed:
        sections.append("Old Files:\n" + fmt.table(FILE_HEADERS, [file_row(i) for i in removed]))
    if sections:
        click.echo("\n\n".join(sections))
