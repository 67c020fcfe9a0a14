"""The datum planner: from an input tree and the files of its input commits to the job's datums.

Pure and deterministic: the same input tree over the same listings gives the same datums in
the same order, whatever the order of siblings in the spec or of entries in a listing.

Decisions where the semantics leave room:

* Candidates for a pfs input's glob are every file, every directory named in the listing, every
  directory implied by a file path, and the root ``/`` -- the root only when the listing has at
  least one entry. An empty commit therefore gives zero datums even with glob ``/`` (its
  fileset has no entries to match, as in Pachyderm 2.x), and the job is a zero-datum job.
* A directory listed without any file under it is a candidate too; matched, it is a datum input
  with no files.
* Join: datums of each input are keyed by their ``join_on`` template expanded with the glob's
  captures. For a key every input has, the product of all inputs' datums is emitted. For a key
  some inputs lack, the product of the datums of the inputs that have it *and* are marked
  ``outer_join`` is emitted (inner inputs that do have the key are left out of those datums, as
  Pachyderm does); when none of them is outer, nothing is.
* Group: one datum per ``group_by`` key holding every datum input with that key, ordered by
  input (sibling order) then path.
* Within a datum, inputs come in sibling order, and siblings are sorted by their input names (then
  project, repo, branch, glob, commit as tie-breaks), so spec order never changes datum identity.
* The result is sorted by the datums' input paths (then input names, repos, branches) and holds no
  two datums with the same ID (a union naming the same input twice yields each datum once).
* The datum ID hashes (name, repo, branch, path) of each input; the datum hash hashes the ID,
  each input's content hash and the salt. A file's content hash is the file's own ``hash``; a
  directory's covers every (path relative to the directory, file hash) below it, so renaming a
  file inside a matched directory changes the hash but not the ID. Every field is
  length-prefixed before hashing, so no two different field lists hash alike.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .errors import InvalidArgument
from .globs import compile_glob, expand_template, normalize_path
from .inputs import Input, PfsInput, validate_input

__all__ = [
    "Datum",
    "DatumInput",
    "FileEntry",
    "Listing",
    "datum_hash",
    "datum_id",
    "directory_hash",
    "plan_datums",
]


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A path in an input commit; ``hash`` is the hex content hash (ignored for directories)."""

    path: str
    is_dir: bool
    size: int
    hash: str


@dataclass(frozen=True, slots=True)
class DatumInput:
    """One input of a datum: the matched path and the file(s) it brings (a subtree for a dir)."""

    name: str
    repo: str
    branch: str
    path: str
    hash: str
    is_dir: bool
    files: tuple[FileEntry, ...]


@dataclass(frozen=True, slots=True)
class Datum:
    """The smallest unit of work: one execution of the user code over these inputs."""

    id: str
    inputs: tuple[DatumInput, ...]

    @classmethod
    def of(cls, inputs: Sequence[DatumInput]) -> Datum:
        """A datum over ``inputs`` with its ID computed."""
        inputs = tuple(inputs)
        return cls(datum_id(inputs), inputs)


Listing = Callable[[PfsInput], Sequence[FileEntry]]

_Row = tuple[DatumInput, ...]


def _field(h: hashlib._Hash, value: str) -> None:
    data = value.encode("utf-8", "surrogatepass")
    h.update(len(data).to_bytes(8, "big"))
    h.update(data)


def datum_id(inputs: Iterable[DatumInput]) -> str:
    """sha256 hex over (name, repo, branch, path) of each input: stable while content changes."""
    h = hashlib.sha256(b"tusk-datum-id-v1")
    for inp in inputs:
        for value in (inp.name, inp.repo, inp.branch, inp.path):
            _field(h, value)
    return h.hexdigest()


def datum_hash(datum: Datum, salt: str) -> str:
    """sha256 hex over the datum ID, each input's content hash, and the pipeline salt."""
    h = hashlib.sha256(b"tusk-datum-hash-v1")
    _field(h, datum.id)
    for inp in datum.inputs:
        _field(h, inp.hash)
    _field(h, salt)
    return h.hexdigest()


def directory_hash(directory: str, files: Iterable[FileEntry]) -> str:
    """sha256 hex over every (path relative to ``directory``, file hash) below it, path order."""
    base = normalize_path(directory)
    cut = 1 if base == "/" else len(base) + 1
    h = hashlib.sha256(b"tusk-directory-v1")
    for entry in sorted(files, key=lambda e: e.path):
        _field(h, entry.path[cut:])
        _field(h, entry.hash)
    return h.hexdigest()


