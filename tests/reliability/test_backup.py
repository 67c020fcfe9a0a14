"""The online backup of docs/operations.md: SQLite's backup API for the metadata, then a copy of
the blobs, taken while the server runs and writes; a server started on the copy has everything
the backup saw."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.reliability.common import put_files, tree
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]


def test_online_backup_restores(tmp_path: Path, server_process: Callable[..., ServerProcess]) -> None:
    live, restored = tmp_path / "live", tmp_path / "restored"
    first = server_process(data_dir=live)
    with first.client() as c:
        c.pfs.create_repo("images")
        c.pps.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "transform": {"cmd": ["sh", "-c", 'cp "$images" /pfs/out/']},
                "input": {"pfs": {"repo": "images", "glob": "/*"}},
            }
        )
        commits = [put_files(c, "images", {f"/img{i}": f"image {i}\n".encode() * 1000}) for i in range(3)]
        [job] = c.pps.wait_job_done(f"copy@{commits[-1]}")
        assert job.state == pps_pb2.JOB_SUCCESS
        expected = {cid: tree(c, f"images@{cid}") for cid in commits}

        # Writes keep coming while the backup runs.
        stop = threading.Event()

        def writer() -> None:
            n = 0
            while not stop.is_set():
                c.pfs.put_file("images@master", f"/during{n}", b"written during the backup\n")
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            restored.mkdir()
            src, dst = sqlite3.connect(live / "metadata.db"), sqlite3.connect(restored / "metadata.db")
            try:
                src.backup(dst)  # first the metadata ...
            finally:
                src.close()
                dst.close()
            shutil.copytree(live / "blobs" / "objects", restored / "blobs" / "objects")  # ... then the blobs
        finally:
            stop.set()
            thread.join()

    second = server_process(data_dir=restored)
    with second.client() as c:
        for cid, files in expected.items():
            assert tree(c, f"images@{cid}") == files
        assert tree(c, f"copy@{commits[-1]}") == expected[commits[-1]]
        assert c.pps.inspect_job(f"copy@{commits[-1]}").state == pps_pb2.JOB_SUCCESS
        # Whatever the backup caught of the concurrent writes is whole: every file it names reads back.
        head = c.pfs.inspect_commit("images@master").commit.id
        for path, data in tree(c, f"images@{head}").items():
            if path.startswith("/during"):
                assert data == b"written during the backup\n"
