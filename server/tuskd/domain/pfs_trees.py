"""A commit's file tree, pure: directories derived from a sorted stream of file entries (with sizes
and hashes; directories are implicit, as in Pachyderm), and the policy for merging the layers the
tree is stored in (docs/pfs-storage.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from . import paths


class FileEntry(NamedTuple):
    """A live file as the store keeps it: normalised path, content blob, size in bytes."""

    path: str
    blob: str
    size: int


class TreeNode(NamedTuple):
    """A file or a derived directory; ``key`` is the listing spelling (``/dir/``, root ``/``)."""

    key: str
    is_dir: bool
    size: int
    hash: str

    @property
    def path(self) -> str:
        """The normalised path (no trailing ``/``)."""
        return self.key if self.key == paths.ROOT else self.key.rstrip("/")


@dataclass(slots=True)
class _OpenDir:
    key: str
    size: int = 0
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)

    def add(self, name: str, digest: str, size: int) -> None:
        self.size += size
        self.hasher.update(f"{name}\x00{digest}\n".encode())

    def close(self) -> TreeNode:
        return TreeNode(self.key, True, self.size, self.hasher.hexdigest())


def aggregate_tree(files: Iterable[FileEntry], root: str) -> Iterator[TreeNode]:
    """Post-order over the subtree at ``root``: each file, and each directory after its content.

    ``files`` must be the live files strictly under ``root`` (or ``root`` itself if it is a
    file), sorted by path. The last node yielded for a directory root is the root itself, with
    the total size and a hash over its listing. Memory is O(depth).
    """
    root_key = paths.dir_key(root)
    stack: list[_OpenDir] = []
    for entry in files:
        if entry.path == root:
            yield TreeNode(entry.path, False, entry.size, entry.blob)
            return
        if not stack:
            stack.append(_OpenDir(root_key))
        # Close directories the entry is not in.
        while len(stack) > 1 and not entry.path.startswith(stack[-1].key):
            done = stack.pop().close()
            stack[-1].add(paths.base_name(done.path) + "/", done.hash, done.size)
            yield done
        # Open the directories between the innermost open one and the entry.
        rel = entry.path[len(stack[-1].key) :]
        cut = rel.find("/")
        while cut != -1:
            stack.append(_OpenDir(stack[-1].key + rel[: cut + 1]))
            rel = rel[cut + 1 :]
            cut = rel.find("/")
        yield TreeNode(entry.path, False, entry.size, entry.blob)
        stack[-1].add(rel, entry.blob, entry.size)
    if not stack:
        stack.append(_OpenDir(root_key))
    while len(stack) > 1:
        done = stack.pop().close()
        stack[-1].add(paths.base_name(done.path) + "/", done.hash, done.size)
        yield done
    yield stack[0].close()


def walk_tree(files: Iterable[FileEntry], root: str, dirs: dict[str, TreeNode]) -> Iterator[TreeNode]:
    """Pre-order over the subtree at ``root`` (directory before its content, sorted).

    ``dirs`` maps each directory key to its node, as collected from :func:`aggregate_tree` over
    the same files (a first pass); ``files`` is a second pass over them.
    """
    root_key = paths.dir_key(root)
    if root_key in dirs:
        yield dirs[root_key]
    stack = [root_key]
    for entry in files:
        if entry.path == root:
            yield TreeNode(entry.path, False, entry.size, entry.blob)
            return
        while len(stack) > 1 and not entry.path.startswith(stack[-1]):
            stack.pop()
        cut = entry.path.find("/", len(stack[-1]))
        while cut != -1:
            key = entry.path[: cut + 1]
            yield dirs[key]
            stack.append(key)
            cut = entry.path.find("/", cut + 1)
        yield TreeNode(entry.path, False, entry.size, entry.blob)


# --------------------------------------------------------------------------------------------
# Storage policy: when to merge the layers of a commit's tree (docs/pfs-storage.md)
# --------------------------------------------------------------------------------------------

LAYER_RATIO: Final = 2
MAX_LAYERS: Final = 24


def layers_to_merge(sizes: Sequence[int], ratio: int = LAYER_RATIO, max_layers: int = MAX_LAYERS) -> int:
    """How many of the top layers to merge into one (0: none) so sizes keep falling geometrically.

    ``sizes`` are entry counts, bottom (oldest, largest) first. A layer must be more than
    ``ratio`` times the size of the one above it; the top layers are merged until that holds
    (and until at most ``max_layers`` remain). Every entry therefore takes part in O(log n)
    merges over its life, and a read consults O(log n) layers.
    """
    stack = list(sizes)
    merged = 1
    while len(stack) >= 2 and (stack[-2] <= ratio * stack[-1] or len(stack) > max_layers):
        top = stack.pop()
        stack[-1] += top
        merged += 1
    return merged if merged >= 2 else 0
