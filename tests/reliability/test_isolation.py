"""User code cannot write the server's data directory: the store, the blobs and the work
directories are read-only in its mount namespace, while /pfs/out and its TMPDIR stay writable."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from tests.conftest import RunningServer
from tusk.proto.pps_v2 import pps_pb2
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


THROUGH_PROC = r"""
import json, os
server, data, blob = os.environ["SERVER_PID"], os.environ["DATA"], os.environ["BLOB"]
report = {"server_visible": os.path.exists(f"/proc/{server}/root"), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
def attempt(name, path):
    try:
        with open(path, "r+b" if os.path.exists(path) else "wb") as fh:
            fh.write(b"EVIL")
        report[name] = "written"
    except OSError as exc:
        report[name] = exc.strerror
attempt("data_dir", f"/proc/{server}/root{data}/pwned")
attempt("blob", f"/proc/{server}/root{blob}")
with open("/pfs/out/report.json", "w") as fh:
    json.dump(report, fh)
"""


def _blob_path(data: Path, content: bytes) -> Path:
    return next(p for p in (data / "blobs" / "objects").rglob("*") if p.is_file() and p.read_bytes() == content)


@pytest.mark.skipif(detect_isolation() is not Isolation.NAMESPACE, reason="needs mount namespaces (root)")
def test_user_code_cannot_reach_the_server_through_proc(server: RunningServer) -> None:
    """User code has its own PID namespace and /proc: the server's /proc/<pid>/root (its mount
    namespace, where the data directory is writable) is not there to write through."""
    import os
    import sys

    data = server.config.data_dir.resolve()
    with server.client() as client:
        client.pfs.create_repo("other")
        client.pfs.put_file("other@master", "/precious.txt", b"another repo's content")
        blob = _blob_path(data, b"another repo's content")
        client.pfs.create_repo("images")
        client.pfs.put_file("images@master", "/a.txt", b"hello")
        env = {"DATA": str(data), "SERVER_PID": str(os.getpid()), "BLOB": str(blob)}
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "probe"},
                "transform": {"cmd": [sys.executable, "-c", THROUGH_PROC], "env": env},
                "input": {"pfs": {"repo": "images", "glob": "/"}},
            }
        )
        job = next(iter(client.pps.list_job(pipeline="probe")))
        done = client.pps.inspect_job(job.job, wait=True)
        assert done.reason == "" and done.data_processed == 1
        report = json.loads(client.pfs.get_file_bytes(f"probe@{job.job.id}", "/report.json"))
        assert client.pfs.get_file_bytes("other@master", "/precious.txt") == b"another repo's content"
    assert report["server_visible"] is False
    assert os.getpid() not in report["pids"] or os.getpid() == 1
    assert report["data_dir"] == "No such file or directory"
    assert report["blob"] == "No such file or directory"
    assert not (data / "pwned").exists()
    assert blob.read_bytes() == b"another repo's content"


def _corrupt(path: Path, content: bytes) -> None:
    """What a write through a hard link, a bad disk or a careless operator does to a blob."""
    path.chmod(0o644)
    path.write_bytes(content)


def test_corrupt_content_is_data_loss_never_served(server: RunningServer) -> None:
    """A blob whose bytes no longer match its hash: GetFile answers DATA_LOSS (whole or from an
    offset), a datum that would read it fails naming it, and the blob store's verify says so."""
    import sys

    import tusk.errors

    data = server.config.data_dir.resolve()
    with server.client() as client:
        client.pfs.create_repo("src")
        client.pfs.put_file("src@master", "/good.txt", b"good content")
        client.pfs.put_file("src@master", "/bad.txt", b"original content")
        assert client.pfs.get_file_bytes("src@master", "/bad.txt") == b"original content"  # verified once
        blob = _blob_path(data, b"original content")
        _corrupt(blob, b"tampered content")  # same size: only the hash tells
        for offset in (0, 3):
            with pytest.raises(tusk.errors.TuskError) as err:
                client.pfs.get_file_bytes("src@master", "/bad.txt", offset=offset)
            assert err.value.code == grpc.StatusCode.DATA_LOSS
            assert f"blob {blob.name} is corrupt" in str(err.value)
        assert client.pfs.get_file_bytes("src@master", "/good.txt") == b"good content"
        assert server.deps.blobs.verify(blob.name) is False
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "transform": {"cmd": [sys.executable, "-c", "import shutil; shutil.copytree('/pfs/src', '/pfs/out', dirs_exist_ok=True)"]},
                "input": {"pfs": {"repo": "src", "glob": "/*"}},
            }
        )
        job = next(iter(client.pps.list_job(pipeline="copy")))
        done = client.pps.inspect_job(job.job, wait=True)
        reasons = {d.data[0].file.path: (d.state, d.reason) for d in client.pps.list_datum(done.job)}
        assert reasons["/good.txt"] == (pps_pb2.SUCCESS, "")
        assert reasons["/bad.txt"][0] == pps_pb2.FAILED
        assert f"blob {blob.name} is corrupt" in reasons["/bad.txt"][1]
