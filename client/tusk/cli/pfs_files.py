"""``tusk`` commands for files: put, delete, get, list, glob, inspect and diff file (see
:mod:`tusk.cli.pfs`). ``put file`` sends every source of one invocation in one ModifyFile stream;
``get file -r`` extracts a GetFileTAR stream, writing each file atomically."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

import click

from tusk import format as fmt
from tusk.cli.output import output_option, print_raw, raw_option, show_one
from tusk.cli.pfs import (
    FILE_HEADERS,
    BadUsage,
    describe_file,
    emit,
    file_row,
    needs_ref,
    repo_of,
    repo_project_option,
)
from tusk.cli.root import (
    Settings,
    delete,
    diff,
    get,
    glob,
    inspect,
    list_,
    pass_settings,
    put,
)
from tusk.pfs import (
    ModifyFile,
    join_path,
    parse_commit,
    parse_file,
)
from tusk.proto.pfs_v2 import pfs_pb2

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


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
@repo_project_option
@pass_settings
def put_file_cmd(
    settings: Settings, target: str, sources: tuple[str, ...], recursive: bool, append: bool, project: str
) -> None:
    """Put files into repo@branch[:/path], all in one commit.

    Without a path, a file keeps its name at the top of the repo; a path ending in '/' (or
    several -f) is a directory to put files into; with -r a directory's files go under the path
    with their relative paths. Reading standard input (-f -) needs a path.
    """
    needs_ref(target, "branch", "<repo>@<branch>[:/path]")
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
@repo_project_option
@pass_settings
def delete_file_cmd(settings: Settings, target: str, project: str) -> None:
    """Delete a file or directory: repo@branch:/path."""
    needs_ref(target, "branch", "<repo>@<branch>:/path")
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
@repo_project_option
@pass_settings
def get_file_cmd(
    settings: Settings, target: str, output: str | None, recursive: bool, offset: int, project: str
) -> None:
    """Print a file (repo@ref:/path), or save it with -o; a directory needs -r -o DIR."""
    needs_ref(target, "commit", "<repo>@<ref>:/path")
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
@repo_project_option
@raw_option
@output_option
@pass_settings
def list_file_cmd(settings: Settings, target: str, project: str, raw: bool, output: str | None) -> None:
    """List a directory: repo@ref[:/dir] (the top of the repo by default)."""
    needs_ref(target, "commit", "<repo>@<ref>[:/dir]")
    file = parse_file(target, project)
    with settings.client() as client:
        infos = list(client.pfs.list_file(file.commit, file.path))
    if raw or output:
        print_raw(infos, output or "json")
        return
    emit((file_row(i) for i in infos), FILE_HEADERS)


@glob.command("file")
@click.argument("target")
@repo_project_option
@raw_option
@output_option
@pass_settings
def glob_file_cmd(settings: Settings, target: str, project: str, raw: bool, output: str | None) -> None:
    """List the files and directories matching a glob: repo@ref:PATTERN (e.g. 'images@master:/*.png')."""
    needs_ref(target, "commit", "<repo>@<ref>:PATTERN")
    commit_part, sep, pattern = target.partition(":")
    if not sep or not pattern:
        raise BadUsage(f"{target!r} has no pattern: write it as <repo>@<ref>:PATTERN")
    with settings.client() as client:
        infos = list(client.pfs.glob_file(parse_commit(commit_part, project), pattern))
    if raw or output:
        print_raw(infos, output or "json")
        return
    emit((file_row(i) for i in infos), FILE_HEADERS)


@inspect.command("file")
@click.argument("target")
@repo_project_option
@raw_option
@output_option
@pass_settings
def inspect_file_cmd(settings: Settings, target: str, project: str, raw: bool, output: str | None) -> None:
    """Show one file or directory: repo@ref:/path."""
    needs_ref(target, "commit", "<repo>@<ref>:/path")
    file = parse_file(target, project)
    with settings.client() as client:
        info = client.pfs.inspect_file(file.commit, file.path)
    show_one(info, raw, output, lambda: describe_file(info))


@diff.command("file")
@click.argument("new")
@click.argument("old", required=False)
@click.option("-s", "--shallow", is_flag=True, help="Stop at the first level of directories.")
@click.option("--name-only", is_flag=True, help="Print '+ path', '- path' or 'M path' per changed file.")
@repo_project_option
@raw_option
@output_option
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
    needs_ref(new, "commit", "<repo>@<ref>[:/path]")
    new_file = parse_file(new, project)
    old_file = parse_file(old if "@" in (old or "") else f"{repo_of(new)}@{old}", project) if old else None
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