class _RepoIndex:
    """The files and directories of one listing, with each directory's subtree at hand."""

    def __init__(self, repo: str, entries: Sequence[FileEntry]) -> None:
        files: dict[str, FileEntry] = {}
        dirs: set[str] = set()

        def add_with_ancestors(path: str) -> None:
            # Invariant: every directory in ``dirs`` has all its ancestors in ``dirs`` too, so
            # the walk up stops at the first directory already known.
            while path != "/" and path not in dirs:
                dirs.add(path)
                path = path[: path.rfind("/")] or "/"

        for entry in entries:
            path = normalize_path(entry.path)
            if entry.is_dir:
                add_with_ancestors(path)
                continue
            if path == "/":
                raise InvalidArgument(f"listing of repo {repo!r} has a file at the root path '/'")
            known = files.get(path)
            if known is not None and known.hash != entry.hash:
                raise InvalidArgument(f"listing of repo {repo!r} has two different files at {path}")
            files[path] = entry if entry.path == path else FileEntry(path, False, entry.size, entry.hash)
            add_with_ancestors(path[: path.rfind("/")] or "/")
        clash = files.keys() & dirs
        if clash:
            raise InvalidArgument(f"listing of repo {repo!r} has both a file and a directory at {min(clash)}")
        self.files = files
        self.dirs = dirs
        self.file_paths = sorted(files)
        self.empty = not entries

    def candidates(self) -> list[str]:
        paths = sorted(self.files.keys() | self.dirs)
        return paths if self.empty else ["/", *paths]

    def subtree(self, directory: str) -> tuple[FileEntry, ...]:
        if directory == "/":
            return tuple(self.files[p] for p in self.file_paths)
        prefix = directory + "/"
        paths = self.file_paths
        lo = bisect.bisect_left(paths, prefix)
        hi = lo
        while hi < len(paths) and paths[hi].startswith(prefix):
            hi += 1
        return tuple(self.files[p] for p in paths[lo:hi])


class _Planner:
    def __init__(self, listing: Listing) -> None:
        self._listing = listing
        self._indexes: dict[PfsInput, _RepoIndex] = {}

    def index(self, pfs: PfsInput) -> _RepoIndex:
        index = self._indexes.get(pfs)
        if index is None:
            index = _RepoIndex(pfs.repo, self._listing(pfs))
            self._indexes[pfs] = index
        return index

    def pfs(self, pfs: PfsInput, template: str = "") -> list[tuple[DatumInput, str]]:
        """Every match of the input's glob, with its key when a template is given."""
        glob = compile_glob(pfs.glob)
        index = self.index(pfs)
        out: list[tuple[DatumInput, str]] = []
        for path in index.candidates():
            key = ""
            if template:
                captures = glob.captures(path)
                if captures is None:
                    continue
                key = expand_template(template, captures)
            elif not glob.match(path):
                continue
            entry = index.files.get(path)
            if entry is not None:
                inp = DatumInput(pfs.name, pfs.repo, pfs.branch, path, entry.hash, False, (entry,))
            else:
                files = index.subtree(path)
                inp = DatumInput(pfs.name, pfs.repo, pfs.branch, path, directory_hash(path, files), True, files)
            out.append((inp, key))
        return out

    def plan(self, node: Input) -> list[_Row]:
        leaf = node.leaf()
        if leaf is not None:
            return [(inp,) for inp, _ in self.pfs(leaf)]
        children = sorted(node.children(), key=_sibling_key)
        if node.union:
            return [row for child in children for row in self.plan(child)]
        if node.cross:
            rows: list[_Row] = [()]
            for child in children:
                child_rows = self.plan(child)
                if not child_rows:
                    return []
                rows = [a + b for a in rows for b in child_rows]
            return rows
        if node.join:
            return self.join([c.pfs for c in children if c.pfs is not None])
        return self.group([c.pfs for c in children if c.pfs is not None])

    def join(self, inputs: list[PfsInput]) -> list[_Row]:
        by_key: dict[str, list[list[DatumInput]]] = {}
        for i, pfs in enumerate(inputs):
            for inp, key in self.pfs(pfs, pfs.join_on):
                by_key.setdefault(key, [[] for _ in inputs])[i].append(inp)
        rows: list[_Row] = []
        for key in sorted(by_key):
            per_input = by_key[key]
            if all(per_input):
                chosen = per_input
            else:
                chosen = [ds for ds, pfs in zip(per_input, inputs, strict=True) if ds and pfs.outer_join]
                if not chosen:
                    continue
            rows.extend(itertools.product(*chosen))
        return rows

    def group(self, inputs: list[PfsInput]) -> list[_Row]:
        by_key: dict[str, list[DatumInput]] = {}
        for pfs in inputs:
            for inp, key in self.pfs(pfs, pfs.group_by):
                by_key.setdefault(key, []).append(inp)
        return [tuple(by_key[key]) for key in sorted(by_key)]


def _sibling_key(node: Input) -> tuple[tuple[str, ...], ...]:
    """Sort key of a sibling: its leaves' names first, so spec order does not matter."""
    p = node.leaf()
    if p is not None:
        return ((p.name, p.project, p.repo, p.branch, p.glob, p.commit),)
    keys = sorted(_sibling_key(child) for child in node.children())
    return tuple(leaf for key in keys for leaf in key)


def _row_order(datum: Datum) -> tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]]:
    return (
        tuple(inp.path for inp in datum.inputs),
        tuple((inp.name, inp.repo, inp.branch) for inp in datum.inputs),
    )


def plan_datums(input: Input, listing: Listing) -> list[Datum]:
    """The datums of ``input`` over the files ``listing`` returns for each pfs input.

    ``listing`` is called at most once per distinct (validated) pfs input and gives every file
    of that input's commit (directories optional). The input tree is validated first, so
    InvalidArgument is raised for a bad spec.
    """
    validated = validate_input(input)
    rows = _Planner(listing).plan(validated)
    unique: dict[str, Datum] = {}
    for row in rows:
        datum = Datum.of(row)
        unique.setdefault(datum.id, datum)
    return sorted(unique.values(), key=_row_order)
