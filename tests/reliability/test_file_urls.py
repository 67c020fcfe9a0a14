"""AddFile ``file://`` URLs make the server read its own files: on by default, and a setting
(``allow_file_urls``, ``tusk serve --no-file-urls``) that turns them off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningServer, ServerProcess
from tusk import errors

pytestmark = pytest.mark.timeout(60)


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "server-only.txt"
    secret.write_text("a file only the server's host should see\n")
    return secret


def test_file_urls_read_server_files_by_default(make_server: object, tmp_path: Path) -> None:
    server: RunningServer = make_server()  # type: ignore[operator]
    secret = _secret(tmp_path)
    with server.client() as c:
        c.pfs.create_repo("r")
        c.pfs.put_file_url("r@master", "/got", f"file://{secret}")
        assert c.pfs.get_file_bytes("r@master", "/got") == secret.read_bytes()


def test_no_file_urls_refuses_them(
    make_server: object, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    secret = _secret(tmp_path)
    in_process: RunningServer = make_server(allow_file_urls=False)  # type: ignore[operator]
    cli = server_process("--no-file-urls", data_dir=tmp_path / "cli-data")
    for server in (in_process, cli):
        with server.client() as c:
            c.pfs.create_repo("r")
            with pytest.raises(errors.InvalidArgument, match="file:// URLs are disabled on this server"):
                c.pfs.put_file_url("r@master", "/got", f"file://{secret}")
            assert list(c.pfs.list_commit("r")) == []
            # Other sources still work.
            c.pfs.put_file("r@master", "/plain", b"sent by the client\n")
            assert c.pfs.get_file_bytes("r@master", "/plain") == b"sent by the client\n"
