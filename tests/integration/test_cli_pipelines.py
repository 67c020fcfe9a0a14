"""The pipeline commands of the ``tusk`` CLI, run as real subprocesses against a real server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunningServer
from tuskd.domain.jobs import Job
from tuskd.domain.pfs import CommitRef, RepoKey
from tuskd.domain.states import is_terminal
from tuskd.store.pps import JobQuery

pytestmark = pytest.mark.timeout(90)

EDGES_JSON = {
    "pipeline": {"name": "edges"},
    "description": "A pipeline that performs image edge detection by using the OpenCV library.",
    "transform": {"cmd": ["sh", "-c", "cp -r /pfs/images/. /pfs/out/"], "image": "pachyderm/opencv"},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
}

MONTAGE_YAML = """\
pipeline:
  name: montage
description: A pipeline that combines images from the images and edges repositories into a montage.
input:
  cross:
  - pfs:
      glob: /
      repo: images
  - pfs:
      glob: /
      repo: edges
transform:
  cmd:
  - sh
  - -c
  - "true"
  image: dpokidov/imagemagick:7.1.0-23
datum_timeout: 1m
"""


def tusk(server: RunningServer, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tusk", "--address", server.address, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(server: RunningServer, *args: str, stdin: str | None = None) -> str:
    result = tusk(server, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def jobs_of(server: RunningServer, pipeline: str) -> list[Job]:
    return [r.job for r in server.deps.jobs.list(JobQuery(pipeline=pipeline, newest_first=False))]


def settle(server: RunningServer, timeout: float = 30) -> None:
    """Wait until every job is terminal (the engine runs them)."""
    deadline = time.monotonic() + timeout
    while not all(is_terminal(r.job.state) for r in server.deps.jobs.list(JobQuery())):
        assert time.monotonic() < deadline, "jobs did not finish"
        time.sleep(0.05)


@pytest.fixture
def images(server: RunningServer) -> RepoKey:
    repo = RepoKey.of("images")
    server.deps.pfs.create_repo(repo)
    return repo


def write(tmp_path: Path, name: str, content: str | dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_create_from_json_and_yaml_then_list(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    assert ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON)) == ""
    ok(server, "create", "pipeline", "-f", write(tmp_path, "montage.yaml", MONTAGE_YAML))
    assert len(jobs_of(server, "edges")) == 1 and len(jobs_of(server, "montage")) == 1
    montage = server.deps.pipelines.spec(server_key("montage"))
    assert montage.datum_timeout == 60  # Go-style "1m" is accepted
    if hasattr(server.deps, "engine"):
        settle(server)
    lines = ok(server, "list", "pipeline").splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "INPUT", "CREATED", "STATE", "/", "LAST", "JOB", "DESCRIPTION"]
    montage_row, edges_row = lines[1], lines[2]
    assert montage_row.startswith("montage 1       (images:/ \u2a2f edges:/)")
    assert edges_row.startswith("edges   1       images:/*")
    assert re.search(r"(Less than a second|\d+ seconds?) ago", edges_row)
    last = "success" if hasattr(server.deps, "engine") else "-"
    assert f"running / {last}" in edges_row
    assert edges_row.endswith("A pipeline that performs image edge detection by using the OpenCV library.")
    # The columns line up: every row starts its INPUT where the header does.
    at = lines[0].index("INPUT")
    assert montage_row[at:].startswith("(images") and edges_row[at:].startswith("images")


def server_key(name: str) -> Any:
    from tuskd.domain.pipelines import PipelineKey

    return PipelineKey("default", name)


def test_create_from_stdin_and_streams(server: RunningServer, images: RepoKey) -> None:
    ok(server, "create", "pipeline", "-f", "-", stdin=json.dumps(EDGES_JSON))
    two = {**EDGES_JSON, "pipeline": {"name": "a"}}, {**EDGES_JSON, "pipeline": {"name": "b"}}
    ok(server, "create", "pipeline", "-f", "-", stdin="\n".join(json.dumps(s) for s in two))
    docs = "---\n".join(yaml.safe_dump({**EDGES_JSON, "pipeline": {"name": n}}) for n in ("c", "d"))
    ok(server, "create", "pipeline", "-f", "-", stdin=docs)
    names = [line.split()[0] for line in ok(server, "list", "pipeline").splitlines()[1:]]
    assert names == ["d", "c", "b", "a", "edges"]


def test_create_errors_are_one_clear_line(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    cases = [
        (write(tmp_path, "typo.json", {**EDGES_JSON, "transfrom": {}}), 1, 'has no field named "transfrom"'),
        (write(tmp_path, "bad.yaml", "pipeline: [unclosed"), 1, "cannot parse"),
        (str(tmp_path / "missing.json"), 1, "cannot read"),
        (
            write(tmp_path, "norepo.json", {**EDGES_JSON, "input": {"pfs": {"repo": "nope", "glob": "/*"}}}),
            4,
            'repo default/nope not found',
        ),
        (
            write(tmp_path, "noglob.json", {**EDGES_JSON, "input": {"pfs": {"repo": "images"}}}),
            1,
            "input must specify a glob",
        ),
        (write(tmp_path, "list.yaml", "- a\n- b\n"), 1, "must be a mapping"),
    ]
    for path, code, message in cases:
        result = tusk(server, "create", "pipeline", "-f", path)
        assert result.returncode == code, (path, result.stderr)
        assert message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON))
    result = tusk(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON))
    assert result.returncode == 1 and 'pipeline "default/edges" already exists' in result.stderr


def test_inspect_pipeline(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", {**EDGES_JSON, "datum_timeout": "30s"}))
    text = ok(server, "inspect", "pipeline", "edges")
    assert "Name: edges\n" in text and "Version: 1\n" in text
    assert "State: running\n" in text and "Datum Timeout: 30s\n" in text
    assert '"repo": "images"' in text and '"cmd": [' in text and "Output Branch: master" in text
    raw = json.loads(ok(server, "inspect", "pipeline", "edges", "--raw"))
    assert raw["pipeline"] == {"name": "edges"} and raw["version"] == "1"
    assert raw["details"]["input"]["pfs"]["glob"] == "/*"
    assert raw["details"]["datum_timeout"] == "30s"
    assert raw["state"] == "PIPELINE_RUNNING"
    doc = yaml.safe_load(ok(server, "inspect", "pipeline", "edges", "-o", "yaml"))
    assert doc["details"]["transform"]["image"] == "pachyderm/opencv"
    result = tusk(server, "inspect", "pipeline", "nope")
    assert result.returncode == 4 and result.stderr.strip() == 'error: pipeline "default/nope" not found'


def test_update_pipeline(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    path = write(tmp_path, "edges.json", EDGES_JSON)
    ok(server, "create", "pipeline", "-f", path)
    salt = json.loads(ok(server, "inspect", "pipeline", "edges", "--raw"))["details"]["salt"]
    ok(server, "update", "pipeline", "-f", write(tmp_path, "v2.json", {**EDGES_JSON, "description": "v2"}))
    raw = json.loads(ok(server, "inspect", "pipeline", "edges", "--raw"))
    assert (raw["version"], raw["details"]["salt"], raw["details"]["description"]) == ("2", salt, "v2")
    ok(server, "update", "pipeline", "-f", path, "--reprocess")
    raw = json.loads(ok(server, "inspect", "pipeline", "edges", "--raw"))
    assert raw["version"] == "3" and raw["details"]["salt"] != salt
    assert [j.pipeline_version for j in jobs_of(server, "edges")] == [1, 2, 3]
    history = ok(server, "list", "pipeline", "edges", "--history", "all").splitlines()[1:]
    assert [line.split()[1] for line in history] == ["3", "2", "1"]
    assert len(ok(server, "list", "pipeline", "--history", "1").splitlines()) == 3
    assert tusk(server, "list", "pipeline", "--history", "-2").returncode == 2


def test_list_pipeline_raw(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON))
    out = ok(server, "list", "pipeline", "--raw")
    assert json.loads(out)["pipeline"]["name"] == "edges"
    docs = [d for d in yaml.safe_load_all(ok(server, "list", "pipeline", "-o", "yaml")) if d]
    assert [d["pipeline"]["name"] for d in docs] == ["edges"]


def test_stop_start_rerun(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON))
    ok(server, "stop", "pipeline", "edges")
    assert "State: paused\n" in ok(server, "inspect", "pipeline", "edges")
    assert "paused / " in ok(server, "list", "pipeline")
    server.deps.pfs.put_file(CommitRef(images, branch="master"), "/a.png", [b"png"])
    assert len(jobs_of(server, "edges")) == 1  # stopped: no job
    ok(server, "start", "pipeline", "edges")
    assert "State: running\n" in ok(server, "inspect", "pipeline", "edges")
    assert len(jobs_of(server, "edges")) == 2
    ok(server, "rerun", "pipeline", "edges")
    assert len(jobs_of(server, "edges")) == 3
    ok(server, "rerun", "pipeline", "edges", "--reprocess")
    assert [j.pipeline_version for j in jobs_of(server, "edges")][-1] == 2
    for verb in ("stop", "start", "rerun"):
        result = tusk(server, verb, "pipeline", "nope")
        assert result.returncode == 4 and 'pipeline "default/nope" not found' in result.stderr


def test_delete_pipeline(server: RunningServer, images: RepoKey, tmp_path: Path) -> None:
    ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON))
    ok(server, "create", "pipeline", "-f", write(tmp_path, "montage.yaml", MONTAGE_YAML))
    result = tusk(server, "delete", "pipeline", "edges")
    assert result.returncode == 1 and "in the provenance of montage@master" in result.stderr
    ok(server, "delete", "pipeline", "montage")
    ok(server, "delete", "pipeline", "edges", "--keep-repo")
    assert ok(server, "list", "pipeline").splitlines()[1:] == []
    server.deps.pfs.inspect_repo(RepoKey.of("edges"))  # kept
    assert tusk(server, "delete", "pipeline").returncode == 2
    assert tusk(server, "delete", "pipeline", "nope").returncode == 4
    ok(server, "create", "pipeline", "-f", write(tmp_path, "edges.json", EDGES_JSON))
    ok(server, "delete", "pipeline", "--all")
    assert ok(server, "list", "pipeline").splitlines()[1:] == []
