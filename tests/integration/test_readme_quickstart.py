"""The README's quickstart, run as a new user would: its marked shell block(s), command by command,
with bash, against a ``tusk serve`` subprocess; the last ``tusk list job -p edges`` must have the
seed's table shape (/work/shared/seeds/job.txt): three jobs, newest first, ``2 + 1 / 3``,
``1 + 0 / 1``, ``0 + 0 / 0``, all ``success``.

The blocks to run are the fenced ``sh`` blocks right after an ``<!-- quickstart -->`` comment;
the expected output the README shows follows ``<!-- quickstart-output -->`` and is checked too,
and so does the README's Python example.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, ServerProcess

README = REPO_ROOT / "README.md"
HEADERS = ["ID", "PIPELINE", "STARTED", "DURATION", "RESTART", "PROGRESS", "DL", "UL", "STATE"]
PROGRESS = ["2 + 1 / 3", "1 + 0 / 1", "0 + 0 / 0"]
SIZE = re.compile(r"^\d+(\.\d+)?(B|KiB|MiB|GiB)$")


def fenced_after(marker: str, text: str, lang: str) -> list[str]:
    """The bodies of the ```lang blocks that directly follow each ``marker`` comment."""
    pattern = re.compile(re.escape(marker) + r"\s*\n```" + lang + r"\n(.*?)\n```", re.DOTALL)
    return pattern.findall(text)


def commands(block: str) -> list[str]:
    """Shell commands of a block: one per line, ``\\`` continues a line, comments skipped."""
    out: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    assert not pending, "a quickstart command ends in a line continuation"
    return out


def columns(header: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+", header)]


def parse_table(text: str) -> list[list[str]]:
    """Split a pachctl-style table by its header's column starts, checking the spacing rule on
    the way: left-aligned cells, each column as wide as its widest cell (or header) plus one
    space, no trailing spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    cols = columns(header)
    assert [name for name, _ in cols] == HEADERS, f"header is {header!r}"
    starts = [start for _, start in cols]
    parsed: list[list[str]] = []
    for row in rows:
        assert row == row.rstrip(), f"trailing spaces in {row!r}"
        cells = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(row)
            cell = row[start:end]
            assert cell and not cell.startswith(" "), f"column {HEADERS[i]} is not aligned in {row!r}"
            if i + 1 < len(starts):
                assert cell.endswith(" "), f"no space after column {HEADERS[i]} in {row!r}"
            cells.append(cell.rstrip())
        parsed.append(cells)
    for i in range(len(starts) - 1):
        widest = max([len(HEADERS[i])] + [len(r[i]) for r in parsed])
        assert starts[i + 1] - starts[i] == widest + 1, f"column {HEADERS[i]} is not as wide as its widest cell + 1"
    return parsed


def check_seed_shape(table: str) -> None:
    rows = parse_table(table)
    assert [r[5] for r in rows] == PROGRESS, table
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{32}", row[0]), row
        assert row[1] == "edges" and row[4] == "0" and row[8] == "success", row
        assert row[2].endswith(" ago") or row[2] == "-", row
        assert row[3] == "Less than a second" or re.fullmatch(r"\d+ seconds?|About a minute|\d+ minutes", row[3])
        assert SIZE.match(row[6]) and SIZE.match(row[7]), row
    assert rows[2][6] == rows[2][7] == "0B"  # the first job had no datums
    for row in rows[:2]:  # the others read and wrote images
        assert row[6] != "0B" and row[7] != "0B", row


def test_readme_marks_its_quickstart() -> None:
    text = README.read_text()
    blocks = fenced_after("<!-- quickstart -->", text, "sh")
    assert blocks, "README.md has no ```sh block after <!-- quickstart -->"
    cmds = [c for b in blocks for c in commands(b)]
    assert cmds[-1] == "tusk list job -p edges"
    shown = fenced_after("<!-- quickstart-output -->", text, "text")
    assert len(shown) == 1, "README.md shows no expected output after <!-- quickstart-output -->"
    check_seed_shape(shown[0])


@pytest.mark.timeout(600)
def test_readme_quickstart_reproduces_the_seed_table(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    sp = server_process()
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "TUSK_ADDRESS": sp.address,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),  # a new user: nothing from this machine's config
    }
    env.pop("PACHD_ADDRESS", None)
    cmds = [c for b in fenced_after("<!-- quickstart -->", README.read_text(), "sh") for c in commands(b)]
    output = ""
    for cmd in cmds:
        result = subprocess.run(
            ["bash", "-c", cmd], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240
        )
        assert result.returncode == 0, (
            f"quickstart command failed ({result.returncode}): {cmd}\n{result.stdout}{result.stderr}\n{sp.log()[-4000:]}"
        )
        output = result.stdout
    assert cmds[-1] == "tusk list job -p edges"
    check_seed_shape(output)

    # The pipeline really found the edges: one edge map per image, in the images' format.
    listed = subprocess.run(
        ["bash", "-c", "tusk list file edges@master"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert names == ["/city.png", "/sun.png", "/waves.png"], listed.stdout + listed.stderr

    # The README's Python section runs too, against the same server (after the quickstart, so
    # the pipeline it lists jobs of exists).
    python = re.search(r"## Python\n\n```python\n(.*?)\n```", README.read_text(), re.DOTALL)
    assert python is not None, "README.md has no ```python block under ## Python"
    code = python.group(1).replace("localhost:30650", sp.address)
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert "/notes.txt 5" in ran.stdout
