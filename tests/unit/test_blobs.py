"""The local content-addressed blob store, on a real directory."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuskd.blobs.base import EMPTY_BLOB, BlobStore
from tuskd.blobs.local import LocalBlobStore
from tuskd.domain.errors import DataLoss, InvalidArgument, NotFound


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_is_a_blob_store(blobs: LocalBlobStore) -> None:
    assert isinstance(blobs, BlobStore)


def test_put_stream_names_blob_by_sha256_and_reads_back(blobs: LocalBlobStore) -> None:
    ref = blobs.put_stream([b"hello ", b"", b"world"])
    assert ref.hash == hashlib.sha256(b"hello world").hexdigest()
    assert ref.size == 11
    assert blobs.exists(ref.hash)
    assert blobs.size(ref.hash) == 11
    with blobs.open(ref.hash) as f:
        assert f.read() == b"hello world"
    assert b"".join(blobs.read_chunks(ref.hash, offset=6, chunk_size=2)) == b"world"
    assert list(blobs.read_chunks(ref.hash, chunk_size=4)) == [b"hell", b"o wo", b"rld"]


def test_blob_path_is_fanned_out_and_read_only(blobs: LocalBlobStore) -> None:
    ref = blobs.put_bytes(b"data")
    path = blobs.path(ref.hash)
    assert path.parent.name == ref.hash[2:4]
    assert path.parent.parent.name == ref.hash[:2]
    assert path.read_bytes() == b"data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_hardlinking_a_blob_shares_the_inode(blobs: LocalBlobStore, tmp_path: Path) -> None:
    ref = blobs.put_bytes(b"shared")
    link = tmp_path / "datum" / "file"
    link.parent.mkdir()
    os.link(blobs.path(ref.hash), link)
    assert link.stat().st_ino == blobs.path(ref.hash).stat().st_ino
    assert link.read_bytes() == b"shared"


def test_identical_content_is_stored_once(blobs: LocalBlobStore) -> None:
    a = blobs.put_bytes(b"same bytes")
    b = blobs.put_stream([b"same ", b"bytes"])
    assert a == b
    objects = all_files(blobs.root / "objects")
    assert len(objects) == 1
    assert all_files(blobs.root / "tmp") == []


def test_empty_blob(blobs: LocalBlobStore) -> None:
    assert blobs.put_stream([]) == EMPTY_BLOB
    assert blobs.size(EMPTY_BLOB.hash) == 0


def test_stream_that_raises_leaves_no_blob_and_no_temp_file(blobs: LocalBlobStore) -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial content"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        blobs.put_stream(broken())
    assert all_files(blobs.root) == []
    assert not blobs.exists(hashlib.sha256(b"partial content").hexdigest())


def test_unknown_and_malformed_names(blobs: LocalBlobStore) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not blobs.exists(missing)
    with pytest.raises(NotFound):
        blobs.open(missing)
    with pytest.raises(NotFound):
        blobs.size(missing)
    with pytest.raises(InvalidArgument):
        blobs.path("../../etc/passwd")


def test_concurrent_puts_of_the_same_content(blobs: LocalBlobStore) -> None:
    payload = os.urandom(256 * 1024)
    refs = []

    def put() -> None:
        refs.append(blobs.put_stream(payload[i : i + 4096] for i in range(0, len(payload), 4096)))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(refs)) == 1
    assert blobs.path(refs[0].hash).read_bytes() == payload
    assert len(all_files(blobs.root / "objects")) == 1
    assert all_files(blobs.root / "tmp") == []


def test_deferred_durability_is_completed_by_flush(blobs: LocalBlobStore) -> None:
    refs = [blobs.put_bytes(f"small {i}".encode(), durable=False) for i in range(20)]
    # Complete content is visible under each name at once; flush makes the names durable.
    for i, ref in enumerate(refs):
        assert blobs.path(ref.hash).read_bytes() == f"small {i}".encode()
    assert blobs._dirty
    blobs.flush()
    assert not blobs._dirty
    blobs.flush()  # nothing left to do


def test_stale_temp_files_are_removed_at_open(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    LocalBlobStore(root)
    stale = root / "tmp" / "put-crashed"
    stale.write_bytes(b"half")
    os.utime(stale, (1, 1))
    fresh = root / "tmp" / "put-live"
    fresh.write_bytes(b"in progress")
    LocalBlobStore(root)
    assert not stale.exists()
    assert fresh.exists()


def test_fifty_megabytes_stream_in_bounded_memory(blobs: LocalBlobStore) -> None:
    chunk = 1 << 20
    total = 50

    def generate() -> Iterator[bytes]:
        for i in range(total):
            yield bytes([i % 251]) * chunk

    tracemalloc.start()
    try:
        ref = blobs.put_stream(generate())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref.size == total * chunk
    # One chunk in flight (plus small change), never the whole stream.
    assert peak < 4 * chunk, f"peak traced memory {peak} bytes"
    expected = hashlib.sha256()
    for i in range(total):
        expected.update(bytes([i % 251]) * chunk)
    assert ref.hash == expected.hexdigest()


def test_content_that_no_longer_matches_its_hash_is_data_loss(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    ref = store.put_bytes(b"original content" * 1000)
    assert store.verify(ref.hash) is True
    assert b"".join(store.read_chunks(ref.hash, chunk_size=4096)) == b"original content" * 1000
    store.check(ref.hash)  # verified and unchanged: no hash, no error
    path = store.path(ref.hash)
    path.chmod(0o644)
    path.write_bytes(b"tampered content" * 1000)  # same size, new mtime
    assert store.verify(ref.hash) is False
    with pytest.raises(DataLoss, match=f"blob {ref.hash} is corrupt"):
        store.check(ref.hash)
    with pytest.raises(DataLoss):
        b"".join(store.read_chunks(ref.hash, chunk_size=4096))  # the whole read, hashed as it streams
    with pytest.raises(DataLoss):
        b"".join(store.read_chunks(ref.hash, offset=10))  # a read from an offset: hashed first
    with pytest.raises(NotFound):
        store.verify("0" * 64)
    # A fresh store (a restarted server) knows nothing and hashes again.
    assert LocalBlobStore(tmp_path / "blobs").verify(ref.hash) is False
