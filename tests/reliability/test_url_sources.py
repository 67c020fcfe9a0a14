"""AddFile URL sources and egress sinks are bounded (issue 12, item 10).

* ``file://`` reads only under the directories the operator allows (none by default), never a
  special file, never a path that resolves into the data directory;
* ``http(s)://`` bodies are cut at a size limit and a time limit, leaving nothing in blobs/tmp;
* egress never writes into the data directory.

Real servers, a real HTTP server on 127.0.0.1 (stdlib, in a thread), real jobs.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer, ServerProcess
from tests.integration.test_engine import create_repo, make_spec, pfs_in, put, wait_job
from tusk import errors
from tuskd.domain.errors import InvalidArgument as DomainInvalidArgument
from tuskd.domain.states import JobState

pytestmark = pytest.mark.timeout(60)


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "server-only.txt"
    secret.write_text("a file only the server's host should see\n")
    return secret


def _put_url(server: RunningServer | ServerProcess, url: str, recursive: bool = False) -> None:
    with server.client() as c:
        c.pfs.put_file_url("r@master", "/got", url, recursive=recursive)


def _with_repo(server: RunningServer | ServerProcess) -> None:
    with server.client() as c:
        c.pfs.create_repo("r")


# -- file:// --------------------------------------------------------------------------------


def test_file_urls_are_refused_by_default(
    make_server: object, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    secret = _secret(tmp_path)
    in_process: RunningServer = make_server()  # type: ignore[operator]
    cli = server_process(data_dir=tmp_path / "cli-data")
    for server in (in_process, cli):
        _with_repo(server)
        with pytest.raises(errors.InvalidArgument, match=r"file:// URLs are disabled on this server.*--file-url-dir"):
            _put_url(server, f"file://{secret}")
        with server.client() as c:
            assert list(c.pfs.list_commit("r")) == []
            c.pfs.put_file("r@master", "/plain", b"sent by the client\n")  # other sources still work
            assert c.pfs.get_file_bytes("r@master", "/plain") == b"sent by the client\n"


def test_file_urls_read_only_under_allowed_dirs(
    make_server: object, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "a.txt").write_bytes(b"alpha")
    secret = _secret(tmp_path)
    (allowed / "link").symlink_to(secret)
    (allowed / "dirlink").symlink_to(tmp_path)
    (allowed / "inner-link").symlink_to(allowed / "sub" / "a.txt")
    in_process: RunningServer = make_server(file_url_dirs=(allowed,))  # type: ignore[operator]
    cli = server_process(env={"TUSK_FILE_URL_DIRS": str(allowed)}, data_dir=tmp_path / "cli-data")
    for server in (in_process, cli):
        _with_repo(server)
        _put_url(server, f"file://{allowed}/sub/a.txt")
        with server.client() as c:
            assert c.pfs.get_file_bytes("r@master", "/got") == b"alpha"
        _put_url(server, f"file://{allowed}/inner-link")  # a link that stays inside is followed
        with server.client() as c:
            assert c.pfs.get_file_bytes("r@master", "/got") == b"alpha"
        for outside in (str(secret), f"{allowed}/../{secret.name}", f"{allowed}/link", f"{allowed}/dirlink/{secret.name}"):
            with pytest.raises(errors.InvalidArgument, match="not under a directory this server allows"):
                _put_url(server, f"file://{outside}")
        # A recursive add skips nothing silently: a symlink inside the tree is refused.
        with pytest.raises(errors.InvalidArgument, match="symbolic link"):
            _put_url(server, f"file://{allowed}", recursive=True)
        _put_url(server, f"file://{allowed}/sub", recursive=True)
        with server.client() as c:
            assert c.pfs.get_file_bytes("r@master", "/got/a.txt") == b"alpha"


def test_file_urls_never_read_the_data_directory(make_server: object, tmp_path: Path) -> None:
    server: RunningServer = make_server(file_url_dirs=(tmp_path,))  # type: ignore[operator]
    _with_repo(server)
    with pytest.raises(errors.InvalidArgument, match="data directory"):
        _put_url(server, f"file://{server.deps.config.data_dir}/metadata.db")


def test_file_urls_refuse_special_files(make_server: object, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # a read would block until a writer comes: it never does
    server: RunningServer = make_server(file_url_dirs=(Path("/"),))  # type: ignore[operator]
    _with_repo(server)
    for special in (str(fifo), "/dev/zero", "/dev/null"):
        with pytest.raises(errors.FailedPrecondition, match="not a regular file"):
            _put_url(server, f"file://{special}")
    if os.path.exists("/proc/kmsg") and os.access("/proc/kmsg", os.R_OK):
        # A regular file of procfs whose read blocks until the kernel logs something.
        with pytest.raises(errors.FailedPrecondition, match="would block"):
            _put_url(server, "file:///proc/kmsg")
    with server.client() as c:
        assert list(c.pfs.list_commit("r")) == []
        assert c.health() == "SERVING"


# -- http:// --------------------------------------------------------------------------------


class _Endless(http.server.BaseHTTPRequestHandler):
    """``/fast``: an endless body as fast as it goes; ``/slow``: one byte every 50 ms forever."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        chunk = b"x" * (64 * 1024) if self.path == "/fast" else b"x"
        try:
            while True:
                self.wfile.write(chunk)
                self.wfile.flush()
                if self.path != "/fast":
                    time.sleep(0.05)
        except OSError:
            return  # the tusk server hung up: what we want

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endless_http() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _tmp_blobs(server: RunningServer) -> list[str]:
    return os.listdir(server.deps.config.data_dir / "blobs" / "tmp")


