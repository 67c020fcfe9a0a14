"""pfs_v2 Egress: copy a whole commit out to a ``file://`` directory.

The copy itself is the pipeline egress's (tuskd.engine.egress, handed in by wiring.py as a
:class:`FileEgress`): each file ``/a/b.txt`` of the commit lands at ``<directory>/a/b.txt``
through a temporary file renamed into place; other files already in the directory are left
alone. The answer is the number of bytes written.

Object storage (s3://, gs://, as://, wasb://, minio://) would need credentials and network
access that a one-machine tusk does not manage, and SQL egress needs Pachyderm's Kubernetes
secrets: both answer UNIMPLEMENTED saying so. Any other URL is INVALID_ARGUMENT.

A ``file://`` egress writes wherever the server's user may write, so it obeys the same switch
as AddFile's ``file://`` URLs: ``tusk serve --no-file-urls`` refuses it (docs/operations.md).
It never writes into the server's data directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, NoReturn, Protocol
from urllib.parse import urlparse

from tuskd import hostpaths
from tuskd.blobs.base import BlobStore
from tuskd.domain.errors import InvalidArgument, Unimplemented
from tuskd.domain.pfs import CommitRef, FileType

from .pfs import PfsService

__all__ = ["OBJECT_STORAGE_SCHEMES", "EgressService", "FileEgress"]

OBJECT_STORAGE_SCHEMES: Final = frozenset({"s3", "gs", "gcs", "as", "wasb", "azure", "minio", "http", "https"})


class FileEgress(Protocol):
    def directory(self, url: str) -> Path:
        """The local directory a ``file://`` URL names; InvalidArgument for any other URL."""
        ...

    def copy(self, url: str, files: Sequence[tuple[str, Iterable[bytes]]]) -> int:
        """Copy ``(path, content chunks)`` pairs under the URL's directory; bytes written.
        FailedPrecondition when the directory cannot be written."""
        ...


class EgressService:
    def __init__(self, pfs: PfsService, blobs: BlobStore, data_dir: Path, files: FileEgress) -> None:
        self._pfs = pfs
        self._blobs = blobs
        self._data_dir = data_dir.resolve()
        self._files = files

    def _check_url(self, url: str) -> None:
        if not url:
            raise InvalidArgument("egress.object_storage.url is required", field="object_storage.url")
        scheme = urlparse(url).scheme.lower()
        if scheme in OBJECT_STORAGE_SCHEMES:
            raise Unimplemented(
                f"Egress to {scheme}:// URLs is not supported by tusk: it runs on one machine and holds "
                "no object-storage credentials; egress to a file:// URL and copy from there",
                reason="EGRESS_SCHEME_UNSUPPORTED",
            )
        allowed = self._pfs.url_limits.file_dirs
        if not allowed:
            raise InvalidArgument(
                "file:// URLs are disabled on this server (allow directories with tusk serve --file-url-dir)",
                reason="FILE_URLS_DISABLED",
                field="object_storage.url",
            )
        root = self._files.directory(url)
        if not hostpaths.inside(root, allowed):
            raise InvalidArgument(
                f"egress to {url} failed: {hostpaths.real(root)} is not under a directory this server allows "
                "file:// URLs for (`tusk serve --file-url-dir`)",
                reason="FILE_URL_NOT_ALLOWED",
                field="object_storage.url",
            )

    def _check_target(self, url: str, paths: list[str]) -> None:
        """Refuse to write into the server's own data directory (metadata, blobs, logs)."""
        root = self._files.directory(url)
        for path in [".", *paths]:
            target = (root / path.lstrip("/")).resolve()
            if target == self._data_dir or self._data_dir in target.parents:
                raise InvalidArgument(
                    f"egress to {url} failed: it would write into the server's data directory",
                    reason="EGRESS_INTO_DATA_DIR",
                    field="object_storage.url",
                )

    def to_object_storage(self, commit: CommitRef, url: str) -> int:
        """Copy every file of ``commit`` under the directory ``url`` names; bytes written."""
        self._check_url(url)
        infos = [info for info in self._pfs.walk_files(commit, "/") if info.file_type == FileType.FILE]
        if not self._blobs.reads_are_checked:
            # DATA_LOSS before a byte is copied: the store's reads check only as they stream. A
            # store whose reads are checked (S3's cache) would fetch every blob twice for this.
            for info in infos:
                self._blobs.check(info.hash)
        # Read lazily, one file at a time, while it is copied.
        files = [(info.path, self._blobs.read_chunks(info.hash)) for info in infos]
        self._check_target(url, [path for path, _ in files])
        return self._files.copy(url, files)

    @staticmethod
    def to_sql_database() -> NoReturn:
        raise Unimplemented(
            "Egress to a SQL database is not supported by tusk: pachd reads the database password "
            "from a Kubernetes secret, and tusk runs without Kubernetes; egress to a file:// URL "
            "and load the files with your database's own tools",
            reason="EGRESS_SQL_UNSUPPORTED",
        )
