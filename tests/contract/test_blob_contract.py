"""The BlobStore contract, run on every implementation: the local directory, S3 on a real
SeaweedFS, and S3 on moto (the mock the fault tests use, so they test a store that works).

Each S3 case uses its own key prefix in the session's bucket and its own cache directory;
credentials come from the AWS environment variables (the standard chain).
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.s3servers import REGION, S3Server
from tuskd.blobs.base import EMPTY_BLOB, BlobStore
from tuskd.blobs.cache import BlobCache
from tuskd.blobs.local import LocalBlobStore
from tuskd.blobs.s3 import S3BlobStore
from tuskd.config import S3Location
from tuskd.domain.errors import DataLoss, InvalidArgument, NotFound

pytestmark = pytest.mark.timeout(120)

MiB = 1024 * 1024


@dataclass
class Backend:
    name: str
    store: BlobStore
    # A store over the same blobs with nothing cached (the local store is its own).
    fresh: Callable[[], BlobStore]
    # Replace the stored content of a blob with other bytes (as a disk or bucket fault would).
    corrupt: Callable[[str, bytes], None]


def _local(tmp_path: Path) -> Backend:
    store = LocalBlobStore(tmp_path / "blobs")

    def corrupt(blob: str, data: bytes) -> None:
        path = store.path(blob)
        os.chmod(path, 0o644)
        path.write_bytes(data)

    return Backend("local", store, lambda: store, corrupt)


def s3_store(server: S3Server, prefix: str, cache_dir: Path, cache_bytes: int = 64 * MiB) -> S3BlobStore:
    location = S3Location(bucket=server.bucket, prefix=prefix, endpoint=server.endpoint, region=REGION)
    return S3BlobStore(location, BlobCache(cache_dir, cache_bytes))


def _s3(server: S3Server, tmp_path: Path) -> Backend:
    prefix = f"contract/{uuid.uuid4().hex}"
    store = s3_store(server, prefix, tmp_path / "cache")
    caches = iter(range(1, 1000))

    def fresh() -> BlobStore:
        return s3_store(server, prefix, tmp_path / f"cache{next(caches)}")

    def corrupt(blob: str, data: bytes) -> None:
        server.client().put_object(Bucket=server.bucket, Key=store.key(blob), Body=data)

    return Backend(server.endpoint, store, fresh, corrupt)


@pytest.fixture(params=["local", "seaweedfs", "moto"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, aws_credentials: None) -> Backend:
    if request.param == "local":
        return _local(tmp_path)
    server: S3Server = request.getfixturevalue("seaweedfs" if request.param == "seaweedfs" else "moto_s3")
    return _s3(server, tmp_path)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


# -- put, read, exists, size ----------------------------------------------------------------


def test_put_then_read_back(backend: Backend) -> None:
    ref = backend.store.put_bytes(b"hello blobs")
    assert ref.hash == sha(b"hello blobs") and ref.size == 11
    backend.store.flush()
    for store in (backend.store, backend.fresh()):
        assert store.exists(ref.hash)
        assert store.size(ref.hash) == 11
        with store.open(ref.hash) as f:
            assert f.read() == b"hello blobs"
        assert b"".join(store.read_chunks(ref.hash)) == b"hello blobs"
        assert b"".join(store.read_chunks(ref.hash, offset=6)) == b"blobs"
        assert store.verify(ref.hash)
        store.check(ref.hash)


def test_empty_blob(backend: Backend) -> None:
    ref = backend.store.put_stream(iter(()))
    assert ref == EMPTY_BLOB
    store = backend.fresh()
    assert store.size(ref.hash) == 0
    assert b"".join(store.read_chunks(ref.hash)) == b""


def test_streams_larger_than_a_chunk(backend: Backend) -> None:
    data = os.urandom(3 * MiB + 12345)  # more than READ_CHUNK (1 MiB), not a multiple of it
    ref = backend.store.put_stream(chunks_of(data, 64 * 1024), durable=False)
    backend.store.flush()
    assert ref.hash == sha(data) and ref.size == len(data)
    store = backend.fresh()
    got = list(store.read_chunks(ref.hash, chunk_size=MiB))
    assert [len(c) for c in got] == [MiB, MiB, MiB, 12345]
    assert b"".join(got) == data
    assert b"".join(store.read_chunks(ref.hash, offset=2 * MiB + 7)) == data[2 * MiB + 7 :]


def test_identical_content_is_stored_once(backend: Backend) -> None:
    first = backend.store.put_bytes(b"same")
    second = backend.store.put_stream(iter([b"sa", b"", b"me"]))
    assert first == second


def test_a_stream_that_fails_stores_nothing(backend: Backend) -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial content"
        raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        backend.store.put_stream(broken())
    assert not backend.store.exists(sha(b"partial content"))
    assert not backend.fresh().exists(sha(b"partial content"))


def test_concurrent_puts_of_the_same_content(backend: Backend) -> None:
    data = os.urandom(2 * MiB)
    refs: list[object] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            refs.append(backend.store.put_stream(chunks_of(data, 256 * 1024)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(refs) == 6 and len(set(refs)) == 1
    store = backend.fresh()
    assert b"".join(store.read_chunks(sha(data))) == data
    assert store.verify(sha(data))


# -- materialize ----------------------------------------------------------------------------


def test_materialize_links_or_copies(backend: Backend, tmp_path: Path) -> None:
    ref = backend.store.put_bytes(b"input file")
    store = backend.fresh()
    linked, copied = tmp_path / "linked", tmp_path / "copied"
    assert store.materialize(ref.hash, linked) is True
    assert linked.read_bytes() == b"input file"
    assert store.materialize(ref.hash, copied, link=False) is True
    assert copied.read_bytes() == b"input file"
    assert os.stat(copied).st_ino != os.stat(linked).st_ino  # a copy, not a link
    # dest already there: left as it is
    copied.chmod(0o644)
    copied.write_bytes(b"mine")
    assert store.materialize(ref.hash, copied) is False
    assert copied.read_bytes() == b"mine"


def test_materialize_hardlinks_one_local_copy(backend: Backend, tmp_path: Path) -> None:
    ref = backend.store.put_bytes(b"shared input")
    store = backend.fresh()
    a, b = tmp_path / "a", tmp_path / "b"
    store.materialize(ref.hash, a)
    store.materialize(ref.hash, b)
    assert os.stat(a).st_ino == os.stat(b).st_ino  # both hard links to the one local copy
    assert os.stat(a).st_nlink >= 3  # a, b and the store's (or cache's) own name
    assert os.stat(a).st_mode & 0o222 == 0  # read-only: a datum cannot rewrite a shared blob


# -- integrity ------------------------------------------------------------------------------


def test_corrupt_content_is_data_loss(backend: Backend, tmp_path: Path) -> None:
    ref = backend.store.put_bytes(b"the real content")
    backend.corrupt(ref.hash, b"something else entirely")
    assert backend.fresh().verify(ref.hash) is False
    with pytest.raises(DataLoss, match="corrupt"):
        backend.fresh().check(ref.hash)
    with pytest.raises(DataLoss):
        b"".join(backend.fresh().read_chunks(ref.hash))
    with pytest.raises(DataLoss):
        backend.fresh().materialize(ref.hash, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


# -- missing and malformed names ------------------------------------------------------------


def test_missing_blob_is_not_found(backend: Backend, tmp_path: Path) -> None:
    missing = sha(b"never stored " + uuid.uuid4().bytes)
    store = backend.store
    assert store.exists(missing) is False
    with pytest.raises(NotFound):
        store.size(missing)
    with pytest.raises(NotFound):
        store.open(missing)
    with pytest.raises(NotFound):
        b"".join(store.read_chunks(missing))
    with pytest.raises(NotFound):
        store.materialize(missing, tmp_path / "dest")
    with pytest.raises(NotFound):
        store.verify(missing)
    with pytest.raises(NotFound):
        store.check(missing)
    assert not (tmp_path / "dest").exists()


def test_a_name_that_is_not_a_hash_is_refused(backend: Backend) -> None:
    with pytest.raises(InvalidArgument, match="not a blob name"):
        backend.store.exists("../../etc/passwd")
    with pytest.raises(InvalidArgument):
        backend.store.open("ABC")
