"""pfs_v2 Egress: copy a whole commit out to a ``file://`` directory.

The copy itself is the pipeline egress's (tuskd.engine.egress): each file ``/a/b.txt`` of the
commit lands at ``<directory>/a/b.txt`` through a temporary file renamed into place; other
files already in the directory are left alone. The answer is the number of bytes written.

Object storage (s3://, gs://, as://, wasb://, minio://) would need credentials and network
access that a one-machine tusk does not manage, and SQL egress needs Pachyderm's Kubernetes
secrets: both answer UNIMPLEMENTED saying so. Any other URL is INVALID_ARGUMENT.

A ``file://`` egress writes wherever the server's user may write, so it obeys the same switch
as AddFile's ``file://`` URLs: ``tusk serve --no-file-urls`` refuses it (docs/operations.md).
It never writes into the server's data directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, NoReturn
from urllib.parse import urlparse

from tuskd.blobs.base import BlobStore
from tuskd.domain.errors import FailedPrecondition, InvalidArgument, Unimplemented
from tuskd.domain.pfs import CommitRef, FileType
from tuskd.engine.egress import EgressError, egress_directory, egress_files

from .pfs import PfsService

__all__ = ["OBJECT_STORAGE_SCHEMES", "EgressService"]

OBJECT_STORAGE_SCHEMES: Final = frozenset({"s3", "gs", "gcs", "as", "wasb", "azure", "minio", "http", "https"})


class EgressService:
    def __init__(self, pfs: PfsService, blobs: BlobStore, data_dir: Path) -> None:
        self._pfs = pfs
        self._blobs = blobs
        self._data_dir = data_dir.resolve()

    def _check_target(self, url: str, paths: list[str]) -> None:
        """Refuse to write into the server's own data directory (metadata, blobs, logs)."""
        root = egress_directory(url)
        for path in [".", *paths]:
            target = (root / path.lstrip("/")).resolve()
            if target == self._data_dir or self._data_dir in target.parents:
                raise InvalidArgument(
                    f"egress to {url} failed: it would write into the server's data directory",
                    reason="EGRESS_INTO_DATA_DIR",
                    field="object_storage.url",
                )

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
        if not self._pfs.allow_file_urls:
            raise InvalidArgument(
                "file:// URLs are disabled on this server (tusk serve --no-file-urls)",
                reason="FILE_URLS_DISABLED",
                field="object_storage.url",
            )
        try:
            egress_directory(url)
        except EgressError as exc:
            raise InvalidArgument(str(exc), reason="INVALID_EGRESS_URL", field="object_storage.url") from None

    def to_object_storage(self, commit: CommitRef, url: str) -> int:
        """Copy every file of ``commit`` under the directory ``url`` names; bytes written."""
        self._check_url(url)
        files = [
            (info.path, self._blobs.path(info.hash))
            for info in self._pfs.walk_files(commit, "/")
            if info.file_type == FileType.FILE
        ]
        self._check_target(url, [path for path, _ in files])
        try:
            return egress_files(url, files)
        except EgressError as exc:
            raise FailedPrecondition(str(exc), reason="EGRESS_FAILED") from None

    @staticmethod
    def to_sql_database() -> NoReturn:
        raise Unimplemented(
            "Egress to a SQL database is not supported by tusk: pachd reads the database password "
            "from a Kubernetes secret, and tusk runs without Kubernetes; egress to a file:// URL "
            "and load the files with your database's own tools",
            reason="EGRESS_SQL_UNSUPPORTED",
        )
