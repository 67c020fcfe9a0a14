"""The repo, branch, commit and file verbs of the ``tusk`` CLI end to end against a real server:
pachctl's tables and argument syntax, ``--raw``/``-o``, ``put file`` from files, directories
(``-r``, one commit) and standard input (``-f -``), one-line errors with documented exit codes,
docs/cli.md covering every verb, and the text example of examples/ run as its README says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click
import pytest
import yaml

import tusk
from tests.conftest import REPO_ROOT, RunningServer
from tusk.cli import pfs as cli_pfs
from tusk.cli.root import cli

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., tuple[int, str, str]]
ID = re.compile(r"^[0-9a-f]{32}$")


def ok(run: Run, *args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, f"tusk {' '.join(args)} -> {code}: {err}"
    return out


def fails(run: Run, code: int, *args: str) -> str:
    """The command exits with ``code`` and says why in exactly one line on stderr."""
    got, out, err = run(*args)
    assert got == code, f"tusk {' '.join(args)} -> {got} (wanted {code}): {out}{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"not one line: {err!r}"
    return lines[0]


def subprocess_tusk(
    server: RunningServer, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tusk", "--address", server.address, *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def table(text: str) -> tuple[list[str], list[list[str]]]:
    """Header names and rows of a pachctl table (cells cut at the header's column starts)."""
    lines = text.rstrip("\n").splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", lines[0]) if m.group(0) != "(MASTER)"]
    names = [lines[0][s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    rows = [[line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)] for line in lines[1:]]
    return names, rows


def header(text: str) -> str:
    return text.splitlines()[0]


# -- repos -----------------------------------------------------------------------------------------


def test_repo_verbs(tusk_cli: Run, client: tusk.Client) -> None:
    assert ok(tusk_cli, "create", "repo", "images", "-d", "pictures") == ""
    ok(tusk_cli, "create", "repo", "books")
    out = ok(tusk_cli, "list", "repo")
    names, rows = table(out)
    assert names == ["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"]
    assert sorted(r[0] for r in rows) == ["books", "images"]
    assert {r[0]: r[3] for r in rows}["images"] == "pictures"
    assert all(r[1].endswith("ago") and r[2] == "0B" for r in rows)

    client.pfs.put_file("images@master", "/a.png", b"x" * 2048)
    info = ok(tusk_cli, "inspect", "repo", "images")
    assert "Name: images\n" in info and "Description: pictures\n" in info
    assert "Size of HEAD on master: 2KiB" in info
    raw = json.loads(ok(tusk_cli, "inspect", "repo", "images", "--raw"))
    assert raw["repo"]["name"] == "images" and raw["description"] == "pictures"
    docs = list(yaml.safe_load_all(ok(tusk_cli, "list", "repo", "-o", "yaml")))
    assert sorted(d["repo"]["name"] for d in docs) == ["books", "images"]
    assert re.search(r"\d{4}-\d\d-\d\dT", ok(tusk_cli, "list", "repo", "--full-timestamps"))
    assert header(ok(tusk_cli, "list", "repo", "-A")).split()[:2] == ["PROJECT", "NAME"]

    ok(tusk_cli, "update", "repo", "images", "-d", "photos")
    assert client.pfs.inspect_repo("images").description == "photos"
    ok(tusk_cli, "delete", "repo", "books")
    assert [r[0] for r in table(ok(tusk_cli, "list", "repo"))[1]] == ["images"]
    ok(tusk_cli, "delete", "repo", "--all")
    assert ok(tusk_cli, "list", "repo").strip() == "NAME CREATED SIZE (MASTER) DESCRIPTION"


def test_list_repo_hides_pipeline_repos_unless_all(tusk_cli: Run, client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "edges"},
            "transform": {"cmd": ["true"]},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
        }
    )
    shown = [r[0] for r in table(ok(tusk_cli, "list", "repo"))[1]]
    assert sorted(shown) == ["edges", "images"]
    every = [r[0] for r in table(ok(tusk_cli, "list", "repo", "--all"))[1]]
    assert sorted(every) == ["edges", "edges.spec", "images"]
    assert [r[0] for r in table(ok(tusk_cli, "list", "repo", "--type", "spec"))[1]] == ["edges.spec"]
    assert "Type: spec" in ok(tusk_cli, "inspect", "repo", "edges.spec")
    line = fails(tusk_cli, 1, "delete", "repo", "images")  # a pipeline reads it
    assert line.startswith("error: ")
    ok(tusk_cli, "delete", "pipeline", "edges")
    ok(tusk_cli, "delete", "repo", "images")


