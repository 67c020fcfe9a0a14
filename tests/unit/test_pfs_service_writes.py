"""PFS file writes (modify sessions) against a real SQLite file and a real blob directory (no mocks)."""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_pfs_service import at, by_id, listing, put, read, repo, store, svc
from tuskd.domain.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.pfs import BranchKey, CommitRef, CommitState, FileType, OriginKind
from tuskd.services.pfs import PfsService
from tuskd.services.url_sources import UrlLimits

__all__ = ["store", "svc"]  # fixtures shared with test_pfs_service.py


# ===============================================================================================
# Files: writing
# ===============================================================================================


def test_put_to_a_branch_opens_and_finishes_one_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    info = put(svc, at(repo()), {"/dir/a.txt": b"hello", "b.txt": b"world"})
    assert info.state == CommitState.FINISHED and info.origin == OriginKind.USER
    assert len(list(svc.list_commits(repo()))) == 1
    assert read(svc, at(repo()), "/dir/a.txt") == b"hello"
    assert read(svc, at(repo()), "b.txt") == b"world"
    assert info.size_bytes == 10


def test_writes_to_an_open_head_land_in_that_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    put(svc, at(repo()), {"/a": b"1"})
    put(svc, by_id(c), {"/b": b"2"})
    assert len(list(svc.list_commits(repo()))) == 1
    assert svc.inspect_commit(by_id(c)).state == CommitState.STARTED
    assert listing(svc, by_id(c)) == ["/a", "/b"]  # an open commit is readable
    svc.finish_commit(by_id(c))
    assert listing(svc, at(repo())) == ["/a", "/b"]


