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

from tests.s3servers import REGION, FaultSwitch, S3Server, free_port
from tuskd.blobs.base import EMPTY_BLOB, BlobStore
from tuskd.blobs.cache import BlobCache
from tuskd.blobs.local import LocalBlobStore
from tuskd.blobs.s3 import S3BlobStore
from tuskd.config import S3Location
from tuskd.domain.errors import DataLoss, FailedPrecondition, InvalidArgument, NotFound, Unavailable

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


# -- S3 only: the read-through cache and the errors of a remote store -----------------------


@pytest.fixture(params=["seaweedfs", "moto"])
def s3_server(request: pytest.FixtureRequest, aws_credentials: None) -> S3Server:
    server: S3Server = request.getfixturevalue("seaweedfs" if request.param == "seaweedfs" else "moto_s3")
    return server


def test_cache_evicts_least_recently_used(s3_server: S3Server, tmp_path: Path) -> None:
    prefix = f"evict/{uuid.uuid4().hex}"
    writer = s3_store(s3_server, prefix, tmp_path / "writer")
    blobs = [writer.put_bytes(bytes([i]) * 100_000).hash for i in range(6)]
    store = s3_store(s3_server, prefix, tmp_path / "cache", cache_bytes=350_000)  # room for 3
    for blob in blobs[:3]:
        store.check(blob)
    store.check(blobs[0])  # now the most recently used
    store.check(blobs[3])  # evicts blobs[1], the least recently used
    cache = store.cache
    assert cache.used_bytes <= 350_000
    assert [cache.holds(b) for b in blobs[:4]] == [True, False, True, True]
    assert sorted(p.name for p in (tmp_path / "cache" / "objects").iterdir()) == sorted([blobs[0], blobs[2], blobs[3]])
    # an evicted blob is fetched again on its next read
    assert b"".join(store.read_chunks(blobs[1])) == bytes([1]) * 100_000
    assert cache.holds(blobs[1]) and cache.used_bytes <= 350_000


def test_cache_never_evicts_a_blob_being_materialized(s3_server: S3Server, tmp_path: Path) -> None:
    prefix = f"pin/{uuid.uuid4().hex}"
    writer = s3_store(s3_server, prefix, tmp_path / "writer")
    blobs = [writer.put_bytes(bytes([i]) * 100_000).hash for i in range(4)]
    store = s3_store(s3_server, prefix, tmp_path / "cache", cache_bytes=250_000)  # room for 2
    entered, release = threading.Event(), threading.Event()
    held: list[Path] = []

    def hold() -> None:  # what materialize does between fetching and linking, held open
        with store.cache.pinned(blobs[0], lambda: store._fetch(blobs[0])) as path:
            held.append(path)
            entered.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(30)
        for blob in blobs[1:]:
            store.check(blob)  # each would push blobs[0] out if it were not pinned
        assert store.cache.holds(blobs[0]) and held[0].is_file()
    finally:
        release.set()
        t.join(30)
    store.check(blobs[1])  # once unpinned it is an ordinary, least recently used entry
    assert not store.cache.holds(blobs[0])


def test_a_blob_bigger_than_the_cache_is_still_served(s3_server: S3Server, tmp_path: Path) -> None:
    prefix = f"big/{uuid.uuid4().hex}"
    data = os.urandom(300_000)
    ref = s3_store(s3_server, prefix, tmp_path / "writer").put_bytes(data)
    store = s3_store(s3_server, prefix, tmp_path / "cache", cache_bytes=100_000)
    dest = tmp_path / "dest"
    assert store.materialize(ref.hash, dest)
    assert dest.read_bytes() == data
    assert store.cache.used_bytes == 0  # gone from the cache once nobody holds it
    assert dest.read_bytes() == data  # the link outlives the cache entry


def test_a_damaged_cache_entry_is_fetched_again(s3_server: S3Server, tmp_path: Path) -> None:
    prefix = f"heal/{uuid.uuid4().hex}"
    store = s3_store(s3_server, prefix, tmp_path / "cache")
    ref = store.put_bytes(b"good content")
    entry = tmp_path / "cache" / "objects" / ref.hash
    entry.chmod(0o644)
    entry.write_bytes(b"bad content!")  # e.g. a write through a hard link
    assert b"".join(store.read_chunks(ref.hash)) == b"good content"  # the bucket is the truth
    assert entry.read_bytes() == b"good content"


def test_the_cache_survives_a_restart(s3_server: S3Server, tmp_path: Path) -> None:
    prefix = f"restart/{uuid.uuid4().hex}"
    ref = s3_store(s3_server, prefix, tmp_path / "cache").put_bytes(b"kept locally")
    again = s3_store(s3_server, prefix, tmp_path / "cache")
    assert again.cache.holds(ref.hash) and again.cache.used_bytes == len(b"kept locally")