def test_repo_errors_are_one_line_with_exit_codes(tusk_cli: Run) -> None:
    assert fails(tusk_cli, 4, "inspect", "repo", "nope") == 'error: repo default/nope not found'
    assert fails(tusk_cli, 4, "delete", "repo", "nope") == 'error: repo default/nope not found'
    assert fails(tusk_cli, 4, "list", "commit", "nope") == 'error: repo default/nope not found'
    assert fails(tusk_cli, 4, "list", "file", "nope@master") == 'error: repo default/nope not found'
    assert fails(tusk_cli, 4, "put", "file", "nope@master:/a", "-f", __file__).startswith("error: repo")
    assert "invalid" in fails(tusk_cli, 1, "create", "repo", "bad name")
    assert "invalid" in fails(tusk_cli, 1, "create", "repo", "a/b/c")
    ok(tusk_cli, "create", "repo", "images")
    assert "exists" in fails(tusk_cli, 1, "create", "repo", "images")
    assert "--all" in fails(tusk_cli, 2, "delete", "repo")
    code, _, err = tusk_cli("--address", "127.0.0.1:1", "list", "repo")
    assert code == 3 and len(err.strip().splitlines()) == 1


# -- files -----------------------------------------------------------------------------------------


def test_put_file_paths_and_one_commit_per_invocation(
    tusk_cli: Run, client: tusk.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(tusk_cli, "create", "repo", "images")
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"A" * 100)
    b.write_bytes(b"B" * 200)
    ok(tusk_cli, "put", "file", "images@master", "-f", str(a))  # no path: the file's name
    ok(tusk_cli, "put", "file", "images@master:/renamed.png", "-f", str(a))
    ok(tusk_cli, "put", "file", "images@master:/two/", "-f", str(a), "-f", str(b))  # one commit
    ok(tusk_cli, "put", "file", "images@master:/both", "-f", str(a), "-f", str(b))  # several: a directory
    monkeypatch.chdir(tmp_path)
    ok(tusk_cli, "put", "file", "images@master:relative.png", "-f", "b.png")
    paths = [f.file.path for f in client.pfs.walk_file("images@master")]
    assert paths == [
        "/",
        "/a.png",
        "/both/",
        "/both/a.png",
        "/both/b.png",
        "/relative.png",
        "/renamed.png",
        "/two/",
        "/two/a.png",
        "/two/b.png",
    ]
    assert len(list(client.pfs.list_commit("images"))) == 5

    ok(tusk_cli, "put", "file", "images@master:/a.png", "-a", "-f", str(b))
    assert client.pfs.get_file_bytes("images@master", "/a.png") == b"A" * 100 + b"B" * 200
    ok(tusk_cli, "put", "file", "images@master:/a.png", "-f", str(b))
    assert client.pfs.get_file_bytes("images@master", "/a.png") == b"B" * 200


def test_put_file_recursive_is_one_commit(tusk_cli: Run, client: tusk.Client, tmp_path: Path) -> None:
    ok(tusk_cli, "create", "repo", "images")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "x.txt").write_bytes(b"x")
    (tmp_path / "d" / "sub" / "y.txt").write_bytes(b"yy")
    ok(tusk_cli, "put", "file", "images@master", "-r", "-f", str(tmp_path / "d"))
    ok(tusk_cli, "put", "file", "images@master:/in", "-r", "-f", str(tmp_path / "d"))
    paths = [f.file.path for f in client.pfs.walk_file("images@master") if not f.file.path.endswith("/")]
    assert paths == ["/in/sub/y.txt", "/in/x.txt", "/sub/y.txt", "/x.txt"]
    assert len(list(client.pfs.list_commit("images"))) == 2

    line = fails(tusk_cli, 2, "put", "file", "images@master", "-f", str(tmp_path / "d"))
    assert line == f"Error: {tmp_path / 'd'} is a directory: add -r to put its files"
    line = fails(tusk_cli, 1, "put", "file", "images@master", "-f", str(tmp_path / "missing"))
    assert "no such file" in line
    assert "names no branch" in fails(tusk_cli, 2, "put", "file", "images", "-f", str(tmp_path / "d" / "x.txt"))
    assert len(list(client.pfs.list_commit("images"))) == 2  # refused before anything was sent


