"""Per-datum logs: each datum's combined stdout/stderr, kept bounded on disk, read back by name.

Layout: ``<root>/<project>/<pipeline>/<job id>/<datum id>.log``, one file per datum of a job,
holding every attempt (and err_cmd) of its last run with ``--- attempt k of n: ... ---`` headers
when there was more than one. A log longer than the limit keeps its head and its tail with a
marker where the middle was dropped, so a runaway datum costs at most ``limit`` bytes of disk.

Files are written without fsync: logs are for people, and a log lost to a crash is rewritten
when the datum runs again after the restart. An empty log (the common ``true`` datum) writes no
file. ``read_logs`` is the API GetLogs serves from.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tuskd.domain.jobs import JobKey

__all__ = ["DEFAULT_LOG_LIMIT", "DatumLog", "DatumLogs"]

DEFAULT_LOG_LIMIT = 1 << 20
_SUFFIX = ".log"
# Names become path components: anything else (a crafted ID, "..") is refused.
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class DatumLog:
    """One datum's kept output in one job."""

    project: str
    pipeline: str
    job_id: str
    datum_id: str
    data: bytes
    written: float  # unix seconds when the log was written

    def lines(self) -> list[str]:
        """The output as text lines (undecodable bytes replaced), without line ends."""
        return self.data.decode(errors="replace").splitlines()


def _safe(part: str, what: str) -> str:
    if not part or part in (".", "..") or not _SAFE.match(part):
        raise ValueError(f"{what} {part!r} cannot name a log")
    return part


def bound(data: bytes, limit: int) -> bytes:
    """``data`` cut to at most ``limit`` bytes: its head and tail around a marker."""
    if len(data) <= limit:
        return data
    marker_room = 64
    if limit < 2 * marker_room:
        return data[:limit]
    keep = limit - marker_room
    head = keep // 2
    tail = keep - head
    marker = f"\n[tusk: {len(data) - head - tail} bytes of output elided]\n".encode()
    return data[:head] + marker + data[len(data) - tail :]


class DatumLogs:
    """The on-disk log store under ``root`` (``<data dir>/logs``)."""

    def __init__(self, root: Path, limit: int = DEFAULT_LOG_LIMIT) -> None:
        self.root = root
        self.limit = limit

    def _job_dir(self, project: str, pipeline: str, job_id: str) -> Path:
        return self.root / _safe(project, "project") / _safe(pipeline, "pipeline") / _safe(job_id, "job id")

    def write(self, key: JobKey, datum_id: str, data: bytes) -> None:
        """Keep ``data`` (bounded) as the log of ``datum_id`` in job ``key``; empty data keeps nothing."""
        path = self._job_dir(key.project, key.pipeline, key.id) / (_safe(datum_id, "datum id") + _SUFFIX)
        if not data:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a rerun that printed nothing must not show an earlier run's log
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bound(data, self.limit))

    def read_logs(
        self,
        project: str,
        pipeline: str,
        job_id: str | None = None,
        datum_id: str | None = None,
    ) -> Iterator[DatumLog]:
        """Logs of a pipeline's datums, optionally of one job and one datum, oldest first.

        Unknown names yield nothing (the caller decides whether that is NOT_FOUND).
        """
        base = self.root / _safe(project, "project") / _safe(pipeline, "pipeline")
        job_dirs = [base / _safe(job_id, "job id")] if job_id is not None else _by_mtime(base, dirs=True)
        for job_dir in job_dirs:
            if datum_id is not None:
                files = [job_dir / (_safe(datum_id, "datum id") + _SUFFIX)]
            else:
                files = _by_mtime(job_dir, dirs=False)
            for path in files:
                try:
                    data = path.read_bytes()
                    written = path.stat().st_mtime
                except (FileNotFoundError, NotADirectoryError):
                    continue
                yield DatumLog(project, pipeline, job_dir.name, path.name[: -len(_SUFFIX)], data, written)

    def remove_job(self, key: JobKey) -> None:
        shutil.rmtree(self._job_dir(key.project, key.pipeline, key.id), ignore_errors=True)

    def remove_pipeline(self, project: str, pipeline: str) -> None:
        shutil.rmtree(self.root / _safe(project, "project") / _safe(pipeline, "pipeline"), ignore_errors=True)


def _by_mtime(directory: Path, *, dirs: bool) -> list[Path]:
    found: list[tuple[int, str, Path]] = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        try:
            if dirs != entry.is_dir(follow_symlinks=False):
                continue
            if not dirs and not entry.name.endswith(_SUFFIX):
                continue
            found.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, Path(entry.path)))
        except OSError:
            continue
    found.sort()
    return [path for _, _, path in found]