def test_writing_a_finished_commit_is_failed_precondition(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = put(svc, at(repo()), {"/a": b"1"})
    with pytest.raises(FailedPrecondition, match="finished"):
        svc.begin_modify(by_id(c))


def test_same_path_twice_last_write_wins_and_append_appends(svc: PfsService) -> None:
    svc.create_repo(repo())
    with svc.begin_modify(at(repo())) as s:
        s.add_file("/f", [b"one"])
        s.add_file("/f", [b"two"])
        s.add_file("/log", [b"a"])
        s.add_file("/log", [b"b", b"c"], append=True)
    assert read(svc, at(repo()), "/f") == b"two"
    assert read(svc, at(repo()), "/log") == b"abc"
    put(svc, at(repo()), {})
    with svc.begin_modify(at(repo())) as s:
        s.add_file("/log", [b"d"], append=True)
        s.add_file("/new", [b"n"], append=True)
    assert read(svc, at(repo()), "/log") == b"abcd"
    assert read(svc, at(repo()), "/new") == b"n"


def test_append_rechecks_content_changed_by_another_writer(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    put(svc, by_id(c), {"/log": b"a"})
    session = svc.begin_modify(by_id(c))
    session.add_file("/log", [b"!"], append=True)  # computed against "a"
    put(svc, by_id(c), {"/log": b"changed"})  # someone else rewrites it first
    session.commit()
    assert read(svc, by_id(c), "/log") == b"changed!"


def test_delete_file_and_directory_subtree(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/d/a": b"1", "/d/e/b": b"2", "/keep": b"3", "/d-x": b"4"})
    with svc.begin_modify(at(repo())) as s:
        s.delete_file("/d")
        s.delete_file("/does/not/exist")  # deleting nothing is not an error
    assert listing(svc, at(repo())) == ["/d-x", "/keep"]
    with svc.begin_modify(at(repo())) as s:
        s.add_file("/d/again", [b"5"])
        s.delete_file("/")
        s.add_file("/only", [b"6"])
    assert listing(svc, at(repo())) == ["/only"]


def test_delete_then_add_in_one_session_applies_in_order(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"old"})
    with svc.begin_modify(at(repo())) as s:
        s.delete_file("/a")
        s.add_file("/a", [b"new"])
        s.add_file("/b", [b"x"])
        s.delete_file("/b")
    assert read(svc, at(repo()), "/a") == b"new"
    assert listing(svc, at(repo())) == ["/a"]


def test_copy_file_and_directory(svc: PfsService) -> None:
    svc.create_repo(repo())
    svc.create_repo(repo("other"))
    src = put(svc, at(repo("other")), {"/src/a": b"A", "/src/sub/b": b"B", "/one": b"1"})
    put(svc, at(repo()), {"/dst/old": b"o"})
    with svc.begin_modify(at(repo())) as s:
        s.copy_file("/dst", by_id(src), "/src")
        s.copy_file("/single", by_id(src), "/one")
        s.copy_file("/dst/old", by_id(src), "/one", append=True)
    assert [f.path for f in svc.walk_files(at(repo()), "/dst")] == [
        "/dst/",
        "/dst/a",
        "/dst/old",
        "/dst/sub/",
        "/dst/sub/b",
    ]
    assert read(svc, at(repo()), "/single") == b"1"
    assert read(svc, at(repo()), "/dst/old") == b"o1"
    assert read(svc, at(repo()), "/dst/sub/b") == b"B"
    with pytest.raises(NotFound), svc.begin_modify(at(repo())) as s:
        s.copy_file("/x", by_id(src), "/missing")


def test_add_file_from_file_urls(svc: PfsService, tmp_path: Path) -> None:
    svc.url_limits = UrlLimits(file_dirs=(tmp_path,))
    svc.create_repo(repo())
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_bytes(b"A")
    (tmp_path / "in" / "sub" / "b.txt").write_bytes(b"B")
    with svc.begin_modify(at(repo())) as s:
        s.add_file_url("/single", (tmp_path / "in" / "a.txt").as_uri())
        s.add_file_url("/tree", (tmp_path / "in").as_uri(), recursive=True)
    assert read(svc, at(repo()), "/single") == b"A"
    assert [f.path for f in svc.walk_files(at(repo()), "/tree")] == [
        "/tree/",
        "/tree/a.txt",
        "/tree/sub/",
        "/tree/sub/b.txt",
    ]
    session = svc.begin_modify(at(repo()))
    with pytest.raises(InvalidArgument, match="recursive"):
        session.add_file_url("/x", (tmp_path / "in").as_uri())
    with pytest.raises(NotFound):
        session.add_file_url("/x", (tmp_path / "missing").as_uri())
    with pytest.raises(InvalidArgument, match="scheme"):
        session.add_file_url("/x", "s3://bucket/key")
    session.abort()


def test_add_file_from_a_localhost_http_url(svc: PfsService, tmp_path: Path) -> None:
    import functools
    import http.server

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "data.csv").write_bytes(b"a,b\n1,2\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        svc.create_repo(repo())
        with svc.begin_modify(at(repo())) as s:
            s.add_file_url("/data.csv", f"{base}/data.csv")
        assert read(svc, at(repo()), "/data.csv") == b"a,b\n1,2\n"
        session = svc.begin_modify(at(repo()))
        with pytest.raises(FailedPrecondition, match="HTTP 404"):
            session.add_file_url("/x", f"{base}/missing")
        session.abort()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_abort_or_exception_leaves_the_commit_exactly_as_it_was(svc: PfsService) -> None:
    svc.create_repo(repo())
    before = put(svc, at(repo()), {"/a": b"1"})
    with pytest.raises(RuntimeError), svc.begin_modify(at(repo())) as s:
        s.add_file("/b", [b"2"])
        s.delete_file("/a")
        raise RuntimeError("client went away")

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionError("stream aborted")

    session = svc.begin_modify(at(repo()))
    session.add_file("/c", [b"3"])
    with pytest.raises(ConnectionError):
        session.add_file("/d", broken())
    session.abort()
    with pytest.raises(FailedPrecondition):
        session.commit()
    assert svc.inspect_commit(at(repo())).commit == before.commit
    assert len(list(svc.list_commits(repo()))) == 1
    assert listing(svc, at(repo())) == ["/a"]


def test_session_given_up_at_the_last_moment_applies_nothing(svc: PfsService) -> None:
    svc.create_repo(repo())
    before = put(svc, at(repo()), {"/a": b"1"})
    session = svc.begin_modify(at(repo()))
    session.add_file("/b", [b"2"])
    with pytest.raises(Aborted, match="cancelled"):
        session.commit(still_wanted=lambda: False)  # e.g. the gRPC client went away
    assert svc.inspect_commit(at(repo())).commit == before.commit
    assert listing(svc, at(repo())) == ["/a"]


def test_failed_apply_rolls_back_everything(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"1"})
    with pytest.raises(FailedPrecondition, match="both a file and a directory"), svc.begin_modify(at(repo())) as s:
        s.add_file("/fine", [b"ok"])
        s.add_file("/a/b", [b"2"])  # /a is a file
    assert len(list(svc.list_commits(repo()))) == 1
    assert listing(svc, at(repo())) == ["/a"]


def test_path_collisions(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/dir/x": b"1"})
    with pytest.raises(FailedPrecondition, match="/dir"):
        put(svc, at(repo()), {"/dir": b"file over a directory"})
    with pytest.raises(FailedPrecondition):
        put(svc, at(repo()), {"/p": b"1", "/p/q": b"2"})
    with svc.begin_modify(at(repo())) as s:  # replacing the directory is fine
        s.delete_file("/dir")
        s.add_file("/dir", [b"now a file"])
    assert read(svc, at(repo()), "/dir") == b"now a file"


@pytest.mark.parametrize("bad", ["/../x", "a\x00b", "/", "", "/" + "n" * 300, "/a" * 2100])
def test_bad_file_paths_are_invalid_argument(svc: PfsService, bad: str) -> None:
    svc.create_repo(repo())
    session = svc.begin_modify(at(repo()))
    with pytest.raises(InvalidArgument):
        session.add_file(bad, [b"x"])
    session.abort()


def test_paths_are_normalised_on_write_and_read(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"a//b/": b"x"})
    assert read(svc, at(repo()), "/a/b") == b"x"
    assert read(svc, at(repo()), "a/./b") == b"x"
    assert svc.inspect_file(at(repo()), "//a//").file_type == FileType.DIR


def test_modify_unknown_targets(svc: PfsService) -> None:
    with pytest.raises(NotFound, match='repo default/nope not found'):
        svc.begin_modify(at(repo("nope")))
    svc.create_repo(repo())
    with pytest.raises(NotFound):
        svc.begin_modify(CommitRef(repo(), id="0123456789abcdef0123456789abcdef"))


def test_fifty_megabyte_put_streams_in_bounded_memory(svc: PfsService) -> None:
    svc.create_repo(repo())
    chunk = 1 << 20

    def generate() -> Iterator[bytes]:
        for i in range(50):
            yield bytes([i]) * chunk

    tracemalloc.start()
    try:
        info = svc.put_file(at(repo()), "/big", generate())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * chunk, f"peak traced memory {peak}"
    assert info.size_bytes == 50 * chunk
    digest = hashlib.sha256()
    for part in svc.get_file(at(repo()), "/big"):
        assert len(part) <= chunk
        digest.update(part)
    expected = hashlib.sha256()
    for i in range(50):
        expected.update(bytes([i]) * chunk)
    assert digest.hexdigest() == expected.hexdigest()
