"""PFS file reads: inspect, list, walk, glob, get (bytes and tar) and diff of commit trees."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from tuskd.blobs.base import READ_CHUNK
from tuskd.domain import paths
from tuskd.domain.errors import InvalidArgument, NotFound
from tuskd.domain.globs import compile_glob
from tuskd.domain.pfs import (
    CommitKey,
    CommitRef,
    FileDiff,
    FileEntry,
    FileInfo,
    FileType,
    TreeNode,
    aggregate_tree,
    walk_tree,
)
from tuskd.store.base import CommitRow, PfsTx

from .pfs_base import PfsBase
from .pfs_shared import MAX_LIST_NUMBER, _Names, _opt_ts

_GLOB_CHARS = frozenset("*?[{(\\")
# Hash of an empty directory listing (the root of an empty commit).
_EMPTY_DIR_HASH = list(aggregate_tree((), "/"))[-1].hash


def _check_number(number: int, reverse: bool) -> None:
    if number < 0:
        raise InvalidArgument(f"number must not be negative (got {number})")
    if number > MAX_LIST_NUMBER:
        raise InvalidArgument(f"cannot return more than {MAX_LIST_NUMBER} entries at a time (got {number})")
    if reverse and number == 0:
        raise InvalidArgument("number must be > 0 when reverse is true")


@dataclass
class _Tree:
    """A commit opened for reading: its key, its layer stack, and the FileInfo.committed time."""

    row: CommitRow
    key: CommitKey
    stack: list[int]
    committed: datetime | None


class FileReads(PfsBase):
    """File-reading use cases."""

    def _open(self, tx: PfsTx, ref: CommitRef) -> _Tree:
        row = self._resolve(tx, ref)
        names = _Names(tx)
        return _Tree(row, names.commit(row), self._stack(tx, row), _opt_ts(row.finished_us))

    def _info(self, tree: _Tree, node: TreeNode) -> FileInfo:
        return FileInfo(
            commit=tree.key,
            path=node.key,
            file_type=FileType.DIR if node.is_dir else FileType.FILE,
            size_bytes=node.size,
            hash=node.hash,
            committed=tree.committed,
        )

    def _file_not_found(self, path: str, tree: _Tree) -> NotFound:
        return NotFound(
            f"file {path} not found in repo {tree.key.repo.qualified} at commit {tree.key.id}",
            reason="FILE_NOT_FOUND",
            path=path,
            commit=tree.key.id,
        )

    def _walk(self, tx: PfsTx, tree: _Tree, root: str) -> Iterator[TreeNode]:
        """Pre-order nodes of the subtree at ``root`` (nothing if it holds no file).

        Two passes over the same sorted scan: the first sizes and hashes the directories
        (memory: one node per directory), the second emits in order.
        """
        single = tx.tree_get(tree.stack, root) if root != paths.ROOT else None
        if single is not None:
            yield TreeNode(root, False, single.size, single.blob)
            return
        lower, upper = paths.subtree_range(root)
        dirs: dict[str, TreeNode] = {}
        files = 0
        for node in aggregate_tree(tx.tree_scan(tree.stack, lower, upper), root):
            if node.is_dir:
                dirs[node.key] = node
            else:
                files += 1
        if files:
            yield from walk_tree(tx.tree_scan(tree.stack, lower, upper), root, dirs)

    def inspect_file(self, commit: CommitRef, path: str) -> FileInfo:
        """A file, or a directory with its total size (the root always exists)."""
        path = paths.normalize_path(path)
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            if path != paths.ROOT:
                entry = tx.tree_get(tree.stack, path)
                if entry is not None:
                    return self._info(tree, TreeNode(path, False, entry.size, entry.blob))
            lower, upper = paths.subtree_range(path)
            files = tx.tree_scan(tree.stack, lower, upper)
            first = next(files, None)
            if first is None:
                if path != paths.ROOT:
                    raise self._file_not_found(path, tree)
                return self._info(tree, TreeNode(paths.ROOT, True, 0, _EMPTY_DIR_HASH))

            def all_files() -> Iterator[FileEntry]:
                yield first
                yield from files

            *_, root = aggregate_tree(all_files(), path)
            return self._info(tree, root)

    def list_files(
        self,
        commit: CommitRef,
        path: str = "/",
        number: int = 0,
        reverse: bool = False,
        marker: str | None = None,
    ) -> Iterator[FileInfo]:
        """The children of directory ``path`` (or the file itself), in path order.

        ``marker`` (a path previously returned) resumes after it (before it when ``reverse``);
        ``number`` caps the count (0: no cap; required when ``reverse``).
        """
        _check_number(number, reverse)
        path = paths.normalize_path(path)
        mark = _marker_key(marker)
        return self._paged(self._children(commit, path), number, reverse, mark)

    def _children(self, commit: CommitRef, path: str) -> Iterator[FileInfo]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            if path != paths.ROOT:
                entry = tx.tree_get(tree.stack, path)
                if entry is not None:
                    yield self._info(tree, TreeNode(path, False, entry.size, entry.blob))
                    return
            lower, upper = paths.subtree_range(path)
            want = paths.depth(path) + 1
            found = False
            for node in aggregate_tree(tx.tree_scan(tree.stack, lower, upper), path):
                if node.key != paths.ROOT and paths.depth(node.path) == want:
                    found = True
                    yield self._info(tree, node)
            if not found and path != paths.ROOT:
                raise self._file_not_found(path, tree)

    def _paged(self, infos: Iterator[FileInfo], number: int, reverse: bool, mark: str | None) -> Iterator[FileInfo]:
        if not reverse:
            count = 0
            for info in infos:
                if mark is not None and info.path <= mark:
                    continue
                if number and count >= number:
                    return
                count += 1
                yield info
            return
        tail: list[FileInfo] = []
        for info in infos:
            if mark is not None and info.path >= mark:
                continue
            tail.append(info)
            if len(tail) > number:
                del tail[0]
        yield from reversed(tail)

    def walk_files(
        self,
        commit: CommitRef,
        path: str = "/",
        number: int = 0,
        reverse: bool = False,
        marker: str | None = None,
    ) -> Iterator[FileInfo]:
        """``path`` and everything under it, directories before their content, in path order."""
        _check_number(number, reverse)
        path = paths.normalize_path(path)
        return self._paged(self._walk_infos(commit, path), number, reverse, _marker_key(marker))

    def _walk_infos(self, commit: CommitRef, path: str) -> Iterator[FileInfo]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            found = False
            for node in self._walk(tx, tree, path):
                found = True
                yield self._info(tree, node)
            if not found and path != paths.ROOT:
                raise self._file_not_found(path, tree)

    def glob_files(
        self, commit: CommitRef, pattern: str, path_range: tuple[str, str] | None = None
    ) -> Iterator[FileInfo]:
        """Files and directories matching a Pachyderm glob, in path order.

        ``path_range`` keeps paths with ``lower <= path < upper`` (empty bounds are open).
        """
        glob = compile_glob(pattern)
        root = _glob_root(glob.pattern)
        return self._glob(commit, glob.pattern, root, path_range)

    def _glob(
        self, commit: CommitRef, pattern: str, root: str, path_range: tuple[str, str] | None
    ) -> Iterator[FileInfo]:
        glob = compile_glob(pattern)
        lower, upper = path_range or ("", "")
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            for node in self._walk(tx, tree, root):
                if lower and node.key < lower:
                    continue
                if upper and node.key >= upper:
                    continue
                if glob.match(node.path):
                    yield self._info(tree, node)

    def _selected(self, tx: PfsTx, tree: _Tree, path: str) -> Iterator[TreeNode]:
        """What GetFile/GetFileTAR of ``path`` covers, pre-order: a file; a directory with its
        subtree; or, for a glob, every match with the subtree of matched directories, each once."""
        norm = paths.normalize_path(path)
        if norm != paths.ROOT:
            entry = tx.tree_get(tree.stack, norm)
            if entry is not None:
                yield TreeNode(norm, False, entry.size, entry.blob)
                return
        if not any(ch in _GLOB_CHARS for ch in path):
            found = False
            for node in self._walk(tx, tree, norm):
                found = True
                yield node
            if not found and norm != paths.ROOT:
                raise self._file_not_found(norm, tree)
            return
        glob = compile_glob(path)
        covered: str | None = None
        found = False
        for node in self._walk(tx, tree, _glob_root(glob.pattern)):
            if covered is not None and node.key.startswith(covered):
                yield node
                continue
            covered = None
            if glob.match(node.path):
                found = True
                if node.is_dir:
                    covered = node.key
                yield node
        if not found:
            raise self._file_not_found(path, tree)

    def get_file(self, commit: CommitRef, path: str, offset: int = 0) -> Iterator[bytes]:
        """The content of a file; of a directory or glob: the matched files concatenated."""
        if offset < 0:
            raise InvalidArgument(f"offset must not be negative (got {offset})")
        return self._get_file(commit, path, offset)

    def _get_file(self, commit: CommitRef, path: str, offset: int) -> Iterator[bytes]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            skip = offset
            for node in self._selected(tx, tree, path):
                if node.is_dir:
                    continue
                if skip >= node.size:
                    skip -= node.size
                    continue
                yield from self.blobs.read_chunks(node.hash, skip)
                skip = 0

    def get_file_tar(self, commit: CommitRef, path: str) -> Iterator[bytes]:
        """A tar stream (PAX) of a file, a directory's subtree, or a glob's matches; names are
        relative to the root (``dir/a.txt``), directories included."""
        return self._get_tar(commit, path)

    def _get_tar(self, commit: CommitRef, path: str) -> Iterator[bytes]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            mtime = int((tree.committed or datetime.now(UTC)).timestamp())
            buffer = bytearray()
            for node in self._selected(tx, tree, path):
                if node.key == paths.ROOT:
                    continue
                info = tarfile.TarInfo(node.key.lstrip("/"))
                info.mtime = mtime
                if node.is_dir:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    buffer += info.tobuf(tarfile.PAX_FORMAT)
                    continue
                info.size = node.size
                info.mode = 0o644
                buffer += info.tobuf(tarfile.PAX_FORMAT)
                for chunk in self.blobs.read_chunks(node.hash):
                    buffer += chunk
                    if len(buffer) >= READ_CHUNK:
                        yield bytes(buffer)
                        buffer.clear()
                buffer += b"\0" * (-node.size % tarfile.BLOCKSIZE)
            buffer += b"\0" * (2 * tarfile.BLOCKSIZE)
            yield bytes(buffer)

    def diff_files(
        self,
        new: CommitRef,
        new_path: str = "/",
        old: CommitRef | None = None,
        old_path: str | None = None,
        shallow: bool = False,
    ) -> Iterator[FileDiff]:
        """Paths that differ between ``new`` and ``old`` (default: the parent of ``new``), files and
        directories, in path order, one answer per path. ``shallow`` stops at the direct children
        of the path."""
        new_path = paths.normalize_path(new_path)
        old_path = new_path if old_path is None else paths.normalize_path(old_path)
        with self.store.read() as tx:
            self._resolve(tx, new)
            if old is not None:
                self._resolve(tx, old)
        return self._diff(new, new_path, old, old_path, shallow)

    def _diff(
        self, new: CommitRef, new_path: str, old: CommitRef | None, old_path: str, shallow: bool
    ) -> Iterator[FileDiff]:
        with self.store.read() as tx:
            new_tree = self._open(tx, new)
            old_tree: _Tree | None
            if old is not None:
                old_tree = self._open(tx, old)
            elif new_tree.row.parent_id is not None:
                parent = tx.get_commit(new_tree.row.parent_id)
                assert parent is not None
                names = _Names(tx)
                old_tree = _Tree(parent, names.commit(parent), self._stack(tx, parent), _opt_ts(parent.finished_us))
            else:
                old_tree = None

            def keyed(tree: _Tree | None, root: str) -> Iterator[tuple[str, TreeNode]]:
                if tree is None:
                    return
                root_key = paths.dir_key(root)
                for node in self._walk(tx, tree, root):
                    rel = "" if node.key in (root, root_key) else node.key[len(root_key) :]
                    if shallow and "/" in rel.rstrip("/"):
                        continue
                    # Both sides are matched by their full path, as pachd does: a file diffed
                    # against another path is one side removed and the other added.
                    yield node.key, node

            olds = keyed(old_tree, old_path)
            news = keyed(new_tree, new_path)
            o = next(olds, None)
            n = next(news, None)
            while o is not None or n is not None:
                if n is None or (o is not None and o[0] < n[0]):
                    assert o is not None and old_tree is not None
                    yield FileDiff(self._info(old_tree, o[1]), None)
                    o = next(olds, None)
                elif o is None or n[0] < o[0]:
                    yield FileDiff(None, self._info(new_tree, n[1]))
                    n = next(news, None)
                else:
                    assert old_tree is not None
                    if o[1].hash != n[1].hash or o[1].is_dir != n[1].is_dir:
                        yield FileDiff(self._info(old_tree, o[1]), self._info(new_tree, n[1]))
                    o = next(olds, None)
                    n = next(news, None)

    def changed_paths(self, old: CommitRef, new: CommitRef, limit: int) -> list[str] | None:
        """The file paths whose file differs between two commits of one repo (added, deleted or
        with other content), in path order. Only the layers the two trees do not share are read
        (cost: their entries, not the trees): each path they hold is compared in both trees.

        None when the commits are of different repos or those layers hold more than ``limit``
        paths (the caller reads the trees instead); NotFound for an unknown commit."""
        with self.store.read() as tx:
            old_tree, new_tree = self._open(tx, old), self._open(tx, new)
            if old_tree.row.repo_id != new_tree.row.repo_id:
                return None
            # A path none of the unshared layers holds takes its entry from the shared bottom
            # of both stacks: the same in both trees.
            shared = 0
            for a, b in zip(old_tree.stack, new_tree.stack, strict=False):
                if a != b:
                    break
                shared += 1
            touched: set[str] = set()
            for layer in (*old_tree.stack[shared:], *new_tree.stack[shared:]):
                for entry in tx.scan_layer(layer):
                    touched.add(entry.path)
                    if len(touched) > limit:
                        return None
            changed = []
            for path in sorted(touched):  # a merge or a same-content write touches paths it does not change
                before, after = tx.tree_get(old_tree.stack, path), tx.tree_get(new_tree.stack, path)
                if (before.blob if before else None) != (after.blob if after else None):
                    changed.append(path)
        return changed


def _marker_key(marker: str | None) -> str | None:
    """A pagination marker in listing spelling (directories keep their trailing ``/``)."""
    if not marker:
        return None
    norm = paths.normalize_path(marker, what="pagination marker")
    return paths.dir_key(norm) if marker.endswith("/") else norm


def _glob_root(pattern: str) -> str:
    """The deepest directory that holds every possible match of a normalised pattern."""
    for i, ch in enumerate(pattern):
        if ch in _GLOB_CHARS:
            return paths.parent(pattern[:i] + "x")
    return paths.parent(pattern)
