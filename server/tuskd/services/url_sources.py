"""AddFile URL sources: what the server reads (``file://``) or fetches (``http(s)://``) for a
client, within the bounds its operator set (docs/operations.md, "AddFile URLs").

* ``file://`` reads only under :attr:`UrlLimits.file_dirs` (none by default: refused), resolved
  with every symlink followed, and never inside the data directory. Each file is opened with
  ``O_NOFOLLOW | O_NONBLOCK`` and must be a regular file (``fstat``): FIFOs, devices and sockets
  are refused, and a read that would block (procfs files such as ``/proc/kmsg``) fails instead
  of holding an RPC thread. What was really opened (``/proc/self/fd``) is checked again, so a
  path swapped for a link after the first check gains nothing. A recursive add refuses symbolic
  links inside the tree rather than following or skipping them.
* ``http(s)://`` follows redirects to http(s) only.
* One URL (all files of a recursive add together) may bring at most :attr:`UrlLimits.max_bytes`
  bytes (RESOURCE_EXHAUSTED beyond) and take at most :attr:`UrlLimits.timeout` seconds
  (DEADLINE_EXCEEDED; checked between reads, a single read waits at most 60 s). The blob being
  written is removed when either limit cuts it short.
"""

from __future__ import annotations

import os
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

from tuskd import hostpaths
from tuskd.blobs.base import READ_CHUNK
from tuskd.config import DEFAULT_URL_MAX_BYTES, DEFAULT_URL_TIMEOUT
from tuskd.domain.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted

__all__ = ["UrlLimits", "open_url"]

# The longest a single network read waits for data (the overall timeout is checked between reads).
_READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class UrlLimits:
    """Where and how much AddFile URLs may read; ``data_dir`` is never read."""

    file_dirs: tuple[Path, ...] = ()
    data_dir: Path | None = None
    max_bytes: int = DEFAULT_URL_MAX_BYTES
    timeout: float = DEFAULT_URL_TIMEOUT


class _Budget:
    """The bytes and the time one URL may still use."""

    def __init__(self, url: str, limits: UrlLimits) -> None:
        self.url = url
        self.limits = limits
        self.left = limits.max_bytes
        self.deadline = time.monotonic() + limits.timeout

    def too_large(self) -> ResourceExhausted:
        return ResourceExhausted(
            f"cannot add {self.url}: its content is more than the limit of {self.limits.max_bytes} bytes "
            "(the server's operator sets it with `tusk serve --url-max-bytes`)",
            reason="URL_TOO_LARGE",
        )

    def spend(self, chunk: bytes) -> bytes:
        self.left -= len(chunk)
        if self.left < 0:
            raise self.too_large()
        self.check_time()
        return chunk

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise DeadlineExceeded(
                f"cannot add {self.url}: fetching it took longer than the limit of {self.limits.timeout:g}s "
                "(the server's operator sets it with `tusk serve --url-timeout`)",
                reason="URL_TIMEOUT",
            )


