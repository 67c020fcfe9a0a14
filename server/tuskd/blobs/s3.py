"""Content-addressed blobs in an S3 bucket, read through a bounded local cache.

Each blob is the object ``<prefix>/sha256/<hash>``. A write spools the stream to a temp file
in the cache directory while hashing it (one chunk in memory at a time), so spooling needs free
local disk as large as the stream (a full disk is RESOURCE_EXHAUSTED, DISK_FULL, as for the local
store). Then, unless a HEAD request finds the key in the bucket (the cache does not count: an
object deleted from the bucket is uploaded again), it uploads it to its final key in one
request: a PUT up to ``_MULTIPART_AT`` bytes, a multipart upload above. S3 makes an object
visible only when that PUT or the multipart upload's completion succeeds, so a name never shows
half a blob; a failed multipart upload is aborted (and a bucket lifecycle rule for incomplete
uploads cleans up after a crash).
Two writers of the same content write the same bytes to the same key, which is harmless.

Reads go through :class:`~tuskd.blobs.cache.BlobCache`: a miss downloads the object into the
cache while hashing it, and a download whose sha256 differs from the name raises DataLoss and
leaves nothing in the cache; concurrent readers of one uncached blob share one download. Datum
inputs are hard links to cache entries. :meth:`exists`, :meth:`size` and :meth:`verify` (Fsck)
always ask the bucket, never the cache: they answer for what metadata may name.

Errors: a missing object is NotFound; a missing bucket, refused credentials or no credentials
are FailedPrecondition naming what to fix; a server that cannot be reached, times out or keeps
answering 5xx after botocore's retries is Unavailable. boto3 is imported here only, when an
``s3://`` store is configured (the ``tusk[s3]`` extra).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from tuskd.domain.errors import DataLoss, FailedPrecondition, InvalidArgument, NotFound, TuskError, Unavailable

from .base import READ_CHUNK, BlobRef, Spool, disk_full, is_blob_hash, place_file
from .cache import BlobCache

if TYPE_CHECKING:
    from tuskd.config import S3Location

__all__ = ["S3BlobStore"]

log = logging.getLogger(__name__)

_MULTIPART_AT: Final = 64 * 1024 * 1024
_NOT_FOUND_CODES: Final = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED_CODES: Final = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
)


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:  # the default install has no boto3
        raise FailedPrecondition(
            "--blobs s3://... needs boto3, which this install lacks: pip install 'tusk[s3]'",
            reason="S3_EXTRA_MISSING",
        ) from None
    return boto3


class S3BlobStore:
    """A :class:`~tuskd.blobs.base.BlobStore` on S3 (any S3-compatible server)."""

    reads_are_checked = True  # a read serves a cache entry hashed when it was fetched

    def __init__(self, location: S3Location, cache: BlobCache) -> None:
        boto3 = _boto3()
        from botocore.config import Config

        self.location = location
        self.cache = cache
        self._prefix = location.prefix.strip("/")
        config = Config(
            retries={"max_attempts": location.max_attempts, "mode": "standard"},
            connect_timeout=location.timeout,
            read_timeout=location.timeout,
            # Path-style URLs work with every S3 server on any host name (virtual hosts need DNS).
            s3={"addressing_style": "path"} if location.endpoint else {},
            # Only what the request requires: many S3-compatible servers reject the newer
            # default checksum trailers. Content is checked by its sha256 on every read anyway.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=32,
        )
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=location.endpoint, region_name=location.region, config=config
        )
        # blob -> [lock, users]: one download per blob at a time; the others wait and find it cached.
        self._fetching: dict[str, list[Any]] = {}
        self._fetching_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connections and let another server use the cache directory."""
        with contextlib.suppress(Exception):
            self._client.close()
        self.cache.close()

    def __repr__(self) -> str:
        return f"S3BlobStore({self.location.describe()})"

    # -- names and errors -------------------------------------------------------------------

    def key(self, blob: str) -> str:
        if not is_blob_hash(blob):
            raise InvalidArgument(f"{blob[:80]!r} is not a blob name (64 lowercase hex characters)")
        return f"{self._prefix}/sha256/{blob}" if self._prefix else f"sha256/{blob}"

    def _error(self, exc: Exception, blob: str | None = None) -> TuskError:
        """``exc`` (from boto3/botocore/urllib3) as the error a client should see."""
        from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

        where = self.location.describe()
        if isinstance(exc, TuskError):
            return exc
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code == "NoSuchBucket" or (blob is None and status == 404):  # HEAD has no body
                return FailedPrecondition(
                    f"the S3 bucket of {where} does not exist: create it (or fix --blobs), then retry",
                    reason="S3_NO_SUCH_BUCKET",
                )
            if (code in _NOT_FOUND_CODES or status == 404) and blob is not None:
                return NotFound(f"blob {blob} not found in {where}", blob=blob)
            if code in _DENIED_CODES or status == 403:
                return FailedPrecondition(
                    f"{where} refused this server's credentials ({code or status}): check the AWS "
                    "credentials the server runs with (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                    "AWS_PROFILE, ...) and the bucket's policy",
                    reason="S3_ACCESS_DENIED",
                )
            detail = f"HTTP {status} {code}" if code and code != str(status) else f"HTTP {status}"
        elif isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return FailedPrecondition(
                f"no AWS credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE, or an instance role) in the server's environment",
                reason="S3_NO_CREDENTIALS",
            )
        else:
            detail = str(exc) or type(exc).__name__
        log.warning("S3 blob store %s failed: %s", where, detail)
        return Unavailable(
            f"the S3 blob store {where} is unavailable: {detail} (after "
            f"{self.location.max_attempts} attempts); check that the S3 server is up and reachable "
            "from the tusk server, then retry",
            reason="BLOBS_UNAVAILABLE",
        )

    @contextlib.contextmanager
    def _s3(self, blob: str | None = None) -> Iterator[None]:
        """Translate what boto3, botocore or the connection raise in the block."""
        try:
            yield
        except TuskError:
            raise
        except Exception as exc:
            if _is_s3_failure(exc):
                raise self._error(exc, blob) from exc
            raise

    def probe(self) -> None:
        """Check at start-up that the bucket is there and this server may use it."""
        with self._s3():
            self._client.head_bucket(Bucket=self.location.bucket)

    # -- writing ----------------------------------------------------------------------------

    def put_bytes(self, data: bytes, *, durable: bool = True) -> BlobRef:
        return self.put_stream((data,), durable=durable)

    def put_stream(self, chunks: Iterable[bytes], *, durable: bool = True) -> BlobRef:
        # S3 answers a PUT only once the object is stored durably: ``durable`` changes nothing.
        with self._local_disk():
            spool = self.cache.spool()
            try:
                spool.write_all(chunks)
                digest = spool.close()
                if not self.exists(digest):  # the bucket's answer: a cached copy is not stored
                    self._upload(spool, digest)
                ref = BlobRef(digest, spool.size)
                self.cache.adopt(spool, digest)  # just written: likely read soon (outputs, egress)
                self.cache.unpin(digest)
                return ref
            except BaseException:
                spool.discard()
                raise

    @contextlib.contextmanager
    def _local_disk(self) -> Iterator[None]:
        """A full disk under the cache (spools, fetched entries) as RESOURCE_EXHAUSTED."""
        try:
            yield
        except OSError as exc:
            full = disk_full(exc, self.cache.root)
            if full is not None:
                raise full from exc
            raise

    def _upload(self, spool: Spool, digest: str) -> None:
        key = self.key(digest)
        with self._s3(digest):
            if spool.size <= _MULTIPART_AT:
                with open(spool.path, "rb") as body:
                    self._client.put_object(Bucket=self.location.bucket, Key=key, Body=body, ContentLength=spool.size)
                return
            from boto3.s3.transfer import TransferConfig

            transfer = TransferConfig(multipart_threshold=_MULTIPART_AT, multipart_chunksize=_MULTIPART_AT)
            self._client.upload_file(str(spool.path), self.location.bucket, key, Config=transfer)

    def flush(self) -> None:
        """Nothing to do: every put is durable when it returns."""

    # -- reading ----------------------------------------------------------------------------

    def _download(self, blob: str, write: Callable[[bytes], None]) -> None:
        """GET the object of ``blob`` and hand its content to ``write`` a chunk at a time; the
        response body is closed however it ends (its connection goes back to the pool)."""
        with self._s3(blob):
            response = self._client.get_object(Bucket=self.location.bucket, Key=self.key(blob))
            with contextlib.closing(response["Body"]) as body:
                for chunk in body.iter_chunks(READ_CHUNK):
                    write(chunk)

    def _fetch(self, blob: str) -> Path:
        """Download ``blob`` into the cache, checking its hash; the entry comes back pinned."""
        with self._local_disk():
            spool = self.cache.spool()
            try:
                self._download(blob, spool.write)
                if spool.close() != blob:
                    raise self._corrupt(blob)
                return self.cache.adopt(spool, blob)
            except BaseException:
                spool.discard()
                raise

    def _fetch_once(self, blob: str) -> Path:
        """:meth:`_fetch`, unless a concurrent caller fetched ``blob`` while this one waited."""
        with self._fetching_lock:
            slot = self._fetching.setdefault(blob, [threading.Lock(), 0])
            slot[1] += 1
        try:
            with slot[0]:
                return self.cache.lookup(blob) or self._fetch(blob)
        finally:
            with self._fetching_lock:
                slot[1] -= 1
                if not slot[1]:
                    del self._fetching[blob]

    def _local(self, blob: str) -> contextlib.AbstractContextManager[Path]:
        self.key(blob)  # InvalidArgument for a bad name before anything else
        return self.cache.pinned(blob, lambda: self._fetch_once(blob))

    def open(self, blob: str) -> BinaryIO:
        with self._local(blob) as path:
            return open(path, "rb")  # the descriptor outlives the entry's eviction

    def read_chunks(self, blob: str, offset: int = 0, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        with self.open(blob) as f:  # checked against its name when it entered the cache
            f.seek(offset)
            while chunk := f.read(chunk_size):
                yield chunk

    def materialize(self, blob: str, dest: Path, *, link: bool = True) -> bool:
        with self._local(blob) as path:
            return place_file(path, dest, link=link)

    def exists(self, blob: str) -> bool:
        """Whether the bucket holds the object (a HEAD request; the cache is not asked)."""
        key = self.key(blob)
        try:
            with self._s3(blob):
                self._client.head_object(Bucket=self.location.bucket, Key=key)
        except NotFound:
            return False
        return True

    def size(self, blob: str) -> int:
        """The object's length in the bucket (a HEAD request; the cache is not asked)."""
        key = self.key(blob)
        with self._s3(blob):
            head = self._client.head_object(Bucket=self.location.bucket, Key=key)
        return int(head["ContentLength"])

    # -- integrity --------------------------------------------------------------------------

    def verify(self, blob: str) -> bool:
        hasher = hashlib.sha256()
        self._download(blob, hasher.update)
        return hasher.hexdigest() == blob

    def check(self, blob: str) -> None:
        with self._local(blob):
            pass  # a fetch into the cache checks the hash; DataLoss when it does not match

    def _corrupt(self, blob: str) -> DataLoss:
        log.error("blob %s in %s is corrupt: its content no longer matches its hash", blob, self.location.describe())
        return DataLoss(
            f"blob {blob} in {self.location.describe()} is corrupt: its content no longer matches its "
            "hash (the object was changed in the bucket); the files that hold it cannot be read until "
            "it is restored",
            blob=blob,
        )


def _is_s3_failure(exc: Exception) -> bool:
    """Whether ``exc`` came from talking to S3 (not a bug of ours or a local disk error)."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, (BotoCoreError, ClientError, Boto3Error)):
        return True
    module = type(exc).__module__
    return module.startswith(("urllib3.", "botocore.", "s3transfer.")) or isinstance(
        exc, (ConnectionError, TimeoutError)
    )
