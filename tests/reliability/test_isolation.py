"""User code cannot write the server's data directory: the store, the blobs and the work
directories are read-only in its mount namespace, while /pfs/out and its TMPDIR stay writable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tuskd.engine.sandbox import Isolation, detect_isolation

SCRIPT = r"""
import json, os, sys
data = os.environ["DATA"]
report = {}
def attempt(name, path):
    try:
        with open(path, "ab") as fh:
            fh.write(b"x")
        report[name] = "written"
    except OSError as exc:
        report[name] = exc.strerror
blob = next((os.path.join(d, f) for d, _, fs in os.walk(os.path.join(data, "blobs")) for f in fs), None)
attempt("data_dir", os.path.join(data, "pwned"))
attempt("metadata", os.path.join(data, "metadata.db"))
attempt("blob", blob or os.path.join(data, "blobs", "x"))
attempt("tmpdir", os.path.join(os.environ["TMPDIR"], "scratch"))
attempt("out", "/pfs/out/probe")
with open("/pfs/out/report.json", "w") as fh:
    json.dump(report, fh)
"""


@pytest.mark.skipif(detect_isolation() is not Isolation.NAMESPACE, reason="needs mount namespaces (root)")
def test_user_code_cannot_write_the_data_directory(server: RunningServer) -> None:
    import sys

    data = str(server.config.data_dir.resolve())
    metadata_before = (Path(data) / "metadata.db").stat().st_size
    with server.client() as client:
        client.pfs.create_repo("images")
        client.pfs.put_file("images@master", "/a.txt", b"hello")
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "probe"},
                "transform": {"cmd": [sys.executable, "-c", SCRIPT], "env": {"DATA": data}},
                "input": {"pfs": {"repo": "images", "glob": "/"}},
            }
        )
        job = next(iter(client.pps.list_job(pipeline="probe")))
        done = client.pps.inspect_job(job.job, wait=True)
        assert done.reason == "" and done.data_processed == 1
        report = json.loads(client.pfs.get_file_bytes(f"probe@{job.job.id}", "/report.json"))
    assert report["data_dir"] == "Read-only file system"
    assert report["metadata"] == "Read-only file system"
    assert report["blob"] in ("Read-only file system", "Permission denied")
    assert report["tmpdir"] == "written"
    assert report["out"] == "written"
    assert not (Path(data) / "pwned").exists()
    assert (Path(data) / "metadata.db").stat().st_size >= metadata_before
