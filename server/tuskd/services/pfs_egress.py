"""pfs_v2 Egress: copy a whole commit out to a ``file://`` directory.

The copy itself is the pipeline egress's (tuskd.engine.egress): each file ``/a/b.txt`` of the
commit lands at ``<directory>/a/b.txt`` through a temporary file renamed into place; other
files already in the directory are left alone. The answer is the number of bytes written.

Object storage (s3://, gs://, as://, wasb://, minio://) would need credentials and network
access that a one-machine tusk does not manage, and SQL egress needs Pachyderm's Kubernetes
secrets: both answer UNIMPLEMENTED saying so. Any other URL is INVALID_ARGUMENT.
"""

from __future__ import annotations

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
    def __init__(self, pfs: PfsService, blobs: BlobStore) -> None:
        self._pfs = pfs
        self._blobs = blobs

    @staticmethod
    def _check_url(url: str) -> None:
        if not url:
            raise InvalidArgument("egress.object_storage.url is required", field="object_storage.url")
        scheme = urlparse(url).scheme.lower()
        if scheme in OBJECT_STORAGE_SCHEMES:
            raise Unimplemented(
                f"Egress to {scheme}:// URLs is not supported by tusk: it runs on one machine and holds "
                "no object-storage credentials; egress to a file:// URL and copy from there",
                reason="EGRESS_SCHEME_UNSUPPORTED",
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
