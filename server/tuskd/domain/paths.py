"""File paths inside a commit: normalisation, validation and the prefix arithmetic of sorted scans.

A path inside a commit is absolute, ``/``-separated and normalised: a leading ``/`` is added,
runs of ``/`` collapse, ``.`` components vanish, a trailing ``/`` is dropped and ``..`` steps up
one directory. A ``..`` that would climb above the root, a NUL byte, text that is not valid
UTF-8, a component longer than 255 bytes (NAME_MAX: the job engine materialises files on a real
filesystem) or a path longer than 4096 bytes (PATH_MAX) is InvalidArgument.

Directories are implicit: they exist because a file path runs through them. Directory
listings use Pachyderm's spelling, a trailing ``/`` (``/images/``), which also makes plain
string order put a directory right before its contents: UTF-8 byte order (SQLite's BINARY
collation) and Python's code point order agree, so the store and this module sort alike.
"""

from __future__ import annotations

from typing import Final

from .errors import InvalidArgument

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "ROOT",
    "ancestors",
    "base_name",
    "depth",
    "dir_key",
    "is_within",
    "join",
    "normalize_file_path",
    "normalize_path",
    "parent",
    "prefix_upper_bound",
    "relative_to",
    "subtree_range",
]

ROOT: Final = "/"
MAX_PATH_BYTES: Final = 4096
MAX_NAME_BYTES: Final = 255


def _bad(path: str, detail: str, what: str) -> InvalidArgument:
    shown = path if len(path) <= 120 else path[:117] + "..."
    return InvalidArgument(f"{what} {shown!r} is invalid: {detail}", reason="INVALID_PATH", path=shown)


def normalize_path(path: str, *, what: str = "path") -> str:
    """The normal form of ``path`` (``""`` and ``/`` are the root); InvalidArgument if unusable."""
    if "\x00" in path:
        raise _bad(path, "it contains a NUL byte", what)
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(path, "it is not valid UTF-8", what) from None
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not parts:
                raise _bad(path, "'..' climbs above the root", what)
            parts.pop()
            continue
        if len(comp.encode("utf-8")) > MAX_NAME_BYTES:
            raise _bad(path, f"a name is longer than {MAX_NAME_BYTES} bytes", what)
        parts.append(comp)
    norm = "/" + "/".join(parts)
    if len(norm.encode("utf-8")) > MAX_PATH_BYTES:
        raise _bad(path, f"it is longer than {MAX_PATH_BYTES} bytes", what)
    return norm


def normalize_file_path(path: str, *, what: str = "file path") -> str:
    """Like :func:`normalize_path`, for a path that must name a file: the root is refused."""
    norm = normalize_path(path, what=what)
    if norm == ROOT:
        raise _bad(path, "it names no file (empty name)", what)
    return norm


def parent(path: str) -> str:
    """``/a/b`` -> ``/a``; ``/a`` -> ``/``; the root is its own parent."""
    cut = path.rfind("/")
    return ROOT if cut <= 0 else path[:cut]


def base_name(path: str) -> str:
    """``/a/b`` -> ``b``; the root's name is empty."""
    return path[path.rfind("/") + 1 :]


def depth(path: str) -> int:
    """Number of components: the root is 0, ``/a`` is 1, ``/a/b`` is 2."""
    return 0 if path == ROOT else path.count("/")


def ancestors(path: str) -> list[str]:
    """Proper ancestor directories, outermost first, root excluded: ``/a/b/c`` -> ``[/a, /a/b]``."""
    out: list[str] = []
    cut = path.find("/", 1)
    while cut != -1:
        out.append(path[:cut])
        cut = path.find("/", cut + 1)
    return out


def dir_key(path: str) -> str:
    """How a directory is spelt in listings and sorted: ``/a`` -> ``/a/``; the root stays ``/``."""
    return path if path == ROOT else path + "/"


def join(directory: str, relative: str) -> str:
    """``join("/a", "b/c")`` -> ``/a/b/c``; ``join("/a", "")`` -> ``/a``."""
    relative = relative.strip("/")
    if not relative:
        return directory
    return ("" if directory == ROOT else directory) + "/" + relative


def is_within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` itself or lies under it."""
    return root == ROOT or path == root or path.startswith(root + "/")


def relative_to(path: str, root: str) -> str:
    """``relative_to("/a/b/c", "/a")`` -> ``b/c``; ``path`` must be within ``root``."""
    if path == root:
        return ""
    return path[1:] if root == ROOT else path[len(root) + 1 :]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: unbounded).

    Scans ask for ``lower <= path < upper``; ``/a/`` gives ``/a0`` because ``0`` follows ``/``.
    """
    if not prefix:
        return None
    last = prefix[-1]
    if last == "\U0010ffff":
        return prefix_upper_bound(prefix[:-1])
    following = ord(last) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be encoded; the next real one is U+E000
        following = 0xE000
    return prefix[:-1] + chr(following)


def subtree_range(path: str) -> tuple[str, str | None]:
    """``(lower, upper)`` bounds of the file paths strictly under directory ``path``."""
    prefix = dir_key(path)
    return prefix, prefix_upper_bound(prefix)
