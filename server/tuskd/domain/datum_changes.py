"""Which datums of a one-input pipeline a change of its input files can touch: the rule behind
the incremental plan (engine/job_plan.py).

The setting: the previous job planned the datums of a single pfs (or cron) input over the tree
of commit P, the new job plans the same input (same glob, same name, repo and branch) over the
tree of commit C, and ``changed`` holds every file path whose file differs between P and C (a
superset is fine). A datum of such an input is one matched path ``m`` (a file, or a directory
with the files below it); its ID depends only on ``m`` and its hash on the content below ``m``.

The claim: a matched path that is neither a changed path nor an ancestor of one (the root ``/``
included) is, in C, exactly the datum it was in P, with the same ID and hash. A file ``m``: its
file did not change. A directory ``m``: no file below it changed, so the same files lie below
it in both trees (it exists in one exactly when it exists in the other: a directory exists
while a file lies below it; the root while the tree has any file). So the datums of C are

* the datums of P whose path is not in :attr:`Scope.affected` (the previous job's rows can be
  carried over as they are), and
* the datums of C whose path is in it, found by planning over a listing of C that holds every
  file below each of :attr:`Scope.roots`: such a listing holds every affected path of C that
  the glob matches with its whole subtree, and every other path it yields is below a listed root
  and so has its whole subtree too (the planner may yield those as well; they are datums of C
  with their true hash, counted once because the carry leaves their IDs out).

Combinators (cross, join, group, union), a changed glob or salt, and anything else are not
covered here: the caller plans them in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .datums import DatumInput, datum_id
from .globs import compile_glob, normalize_path
from .inputs import PfsInput

__all__ = ["Scope", "change_scope", "with_ancestors"]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a change touches among one pfs input's datums."""

    affected: tuple[str, ...]  # matched paths that may differ (changed paths and their ancestors), sorted
    roots: tuple[str, ...]  # the affected paths not below another one: list C's files below these
    ids: frozenset[str]  # the datum IDs of the affected paths (in P, in C, or both)


def with_ancestors(changed: Iterable[str]) -> set[str]:
    """Every path of ``changed`` and each directory above it, the root ``/`` included."""
    out: set[str] = set()
    for raw in changed:
        path = normalize_path(raw)
        while path not in out:
            out.add(path)
            if path == "/":
                break
            path = path[: path.rfind("/")] or "/"
    return out


def change_scope(pfs: PfsInput, changed: Iterable[str]) -> Scope:
    """The scope of ``changed`` for the (validated) input ``pfs``: see the module docstring."""
    glob = compile_glob(pfs.glob)
    affected = tuple(sorted(p for p in with_ancestors(changed) if glob.match(p)))
    roots: set[str] = set()
    for path in affected:  # sorted: a directory comes before the paths below it
        if roots.isdisjoint(with_ancestors([path]) - {path}):
            roots.add(path)
    ids = frozenset(datum_id((DatumInput(pfs.name, pfs.repo, pfs.branch, p, "", False, ()),)) for p in affected)
    return Scope(affected, tuple(sorted(roots)), ids)