def open_url(url: str, recursive: bool, limits: UrlLimits) -> Iterator[tuple[str, Iterator[bytes]]]:
    """``(relative path, chunks)`` for each file the URL names: one with path ``""`` for a file,
    each file of the tree (sorted) for a directory with ``recursive``. Errors name the URL."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    budget = _Budget(url, limits)
    if scheme == "file":
        return _open_file_url(url, parsed.netloc, unquote(parsed.path), recursive, limits, budget)
    if scheme in ("http", "https"):
        return iter([("", _read_http(url, budget))])
    raise InvalidArgument(f"unsupported URL scheme {parsed.scheme!r} in {url!r}: use file://, http:// or https://")


# -- file:// ---------------------------------------------------------------------------------


def _open_file_url(
    url: str, netloc: str, path: str, recursive: bool, limits: UrlLimits, budget: _Budget
) -> Iterator[tuple[str, Iterator[bytes]]]:
    if not limits.file_dirs:
        raise InvalidArgument(
            "file:// URLs are disabled on this server: its operator can allow directories with "
            "`tusk serve --file-url-dir DIR` (or $TUSK_FILE_URL_DIRS)",
            reason="FILE_URLS_DISABLED",
        )
    if netloc not in ("", "localhost"):
        raise InvalidArgument(f"file URL {url!r} names another host")
    if not path.startswith("/") or "\x00" in path:
        raise InvalidArgument(f"file URL {url!r} must name an absolute path without NUL characters")
    _check_allowed(url, path, limits)
    if not os.path.lexists(path):
        raise NotFound(f"cannot add {url}: no such file")
    if os.path.isdir(path):
        if not recursive:
            raise InvalidArgument(f"{url} is a directory: set recursive to add its files")
        return _tree(url, hostpaths.real(path), limits, budget)
    # The resolved path (checked above): O_NOFOLLOW then refuses only a link swapped in since.
    return iter([("", _read_file(url, hostpaths.real(path), limits, budget))])


def _check_allowed(url: str, path: str, limits: UrlLimits) -> None:
    if not hostpaths.inside(path, limits.file_dirs):
        raise InvalidArgument(
            f"cannot add {url}: {hostpaths.real(path)} is not under a directory this server allows "
            "file:// URLs from (`tusk serve --file-url-dir`)",
            reason="FILE_URL_NOT_ALLOWED",
        )
    if limits.data_dir is not None and hostpaths.inside(path, [limits.data_dir]):
        raise InvalidArgument(
            f"cannot add {url}: it is inside the server's data directory, which file:// URLs never read",
            reason="FILE_URL_NOT_ALLOWED",
        )


def _tree(url: str, root: str, limits: UrlLimits, budget: _Budget) -> Iterator[tuple[str, Iterator[bytes]]]:
    files: list[str] = []
    for top, dirs, names in os.walk(root, followlinks=False):
        for name in dirs + names:
            full = os.path.join(top, name)
            if os.path.islink(full):
                raise InvalidArgument(
                    f"cannot add {url}: {full} is a symbolic link (recursive file:// adds do not follow links)",
                    reason="FILE_URL_NOT_ALLOWED",
                )
        files.extend(os.path.join(top, name) for name in names)
    for full in sorted(files):
        yield os.path.relpath(full, root), _read_file(url, full, limits, budget)


def _read_file(url: str, path: str, limits: UrlLimits, budget: _Budget) -> Iterator[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise FailedPrecondition(f"cannot read {url}: {e.strerror or e}: {path}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FailedPrecondition(f"cannot add {url}: {path} is not a regular file", reason="NOT_A_REGULAR_FILE")
        _check_allowed(url, hostpaths.fd_path(fd), limits)  # what was opened, not what was named
        while True:
            budget.check_time()
            try:
                chunk = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                raise FailedPrecondition(
                    f"cannot add {url}: reading {path} would block: it is not a regular file's content",
                    reason="NOT_A_REGULAR_FILE",
                ) from None
            except OSError as e:
                raise FailedPrecondition(f"cannot read {url}: {e.strerror or e}: {path}") from None
            if not chunk:
                return
            yield budget.spend(chunk)
    finally:
        os.close(fd)


# -- http(s):// -------------------------------------------------------------------------------


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if urlparse(newurl).scheme.lower() not in ("http", "https"):
            refused = f"redirect to {newurl} refused (http and https only)"
            raise urllib.error.HTTPError(newurl, code, refused, headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _read_http(url: str, budget: _Budget) -> Iterator[bytes]:
    try:
        with _OPENER.open(url, timeout=min(_READ_TIMEOUT, budget.limits.timeout)) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > budget.limits.max_bytes:
                raise budget.too_large()
            while chunk := response.read1(READ_CHUNK):
                yield budget.spend(chunk)
            budget.check_time()
    except urllib.error.HTTPError as e:
        raise FailedPrecondition(f"cannot fetch {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise FailedPrecondition(f"cannot fetch {url}: {reason}") from None