def test_put_file_from_stdin_and_get_file_to_stdout(server: RunningServer, client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    data = bytes(range(256)) * 20000  # 5 MB of binary: several chunks, not text
    done = subprocess_tusk(server, "put", "file", "images@master:/from-stdin.bin", "-f", "-", stdin=data)
    assert done.returncode == 0, done.stderr
    assert client.pfs.get_file_bytes("images@master", "/from-stdin.bin") == data
    got = subprocess_tusk(server, "get", "file", "images@master:/from-stdin.bin")
    assert got.returncode == 0 and got.stdout == data
    no_path = subprocess_tusk(server, "put", "file", "images@master", "-f", "-", stdin=b"x")
    assert no_path.returncode == 2 and b"needs a file path" in no_path.stderr
    assert len(no_path.stderr.strip().splitlines()) == 1


def test_get_file(tusk_cli: Run, client: tusk.Client, tmp_path: Path) -> None:
    client.pfs.create_repo("images")
    with client.pfs.modify_file("images@master") as mf:
        mf.put_file("/a.txt", b"alpha")
        mf.put_file("/d/b.txt", b"beta")
        mf.put_file("/d/e/c.txt", b"gamma")
    assert ok(tusk_cli, "get", "file", "images@master:/a.txt") == "alpha"
    assert ok(tusk_cli, "get", "file", "images@master:/a.txt", "--offset", "2") == "pha"
    out = tmp_path / "out" / "a.txt"
    assert ok(tusk_cli, "get", "file", "images@master:/a.txt", "-o", str(out)) == ""
    assert out.read_bytes() == b"alpha"
    commit = client.pfs.inspect_commit("images@master").commit.id
    assert ok(tusk_cli, "get", "file", f"images@{commit}:/d/b.txt") == "beta"

    line = fails(tusk_cli, 2, "get", "file", "images@master:/d")
    assert line == "Error: /d is a directory: use -r -o DIR to download it"
    ok(tusk_cli, "get", "file", "-r", "images@master:/d", "-o", str(tmp_path / "dir"))
    got = sorted(p.relative_to(tmp_path / "dir").as_posix() for p in (tmp_path / "dir").rglob("*") if p.is_file())
    assert got == ["b.txt", "e/c.txt"]
    assert (tmp_path / "dir" / "e" / "c.txt").read_bytes() == b"gamma"
    ok(tusk_cli, "get", "file", "-r", "images@master", "-o", str(tmp_path / "all"))
    assert (tmp_path / "all" / "d" / "e" / "c.txt").read_bytes() == b"gamma"
    assert "-o DIR" in fails(tusk_cli, 2, "get", "file", "-r", "images@master:/d")

    assert fails(tusk_cli, 4, "get", "file", "images@master:/missing").startswith("error: ")
    assert not (tmp_path / "missing").exists()
    fails(tusk_cli, 4, "get", "file", "images@master:/missing", "-o", str(tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()  # nothing half-written
    assert fails(tusk_cli, 4, "get", "file", "images@nobranch:/a.txt").startswith("error: ")


def test_list_glob_inspect_diff_and_delete_file(tusk_cli: Run, client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    with client.pfs.modify_file("images@master") as mf:
        mf.put_file("/a/1.txt", b"one")
        mf.put_file("/a/b/2.txt", b"two")
        mf.put_file("/c.csv", b"c" * 2048)
    out = ok(tusk_cli, "list", "file", "images@master")
    assert out == "NAME   TYPE SIZE\n/a/    dir  6B\n/c.csv file 2KiB\n"
    assert table(ok(tusk_cli, "list", "file", "images@master:/a"))[1] == [
        ["/a/1.txt", "file", "3B"],
        ["/a/b/", "dir", "3B"],
    ]
    assert [r[0] for r in table(ok(tusk_cli, "glob", "file", "images@master:/**.txt"))[1]] == ["/a/1.txt", "/a/b/2.txt"]
    assert [r[0] for r in table(ok(tusk_cli, "glob", "file", "images@master:*"))[1]] == ["/a/", "/c.csv"]
    raw = [
        json.loads(chunk)
        for chunk in re.split(r"(?<=\n})\n(?=\{)", ok(tusk_cli, "list", "file", "images@master", "--raw").strip())
    ]
    assert [r["file"]["path"] for r in raw] == ["/a/", "/c.csv"]

    info = ok(tusk_cli, "inspect", "file", "images@master:/c.csv")
    assert "Path: /c.csv\n" in info and "Type: file\n" in info and "Size: 2KiB\n" in info
    assert re.search(r"Hash: [0-9a-f]{64}", info)
    assert yaml.safe_load(ok(tusk_cli, "inspect", "file", "images@master:/a", "-o", "yaml"))["file_type"] == "DIR"
    assert fails(tusk_cli, 4, "inspect", "file", "images@master:/nope").startswith("error: ")

    first = client.pfs.inspect_commit("images@master").commit.id
    with client.pfs.modify_file("images@master") as mf:
        mf.put_file("/c.csv", b"changed")
        mf.put_file("/new.txt", b"n")
        mf.delete_file("/a/1.txt")
    out = ok(tusk_cli, "diff", "file", "images@master")
    assert out.startswith("New Files:\nNAME")
    assert "/new.txt" in out and "\n\nOld Files:\nNAME" in out and "/a/1.txt" in out
    assert ok(tusk_cli, "diff", "file", "images@master", "--name-only").splitlines() == [
        "- /a/1.txt",
        "M /c.csv",
        "+ /new.txt",
    ]
    against = ok(tusk_cli, "diff", "file", "images@master:/new.txt", first, "--name-only")
    assert against.splitlines() == ["+ /new.txt"]
    assert ok(tusk_cli, "diff", "file", f"images@{first}", f"images@{first}") == ""

    ok(tusk_cli, "delete", "file", "images@master:/a")
    assert [r[0] for r in table(ok(tusk_cli, "list", "file", "images@master"))[1]] == ["/c.csv", "/new.txt"]
    assert "names no path" in fails(tusk_cli, 2, "delete", "file", "images@master")


# -- commits and branches --------------------------------------------------------------------------


def test_commit_verbs(tusk_cli: Run, client: tusk.Client, tmp_path: Path) -> None:
    ok(tusk_cli, "create", "repo", "images")
    commit = ok(tusk_cli, "start", "commit", "images@master", "-m", "by hand").strip()
    assert ID.match(commit)
    src = tmp_path / "a.txt"
    src.write_bytes(b"a")
    ok(tusk_cli, "put", "file", f"images@{commit}:/a.txt", "-f", str(src))  # into the open commit
    ok(tusk_cli, "put", "file", "images@master:/b.txt", "-f", str(src))  # the branch's open commit
    assert "error: " in fails(tusk_cli, 1, "start", "commit", "images@master")
    out = ok(tusk_cli, "list", "commit", "images")
    names, rows = table(out)
    assert names == ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN", "DESCRIPTION"]
    # As pachd, a CommitInfo names no branch (its commit is repo + ID), so BRANCH shows "-".
    assert rows == [["images", "-", commit, "-", "2B", "USER", "by hand"]]
    ok(tusk_cli, "finish", "commit", "images@master")
    assert table(ok(tusk_cli, "list", "commit", "images"))[1][0][3].endswith("ago")

    second = ok(tusk_cli, "start", "commit", "images@master").strip()
    ok(tusk_cli, "finish", "commit", f"images@{second}", "--error", "bad input", "-m", "broken")
    info = ok(tusk_cli, "inspect", "commit", "images@master")
    assert f"Commit: images@{second}\n" in info and f"Parent: {commit}\n" in info
    assert "Error: bad input\n" in info and "Description: broken\n" in info and "Origin: USER\n" in info
    assert f"images@{commit}" in ok(tusk_cli, "inspect", "commit", "images@master^")
    raw = json.loads(ok(tusk_cli, "inspect", "commit", "images@master", "--raw"))
    assert raw["commit"]["id"] == second and raw["error"] == "bad input"
    assert fails(tusk_cli, 5, "wait", "commit", "images@master") == (f"Error: commit images@{second} failed: bad input")
    assert ok(tusk_cli, "wait", "commit", f"images@{commit}") == ""
    assert "error: " in fails(tusk_cli, 1, "finish", "commit", f"images@{commit}")  # already finished

    rows = table(ok(tusk_cli, "list", "commit", "images@master"))[1]
    assert [r[2] for r in rows] == [second, commit]
    assert [r[2] for r in table(ok(tusk_cli, "list", "commit", "images", "-n", "1"))[1]] == [second]
    assert [r[2] for r in table(ok(tusk_cli, "list", "commit", "images", "--reverse"))[1]] == [commit, second]
    assert [r[2] for r in table(ok(tusk_cli, "list", "commit", "images", "--from", commit))[1]] == [second]
    assert table(ok(tusk_cli, "list", "commit", "images", "--origin", "auto"))[1] == []
    assert len(list(yaml.safe_load_all(ok(tusk_cli, "list", "commit", "images", "-o", "yaml")))) == 2

    sets = ok(tusk_cli, "list", "commit")
    assert table(sets)[0] == ["ID", "SUBCOMMITS", "PROGRESS", "CREATED", "MODIFIED"]
    assert [r[0] for r in table(sets)[1]] == [second, commit]
    members = table(ok(tusk_cli, "inspect", "commit", commit))[1]
    assert [(r[0], r[2]) for r in members] == [("images", commit)]
    assert fails(tusk_cli, 4, "inspect", "commit", "images@master^9").startswith("error: ")
    assert "names no commit" in fails(tusk_cli, 2, "finish", "commit", "images")


def test_inspect_commit_wait(tusk_cli: Run, client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    commit = client.pfs.start_commit("images@master")
    finisher = threading.Timer(0.3, lambda: client.pfs.finish_commit(commit))
    finisher.start()
    try:
        out = ok(tusk_cli, "inspect", "commit", "images@master", "--wait")
    finally:
        finisher.join(10)
    assert re.search(r"^Finished: .* ago$", out, re.M), out


def test_branch_verbs(tusk_cli: Run, client: tusk.Client) -> None:
    ok(tusk_cli, "create", "repo", "images")
    ok(tusk_cli, "create", "repo", "out")
    client.pfs.put_file("images@master", "/a", b"1")
    head = client.pfs.inspect_commit("images@master").commit.id
    ok(tusk_cli, "create", "branch", "images@dev", "--head", "master")
    ok(tusk_cli, "create", "branch", "images@pinned", "--head", head)
    ok(tusk_cli, "create", "branch", "images@other", "--head", f"images@{head}")
    out = ok(tusk_cli, "list", "branch", "images")
    assert table(out) == (
        ["BRANCH", "HEAD", "TRIGGER"],
        [["other", head, "-"], ["pinned", head, "-"], ["dev", head, "-"], ["master", head, "-"]],  # newest first
    )
    ok(tusk_cli, "create", "branch", "out@master", "--provenance", "images@master")
    info = ok(tusk_cli, "inspect", "branch", "out@master")
    assert "Name: out@master\n" in info and "Provenance: images@master" in info
    assert "Subvenance: out@master" in ok(tusk_cli, "inspect", "branch", "images@master")
    assert (
        json.loads(ok(tusk_cli, "list", "branch", "images", "--raw").split("\n}\n")[0] + "}")["branch"]["name"]
        == "other"
    )
    ok(tusk_cli, "delete", "branch", "images@dev")
    assert [r[0] for r in table(ok(tusk_cli, "list", "branch", "images"))[1]] == ["other", "pinned", "master"]
    assert fails(tusk_cli, 4, "inspect", "branch", "images@dev").startswith("error: ")
    assert fails(tusk_cli, 4, "list", "branch", "nope").startswith("error: ")
    assert "names a commit" in fails(tusk_cli, 1, "create", "branch", f"images@{head}")
    assert "names no branch" in fails(tusk_cli, 2, "create", "branch", "images")
    assert "names no branch" in fails(tusk_cli, 2, "create", "branch", "out@x", "-p", "images")


# -- docs and examples -----------------------------------------------------------------------------


def test_docs_cli_covers_every_pfs_command() -> None:
    doc = (REPO_ROOT / "docs" / "cli.md").read_text()
    for verb, group in cli.commands.items():
        assert isinstance(group, click.Group) or verb in doc
        for noun, command in getattr(group, "commands", {}).items():
            if command.callback is not None and command.callback.__module__.startswith(cli_pfs.__name__):
                assert f"`tusk {verb} {noun}" in doc, f"docs/cli.md does not describe tusk {verb} {noun}"
                for param in command.params:
                    if isinstance(param, click.Option):
                        assert any(opt in doc for opt in param.opts), (
                            f"docs/cli.md misses {param.opts} of {verb} {noun}"
                        )
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 130 |"):
        assert code in doc


@pytest.mark.timeout(300)
def test_text_example_runs_as_its_readme_says(server: RunningServer, tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "TUSK_ADDRESS": server.address, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}"}
    script = """
        set -e
        tusk create repo books
        sed -e "s|@PYTHON@|$(command -v python)|" -e "s|@TUSK_EXAMPLES@|$PWD/examples|" \\
            examples/text/wordcount.json | tusk create pipeline -f -
        tusk put file books@master -r -f examples/text/books
        tusk wait commit wordcount@master
        tusk get file wordcount@master:/a-tale-of-two-cities.txt | head -3
    """
    assert "tusk put file books@master -r -f examples/text/books" in (REPO_ROOT / "examples" / "README.md").read_text()
    done = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["11 the", "10 it", "10 of"]
