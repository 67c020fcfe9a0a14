"""The benchmark's honesty rules (issue 16): every row says what its baseline is, an analysis of
a miss is printed only while the code it profiled is unchanged, and the bare InspectJob floor
answers each request with the bytes recorded for it."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import grpc
import pytest

from bench.analysis import Analysis
from bench.bare_proc import read_table, write_table
from bench.common import bare_process
from bench.harness import Row, render


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    _git(tmp_path, "init", "-q")
    (tmp_path / "engine.py").write_text("slow = True\n")
    (tmp_path / "other.py").write_text("x = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "profiled")
    return tmp_path, _git(tmp_path, "rev-parse", "--short", "HEAD")


def test_a_row_must_say_what_its_baseline_is() -> None:
    with pytest.raises(ValueError, match="does not say what its baseline is"):
        Row("case", 1.0, 2.0, "s", 0.5, "<= 1", True)


def test_render_prints_the_baseline_description_and_no_number_for_nan() -> None:
    row = Row("rss per stream", math.nan, 50.0, "KiB", math.nan, "< 20", False, "not measured",
              against="tusk itself: the first job")  # fmt: skip
    line = render([row]).splitlines()[-1]
    assert line == "| rss per stream | - | 50 KiB | tusk itself: the first job | - | < 20 | NO | not measured |"


def test_an_analysis_of_unchanged_code_is_printed(repo: tuple[Path, str]) -> None:
    root, commit = repo
    (root / "other.py").write_text("x = 2\n")  # not a file the analysis names
    text = Analysis(commit, ("engine.py",), "**case** spawn is 40%.").for_this_run("case", root)
    assert text.startswith("**case** spawn is 40%.")
    assert commit in text


def test_an_analysis_of_changed_code_is_stale(repo: tuple[Path, str]) -> None:
    root, commit = repo
    (root / "engine.py").write_text("slow = False\n")
    text = Analysis(commit, ("engine.py",), "**case** spawn is 40%.").for_this_run("case", root)
    assert "spawn is 40%" not in text
    assert f"analysis of {commit} is stale: the code it profiled has changed (engine.py)" in text


def test_an_analysis_that_cannot_be_checked_is_not_printed(repo: tuple[Path, str]) -> None:
    root, _commit = repo
    text = Analysis("0123456", ("engine.py",), "**case** spawn is 40%.").for_this_run("case", root)
    assert "spawn is 40%" not in text
    assert "cannot be checked" in text


def test_bare_table_server_answers_each_request_with_its_own_bytes(tmp_path: Path) -> None:
    pairs = [(b"job-a", b"answer a"), (b"job-b", b"answer b, longer"), (b"", b"empty request")]
    write_table(tmp_path / "t.bin", pairs)
    assert read_table(tmp_path / "t.bin") == dict(pairs)
    method = "/pps_v2.API/InspectJob"
    with bare_process(method, table=pairs) as bare, grpc.insecure_channel(bare.address) as channel:
        call = channel.unary_unary(method)
        assert [call(req, timeout=10) for req, _ in pairs] == [answer for _, answer in pairs]
        with pytest.raises(grpc.RpcError) as err:
            call(b"job-unknown", timeout=10)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