def test_endless_http_body_stops_at_the_size_limit(make_server: object, endless_http: str) -> None:
    server: RunningServer = make_server(url_max_bytes=4 * 1024 * 1024)  # type: ignore[operator]
    _with_repo(server)
    with pytest.raises(errors.ResourceExhausted, match=r"more than the limit of 4194304 bytes.*--url-max-bytes"):
        _put_url(server, f"{endless_http}/fast")
    assert _tmp_blobs(server) == []
    with server.client() as c:
        assert list(c.pfs.list_commit("r")) == []


def test_slow_http_body_stops_at_the_time_limit(make_server: object, endless_http: str) -> None:
    server: RunningServer = make_server(url_timeout=1.0)  # type: ignore[operator]
    _with_repo(server)
    with pytest.raises(errors.DeadlineExceeded, match=r"took longer than the limit of 1s.*--url-timeout"):
        _put_url(server, f"{endless_http}/slow")
    assert _tmp_blobs(server) == []


def test_url_limits_are_serve_flags(server_process: Callable[..., ServerProcess], endless_http: str) -> None:
    sp = server_process("--url-max-bytes", "1048576", "--url-timeout", "30")
    _with_repo(sp)
    with pytest.raises(errors.ResourceExhausted, match="more than the limit of 1048576 bytes"):
        _put_url(sp, f"{endless_http}/fast")


# -- egress ---------------------------------------------------------------------------------


def test_egress_into_the_data_directory_is_refused(server: RunningServer) -> None:
    create_repo(server, "images")
    blobs = server.deps.config.data_dir / "blobs" / "objects"
    with pytest.raises(DomainInvalidArgument, match="data directory") as info:
        server.deps.pipelines.create(make_spec("eg", "true", pfs_in("images"), egress_url=f"file://{blobs}"))
    assert info.value.metadata["field"] == "egress.URL"


def test_egress_through_a_symlink_into_the_data_directory_fails_the_job(server: RunningServer, tmp_path: Path) -> None:
    target = tmp_path / "egress"
    target.mkdir()
    data_dir = server.deps.config.data_dir
    (target / "sub").symlink_to(data_dir / "blobs")
    before = sorted(p.name for p in (data_dir / "blobs").iterdir())
    create_repo(server, "images")
    server.deps.pipelines.create(
        make_spec("eg", 'mkdir -p /pfs/out/sub; cp "$images" /pfs/out/sub/', pfs_in("images"), egress_url=f"file://{target}")
    )
    c = put(server, "images", {"/a": b"alpha"})
    j = wait_job(server, "eg", c)
    assert j.state == JobState.JOB_FAILURE
    assert "data directory" in j.reason
    assert sorted(p.name for p in (data_dir / "blobs").iterdir()) == before


def test_nul_in_a_url_path_is_invalid_argument(make_server: object, tmp_path: Path) -> None:
    server: RunningServer = make_server(file_url_dirs=(tmp_path,))  # type: ignore[operator]
    _with_repo(server)
    with pytest.raises(errors.InvalidArgument, match="NUL"):
        _put_url(server, f"file://{tmp_path}/a%00b")
    with server.client() as c:
        c.pfs.create_repo("images")
        spec = {
            "pipeline": {"name": "eg"},
            "transform": {"cmd": ["true"]},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
            "egress": {"URL": f"file://{tmp_path}/a%00b"},
        }
        with pytest.raises(errors.InvalidArgument, match="egress URL"):
            c.pps.create_pipeline(spec)
