"""The S3 blob store answers for the bucket, not its cache, and owns its cache directory.

* A put of content whose object was deleted from the bucket uploads it again, although the
  local cache still holds a copy (a cached copy is not a stored blob).
* ``exists`` and ``size`` ask the bucket.
* A full disk under the cache (the spool of a put, the download of a read) is
  RESOURCE_EXHAUSTED with reason DISK_FULL, as for the local store, never a bare OSError.
* Two stores (two servers) on one cache directory: the second is refused with a clear
  FailedPrecondition until the first is closed.

SeaweedFS is the S3 server (a real one); the full disk is a tmpfs (root only) filled to its last MiB.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.test_blob_contract import s3_store
from tests.reliability.test_full_disk import free_bytes, small_disk  # noqa: F401 (small_disk: a fixture)
from tests.s3servers import S3Server
from tuskd.blobs.cache import BlobCache
from tuskd.blobs.s3 import S3BlobStore
from tuskd.domain.errors import FailedPrecondition, NotFound, ResourceExhausted

pytestmark = pytest.mark.timeout(120)

MiB = 1024 * 1024


def _delete(server: S3Server, store: S3BlobStore, blob: str) -> None:
    server.client().delete_object(Bucket=server.bucket, Key=store.key(blob))


def test_a_put_uploads_again_what_the_bucket_lost(seaweedfs: S3Server, tmp_path: Path, aws_credentials: None) -> None:
    store = s3_store(seaweedfs, f"truth/{uuid.uuid4().hex}", tmp_path / "cache")
    ref = store.put_bytes(b"deleted from the bucket, kept in the cache")
    _delete(seaweedfs, store, ref.hash)
    assert store.cache.holds(ref.hash)
    assert store.exists(ref.hash) is False  # the bucket's answer, not the cache's
    with pytest.raises(NotFound):
        store.size(ref.hash)
    again = store.put_bytes(b"deleted from the bucket, kept in the cache")
    assert again == ref
    head = seaweedfs.client().head_object(Bucket=seaweedfs.bucket, Key=store.key(ref.hash))
    assert head["ContentLength"] == ref.size
    assert store.exists(ref.hash) and store.size(ref.hash) == ref.size


def _leave_free(disk: Path, room: int) -> None:
    """Take all but ``room`` bytes of the disk holding ``disk``."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, free_bytes(disk) - room)
    finally:
        os.close(fd)


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_a_full_cache_disk_is_resource_exhausted(
    seaweedfs: S3Server, request: pytest.FixtureRequest, tmp_path: Path, aws_credentials: None
) -> None:
    disk: Path = request.getfixturevalue("small_disk")  # a 64 MiB tmpfs (test_full_disk.py)
    prefix = f"full/{uuid.uuid4().hex}"
    store = s3_store(seaweedfs, prefix, disk / "cache")
    _leave_free(disk, MiB)
    data = os.urandom(2 * MiB)  # twice the room left
    with pytest.raises(ResourceExhausted, match=f"the disk holding {disk / 'cache'} is full") as caught:
        store.put_stream(_chunks(data))
    assert caught.value.reason == "DISK_FULL"
    assert list((disk / "cache" / "tmp").iterdir()) == []  # the spool went with the put
    assert not store.exists(hashlib.sha256(data).hexdigest())
    # A read that has to download more than the disk holds: the same error.
    ref = s3_store(seaweedfs, prefix, tmp_path / "writer").put_bytes(data)
    with pytest.raises(ResourceExhausted) as caught:
        b"".join(store.read_chunks(ref.hash))
    assert caught.value.reason == "DISK_FULL"
    assert list((disk / "cache" / "tmp").iterdir()) == []
    # What fits still works.
    assert store.put_bytes(b"small").size == 5


def test_one_cache_directory_serves_one_store(seaweedfs: S3Server, tmp_path: Path, aws_credentials: None) -> None:
    first = s3_store(seaweedfs, f"lock/{uuid.uuid4().hex}", tmp_path / "cache")
    ref = first.put_bytes(b"the first store's")
    with pytest.raises(FailedPrecondition, match=r"blob cache directory .* is in use by another tusk server") as caught:
        BlobCache(tmp_path / "cache", MiB)
    assert caught.value.reason == "BLOB_CACHE_IN_USE"
    assert "give each server its own --blob-cache-dir" in str(caught.value)
    assert first.cache.holds(ref.hash)  # the refused one removed nothing
    first.close()
    again = BlobCache(tmp_path / "cache", MiB)  # free once the first is closed
    assert again.holds(ref.hash)
    again.close()
