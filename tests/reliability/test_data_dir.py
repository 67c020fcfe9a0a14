"""One server per data directory: a second ``tusk serve`` on it refuses to start, clearly, and
leaves the first one's running job alone (its start-up would otherwise kill the first server's
user processes as leftovers of a crash and remove their work directories)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, free_port
from tests.integration.test_engine import ME, pid_alive
from tests.reliability.common import put_files, wait_for
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]


@pytest.mark.parametrize("lock_file", ["kept", "removed", "replaced"])
def test_second_server_on_a_data_dir_refuses_and_harms_nothing(
    tmp_path: Path, server_process: Callable[..., ServerProcess], lock_file: str
) -> None:
    data_dir = tmp_path / "data"
    pids = tmp_path / "pids"
    release = tmp_path / "release"
    first = server_process(data_dir=data_dir)
    with first.client() as c:
        c.pfs.create_repo("in")
        c.pps.create_pipeline(
            {
                "pipeline": {"name": "wait"},
                "transform": {
                    "cmd": [
                        "sh",
                        "-c",
                        f'{ME} >> "$PIDS"; '
                        'while [ ! -e "$RELEASE" ]; do sleep 0.05; done; echo ok > /pfs/out/ok',
                    ],
                    "env": {"PIDS": str(pids), "RELEASE": str(release), "MARK": uuid.uuid4().hex},
                },
                "input": {"pfs": {"repo": "in", "glob": "/"}},
            }
        )
        commit = put_files(c, "in", {"/a": b"1"})
        wait_for(lambda: pids.exists() and pids.read_text().strip(), what="the datum to start")
        [datum_pid] = pids.read_text().split()
        # A cleanup script or a restore may remove or replace LOCK: ownership must not depend on it.
        if lock_file == "removed":
            (data_dir / "LOCK").unlink()
        elif lock_file == "replaced":
            (data_dir / "LOCK").unlink()
            (data_dir / "LOCK").write_text("12345\n")
        if lock_file != "kept":  # the first server notices and names itself in LOCK again
            wait_for(lambda: f'"pid": {first.proc.pid},' in _read(data_dir / "LOCK"), what="LOCK to be rewritten")

        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "tusk",
                "serve",
                "--address",
                f"127.0.0.1:{free_port()}",
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode != 0
        assert f"is in use by another tusk server (pid {first.proc.pid}, address {first.address}" in second.stderr
        assert "Traceback" not in second.stderr
        # The first server's datum was not killed as a "leftover", and its job ends normally.
        assert pid_alive(datum_pid)
        assert sorted(p.name for p in (data_dir / "work").iterdir())  # its datum's tree is still there
        assert c.health() == "SERVING"
        release.touch()
        [info] = c.pps.wait_job_done(f"wait@{commit}")
        assert info.state == pps_pb2.JOB_SUCCESS
        assert c.pfs.get_file_bytes(f"wait@{commit}", "/ok") == b"ok\n"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