def test_a_missing_bucket_is_named(s3_server: S3Server, tmp_path: Path) -> None:
    location = S3Location(bucket="no-such-bucket-here", endpoint=s3_server.endpoint, region=REGION)
    store = S3BlobStore(location, BlobCache(tmp_path / "cache", MiB))
    with pytest.raises(FailedPrecondition, match="does not exist: create it"):
        store.probe()


def test_refused_credentials_are_named(
    seaweedfs: S3Server, tmp_path: Path, aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = s3_store(seaweedfs, "denied", tmp_path / "cache")
    with pytest.raises(FailedPrecondition, match="refused this server's credentials"):
        store.probe()
    with pytest.raises(FailedPrecondition, match="AWS_ACCESS_KEY_ID"):
        store.put_bytes(b"x")


def test_an_unreachable_endpoint_is_unavailable(tmp_path: Path, aws_credentials: None) -> None:
    location = S3Location(
        bucket="b", endpoint=f"http://127.0.0.1:{free_port()}", region=REGION, max_attempts=2, timeout=2
    )
    store = S3BlobStore(location, BlobCache(tmp_path / "cache", MiB))
    with pytest.raises(Unavailable, match=r"is unavailable: .*check that the S3 server is up") as caught:
        store.probe()
    assert caught.value.reason == "BLOBS_UNAVAILABLE"
    with pytest.raises(Unavailable):
        store.put_bytes(b"x")
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []  # the spool went with the failed put


def _moto_store(moto_s3: S3Server, tmp_path: Path, **options: float) -> tuple[S3BlobStore, str]:
    prefix = f"faults/{uuid.uuid4().hex}"
    location = S3Location(
        bucket=moto_s3.bucket, prefix=prefix, endpoint=moto_s3.endpoint, region=REGION, max_attempts=3, **options
    )
    return S3BlobStore(location, BlobCache(tmp_path / "cache", MiB)), prefix


def test_5xx_after_retries_is_unavailable(
    moto_s3: S3Server, s3_faults: FaultSwitch, tmp_path: Path, aws_credentials: None
) -> None:
    store, _ = _moto_store(moto_s3, tmp_path)
    stored = store.put_bytes(b"stored before the outage")
    cold = S3BlobStore(store.location, BlobCache(tmp_path / "cold", MiB))
    s3_faults.status = 500
    before = s3_faults.requests
    with pytest.raises(Unavailable, match=r"is unavailable: HTTP 500.*after 3 attempts"):
        store.put_bytes(b"written during the outage")
    assert s3_faults.requests - before >= 3  # retried (3 attempts), then gave up
    with pytest.raises(Unavailable):
        b"".join(cold.read_chunks(stored.hash))
    with pytest.raises(Unavailable):
        cold.exists(stored.hash)
    with pytest.raises(Unavailable):
        cold.verify(stored.hash)
    # a blob already in the local cache is still served
    assert b"".join(store.read_chunks(stored.hash)) == b"stored before the outage"
    s3_faults.clear()
    assert b"".join(cold.read_chunks(stored.hash)) == b"stored before the outage"
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_a_server_that_does_not_answer_in_time_is_unavailable(
    moto_s3: S3Server, s3_faults: FaultSwitch, tmp_path: Path, aws_credentials: None
) -> None:
    store, _ = _moto_store(moto_s3, tmp_path, timeout=0.5)
    s3_faults.delay = 1.5
    with pytest.raises(Unavailable, match="is unavailable"):
        store.put_bytes(b"slow")


def test_concurrent_reads_of_an_uncached_blob_download_it_once(
    moto_s3: S3Server, s3_faults: FaultSwitch, tmp_path: Path, aws_credentials: None
) -> None:
    prefix = f"once/{uuid.uuid4().hex}"
    data = os.urandom(2 * MiB)
    ref = s3_store(moto_s3, prefix, tmp_path / "writer").put_bytes(data)
    store = s3_store(moto_s3, prefix, tmp_path / "cache")
    before = s3_faults.requests
    errors: list[BaseException] = []

    def materialize(i: int) -> None:
        try:
            store.materialize(ref.hash, tmp_path / f"input{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=materialize, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert s3_faults.requests - before == 1  # one GET; the other five found it in the cache
    assert {os.stat(tmp_path / f"input{i}").st_ino for i in range(6)} == {
        os.stat(tmp_path / "cache" / "objects" / ref.hash).st_ino
    }
