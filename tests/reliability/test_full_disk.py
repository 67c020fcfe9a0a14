"""A full disk: the data directory on a 64 MiB tmpfs, filled by puts and then to the last byte.

Writes that do not fit fail with RESOURCE_EXHAUSTED and a message that names the disk, whether
the blob store (file content) or SQLite (metadata) ran out of room; nothing half-written becomes
visible, earlier commits stay readable, health and reads keep answering, writes work again once
there is room, and the store opens again after a restart.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import tusk
from tests.conftest import RunningServer, stop_server
from tests.reliability.common import wait_for
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

MiB = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs mounted on a fresh directory (unmounted at the end)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        # Lazy: a server still holding files open must not make the unmount fail the test.
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, name: str = "filler") -> Path:
    """Take every free byte of the disk holding ``path``."""
    filler = path / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (MiB, 4096, 1):
            chunk = b"\0" * size
            try:
                while os.write(fd, chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    assert free_bytes(path) == 0
    return filler


def assert_full(err: errors.TuskError, data_dir: Path) -> None:
    assert isinstance(err, errors.ResourceExhausted), repr(err)
    assert f"the disk holding {data_dir}" in str(err) and "is full" in str(err), str(err)
    assert err.reason == "DISK_FULL"


def test_full_disk_gives_resource_exhausted_and_corrupts_nothing(small_disk: Path, make_server: object) -> None:
    data_dir = small_disk / "data"
    server: RunningServer = make_server(data_dir=data_dir)  # type: ignore[operator]
    client = server.client()
    try:
        client.pfs.create_repo("images")
        client.pfs.put_file("images@master", "/first.txt", b"written before the disk filled\n")
        first = client.pfs.inspect_commit("images@master").commit.id

        # 1. File content that does not fit: the blob store runs out of room.
        written = 0
        with pytest.raises(errors.TuskError) as info:
            for i in range(100):
                client.pfs.put_file("images@master", f"/big{i}", os.urandom(4 * MiB))
                written += 1
        assert_full(info.value, data_dir)
        assert 5 < written < 16
        last_ok = client.pfs.inspect_commit("images@master").commit.id
        # The failed put left nothing: no commit, no file, no temp file eating the disk.
        names = {f.file.path for f in client.pfs.list_file("images@master", "/")}
        assert names == {"/first.txt", *(f"/big{i}" for i in range(written))}
        assert list((data_dir / "blobs" / "tmp").iterdir()) == []

        # 2. Not a byte left: metadata writes (SQLite) fail the same way, small puts too.
        filler = fill(small_disk)
        with pytest.raises(errors.TuskError) as info:
            client.pfs.create_repo("more")
        assert_full(info.value, data_dir)
        with pytest.raises(errors.TuskError) as info:
            client.pfs.put_file("images@master", "/small.txt", b"tiny")
        assert_full(info.value, data_dir)
        with pytest.raises(errors.TuskError) as info:
            client.pfs.start_commit("images@master")
        assert_full(info.value, data_dir)

        # Reads and health keep answering while the disk is full.
        assert client.health() == "SERVING"
        assert client.pfs.get_file_bytes(f"images@{first}", "/first.txt") == b"written before the disk filled\n"
        assert client.pfs.inspect_commit("images@master").commit.id == last_ok
        assert [r.repo.name for r in client.pfs.list_repo()] == ["images"]
        assert len(list(client.pfs.list_commit("images"))) == written + 1

        # 3. Room again: writes work again without a restart.
        filler.unlink()
        client.pfs.create_repo("more")
        client.pfs.put_file("images@master", "/after.txt", b"written after room was made\n")
        assert client.pfs.get_file_bytes("images@master", "/after.txt") == b"written after room was made\n"
    finally:
        client.close()

    # 4. The store opens again after a restart, consistent, with everything acknowledged.
    stop_server(server)
    db = sqlite3.connect(data_dir / "metadata.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()
    again: RunningServer = make_server(data_dir=data_dir)  # type: ignore[operator]
    with tusk.Client(again.address) as c:
        assert c.pfs.get_file_bytes(f"images@{first}", "/first.txt") == b"written before the disk filled\n"
        assert c.pfs.get_file_bytes("images@master", "/after.txt") == b"written after room was made\n"
        assert sorted(r.repo.name for r in c.pfs.list_repo()) == ["images", "more"]


class _Records(logging.Handler):
    """Log records of the job runner, to see from the test when recording hit the full disk."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_full_disk_while_storing_a_datum_output_fails_the_datum_and_its_job(
    small_disk: Path, make_server: object, tmp_path: Path
) -> None:
    """The disk fills between a datum's end and the storing of its output: the output's blob
    cannot be written (ENOSPC) and neither, for a moment, can the datum's record (SQLITE_FULL).
    The record is retried with the datum's outcome kept, so the datum FAILS with the disk named
    and the job FAILS; the job used to end SUCCESS after an internal retry that ran no datum (or
    ran it again once there was room), with outputs missing or the failure forgotten."""
    data_dir = small_disk / "data"
    wrote, go, later = tmp_path / "wrote", tmp_path / "go", tmp_path / "later"
    server: RunningServer = make_server(data_dir=data_dir)  # type: ignore[operator]
    records = _Records()
    runner_log = logging.getLogger("tuskd.engine.job_runner")
    runner_log.addHandler(records)
    client = server.client()
    try:
        client.pfs.create_repo("in")
        script = (
            'n=$(basename "$in"); '
            f'if [ "$n" = f0 ]; then echo small > /pfs/out/f0; touch {wrote}; w={go}; else w={later}; fi; '
            'while [ ! -e "$w" ]; do sleep 0.02; done; cp "$in" "/pfs/out/$n"'
        )
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "p"},
                "transform": {"cmd": ["sh", "-c", script]},
                "input": {"pfs": {"repo": "in", "glob": "/*"}},
                "parallelism_spec": {"constant": 2},
            }
        )
        with client.pfs.modify_file("in@master") as mf:
            for i in range(4):
                mf.put_file(f"/f{i}", f"file {i}\n".encode())
        commit = client.pfs.inspect_commit("in@master").commit.id
        job = f"p@{commit}"
        wait_for(wrote.exists, what="datum f0 to write its output")
        filler = fill(small_disk)
        go.touch()  # not on the small disk
        # Until the datum's end reached the store: its record failed for want of room (old code:
        # an internal error), or it went through in the last free pages.
        wait_for(
            lambda: (
                any(commit in m and ("could not record" in m or "internal error" in m) for m in records.messages)
                or any(d.state == pps_pb2.FAILED for d in client.pps.list_datum(job))
            ),
            what="the datum's end to reach the store",
        )
        filler.unlink()
        later.touch()
        [info] = client.pps.wait_job_done(job, reconnect_for=0)
        f0 = next(d.datum.id for d in client.pps.list_datum(job) if d.data[0].file.path == "/f0")
        assert info.state == pps_pb2.JOB_FAILURE, (info.state, info.reason)
        assert info.reason.startswith(f"datum {f0} failed: could not run: the disk holding {data_dir}"), info.reason
        assert "is full" in info.reason
        assert (info.data_processed, info.data_failed, info.data_total) == (3, 1, 4)
        assert info.reason in client.pfs.inspect_commit(job).error
        # With room again, the next commit's job runs every datum (nothing is skipped after a
        # failed job) and succeeds.
        client.pfs.put_file("in@master", "/f0", b"again\n")
        [again] = client.pps.wait_job_done(f"p@{client.pfs.inspect_commit('in@master').commit.id}")
        assert (again.state, again.data_processed, again.data_skipped) == (pps_pb2.JOB_SUCCESS, 4, 0)
    finally:
        runner_log.removeHandler(records)
        client.close()
