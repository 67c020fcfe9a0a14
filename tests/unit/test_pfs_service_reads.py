"""PFS file reads against a real SQLite file and a real blob directory (no mocks)."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from tests.unit.test_pfs_service import at, by_id, listing, put, read, repo, store, svc
from tuskd.domain.errors import InvalidArgument, NotFound
from tuskd.domain.pfs import CommitRef, FileType
from tuskd.services.pfs import PfsService

__all__ = ["store", "svc"]  # fixtures shared with test_pfs_service.py


# ===============================================================================================
# Files: reading
# ===============================================================================================


@pytest.fixture
def tree(svc: PfsService) -> CommitRef:
    svc.create_repo(repo())
    put(
        svc,
        at(repo()),
        {
            "/a/1.txt": b"one",
            "/a/2.csv": b"two",
            "/a/b/3.txt": b"three",
            "/c.txt": b"cee",
            "/a-b": b"dash",
        },
    )
    return at(repo())


def test_inspect_file_and_directory(svc: PfsService, tree: CommitRef) -> None:
    f = svc.inspect_file(tree, "/a/1.txt")
    assert (f.file_type, f.size_bytes, f.hash) == (FileType.FILE, 3, hashlib.sha256(b"one").hexdigest())
    assert f.committed is not None
    d = svc.inspect_file(tree, "/a")
    assert (d.path, d.file_type, d.size_bytes) == ("/a/", FileType.DIR, 11)
    root = svc.inspect_file(tree, "/")
    assert root.size_bytes == 18
    with pytest.raises(NotFound, match='file /nope not found in repo'):
        svc.inspect_file(tree, "/nope")


def test_list_file_children_in_path_order(svc: PfsService, tree: CommitRef) -> None:
    infos = list(svc.list_files(tree, "/"))
    assert [(i.path, i.file_type, i.size_bytes) for i in infos] == [
        ("/a-b", FileType.FILE, 4),
        ("/a/", FileType.DIR, 11),
        ("/c.txt", FileType.FILE, 3),
    ]
    assert listing(svc, tree, "/a") == ["/a/1.txt", "/a/2.csv", "/a/b/"]
    assert listing(svc, tree, "/a/1.txt") == ["/a/1.txt"]
    with pytest.raises(NotFound):
        listing(svc, tree, "/missing")


def test_list_file_pagination(svc: PfsService, tree: CommitRef) -> None:
    assert [i.path for i in svc.list_files(tree, "/", number=2)] == ["/a-b", "/a/"]
    assert [i.path for i in svc.list_files(tree, "/", marker="/a/")] == ["/c.txt"]
    assert [i.path for i in svc.list_files(tree, "/", marker="/a-b", number=1)] == ["/a/"]
    assert [i.path for i in svc.list_files(tree, "/", number=2, reverse=True)] == ["/c.txt", "/a/"]
    assert [i.path for i in svc.list_files(tree, "/", number=5, reverse=True, marker="/c.txt")] == ["/a/", "/a-b"]
    with pytest.raises(InvalidArgument):
        svc.list_files(tree, "/", reverse=True)
    with pytest.raises(InvalidArgument):
        svc.list_files(tree, "/", number=-1)


def test_walk_file_pre_order(svc: PfsService, tree: CommitRef) -> None:
    assert [i.path for i in svc.walk_files(tree)] == [
        "/",
        "/a-b",
        "/a/",
        "/a/1.txt",
        "/a/2.csv",
        "/a/b/",
        "/a/b/3.txt",
        "/c.txt",
    ]
    assert [i.path for i in svc.walk_files(tree, "/a/b")] == ["/a/b/", "/a/b/3.txt"]
    assert [i.path for i in svc.walk_files(tree, "/", number=3)] == ["/", "/a-b", "/a/"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/", ["/"]),
        ("/*", ["/a-b", "/a/", "/c.txt"]),
        ("/*/*", ["/a/1.txt", "/a/2.csv", "/a/b/"]),
        ("/a/*.txt", ["/a/1.txt"]),
        ("/**.txt", ["/a/1.txt", "/a/b/3.txt", "/c.txt"]),
        ("/a/{1.txt,b}", ["/a/1.txt", "/a/b/"]),
        ("/a/?.csv", ["/a/2.csv"]),
        ("/[ac]*", ["/a-b", "/a/", "/c.txt"]),
        ("/nothing*", []),
        ("/a/1.txt", ["/a/1.txt"]),
    ],
)
def test_glob_file(svc: PfsService, tree: CommitRef, pattern: str, expected: list[str]) -> None:
    assert [i.path for i in svc.glob_files(tree, pattern)] == expected


def test_glob_bad_pattern_is_invalid(svc: PfsService, tree: CommitRef) -> None:
    with pytest.raises(InvalidArgument):
        svc.glob_files(tree, "/[unclosed")


def test_get_file_offsets_directories_and_globs(svc: PfsService, tree: CommitRef) -> None:
    assert read(svc, tree, "/a/b/3.txt", offset=2) == b"ree"
    assert read(svc, tree, "/a") == b"onetwothree"
    assert read(svc, tree, "/a", offset=4) == b"wothree"
    assert read(svc, tree, "/**.txt") == b"onethreecee"
    assert read(svc, tree, "/*") == b"dashonetwothreecee"  # a matched directory brings its subtree once
    with pytest.raises(NotFound):
        read(svc, tree, "/missing")
    with pytest.raises(NotFound):
        read(svc, tree, "/none*")
    with pytest.raises(InvalidArgument):
        svc.get_file(tree, "/a", offset=-1)


def test_get_file_tar(svc: PfsService, tree: CommitRef) -> None:
    data = b"".join(svc.get_file_tar(tree, "/a"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["a", "a/1.txt", "a/2.csv", "a/b", "a/b/3.txt"]
        assert members["a/b"].isdir()
        extracted = tar.extractfile("a/b/3.txt")
        assert extracted is not None and extracted.read() == b"three"
    single = b"".join(svc.get_file_tar(tree, "/c.txt"))
    with tarfile.open(fileobj=io.BytesIO(single)) as tar:
        assert tar.getnames() == ["c.txt"]


def test_diff_file_against_parent_and_explicit_old(svc: PfsService, tree: CommitRef) -> None:
    base = svc.inspect_commit(tree)
    with svc.begin_modify(tree) as s:
        s.add_file("/a/1.txt", [b"ONE"])
        s.delete_file("/c.txt")
        s.add_file("/new", [b"n"])
    diffs = [(d.old.path if d.old else None, d.new.path if d.new else None) for d in svc.diff_files(tree)]
    assert diffs == [("/", "/"), ("/a/", "/a/"), ("/a/1.txt", "/a/1.txt"), ("/c.txt", None), (None, "/new")]
    shallow = [
        (d.old.path if d.old else None, d.new.path if d.new else None) for d in svc.diff_files(tree, "/a", shallow=True)
    ]
    assert shallow == [("/a/", "/a/"), ("/a/1.txt", "/a/1.txt")]
    assert list(svc.diff_files(tree, old=by_id(base), old_path="/a/b", new_path="/a/b")) == []
    first = svc.diff_files(CommitRef(repo(), id=base.commit.id))
    assert all(d.old is None for d in first)
