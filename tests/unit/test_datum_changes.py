"""domain/datum_changes.py: the datums a change touches, checked against planning both trees in full.

For random trees and random changes, the datums of the new tree must be exactly the old tree's
datums outside the scope (carried as they are: same ID and hash) plus the datums planned over a
listing of the new tree below the scope's roots, none of them left out or counted twice.
"""

from __future__ import annotations

import random

import pytest

from tuskd.domain.datum_changes import change_scope, with_ancestors
from tuskd.domain.datums import FileEntry, datum_hash, plan_datums
from tuskd.domain.inputs import Input, PfsInput, validate_input

GLOBS = ["/*", "/**", "/*/*", "/", "/a*", "/**/*.txt", "/*/f1"]
NAMES = ["a", "b", "f1", "f2.txt", "c.txt"]


def _tree(rng: random.Random, files: int) -> dict[str, str]:
    tree: dict[str, str] = {}
    while len(tree) < files:
        depth = rng.randint(1, 3)
        dirs = [f"d{rng.randint(0, 2)}" for _ in range(depth - 1)]
        path = "/" + "/".join([*dirs, rng.choice(NAMES)])
        if any(p in tree for p in with_ancestors([path]) - {path}):
            continue  # a file where this path needs a directory
        if any(other.startswith(path + "/") for other in tree):
            continue  # a directory where this path wants a file
        tree[path] = f"h{rng.randint(0, 3)}"
    return tree


def _change(rng: random.Random, tree: dict[str, str]) -> dict[str, str]:
    new = dict(tree)
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice(["edit", "add", "delete", "rename"])
        if kind in ("edit", "delete", "rename") and new:
            path = rng.choice(sorted(new))
            if kind == "edit":
                new[path] = new[path] + "'"
            else:
                content = new.pop(path)
                if kind == "rename":
                    extra = _tree(rng, 1)
                    target = next(iter(extra))
                    if not any(p in new for p in with_ancestors([target])) and not any(
                        o.startswith(target + "/") for o in new
                    ):
                        new[target] = content
        elif kind == "add":
            for path, content in _tree(rng, 1).items():
                if not any(p in new for p in with_ancestors([path]) - {path}) and not any(
                    o.startswith(path + "/") for o in new
                ):
                    new[path] = content
    return new


def _listing(tree: dict[str, str], roots: tuple[str, ...] = ("/",)) -> list[FileEntry]:
    return [
        FileEntry(path, False, 1, h)
        for path, h in sorted(tree.items())
        if any(root == "/" or path == root or path.startswith(root + "/") for root in roots)
    ]


def _plan(input: Input, files: list[FileEntry]) -> dict[str, str]:
    """datum ID -> hash of the datums of ``input`` over ``files``."""
    return {d.id: datum_hash(d, "salt") for d in plan_datums(input, lambda _pfs: files)}


@pytest.mark.parametrize("glob", GLOBS)
def test_carried_plus_replanned_is_the_full_plan(glob: str) -> None:
    rng = random.Random(glob)
    input = Input(pfs=PfsInput(repo="data", glob=glob))
    pfs = validate_input(input).leaf()
    assert pfs is not None
    for _ in range(150):
        old = _tree(rng, rng.randint(0, 6))
        new = _change(rng, old)
        changed = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
        scope = change_scope(pfs, changed)
        before = _plan(input, _listing(old))
        full = _plan(input, _listing(new))
        replanned = _plan(input, _listing(new, scope.roots))
        left_out = scope.ids | replanned.keys()
        carried = {i: h for i, h in before.items() if i not in left_out}
        assert carried.keys().isdisjoint(replanned)
        assert {**carried, **replanned} == full, (glob, old, new, scope)


def test_scope_of_a_change_in_a_directory() -> None:
    pfs = PfsInput(name="data", repo="data", branch="master", glob="/**")
    scope = change_scope(pfs, ["/x/a/1", "/x/b"])
    assert scope.affected == ("/x", "/x/a", "/x/a/1", "/x/b")
    assert scope.roots == ("/x",)
    assert len(scope.ids) == 4


def test_no_change_touches_nothing() -> None:
    scope = change_scope(PfsInput(name="data", repo="data", branch="master", glob="/"), [])
    assert (scope.affected, scope.roots, scope.ids) == ((), (), frozenset())


def test_root_glob_is_touched_by_any_change() -> None:
    scope = change_scope(PfsInput(name="data", repo="data", branch="master", glob="/"), ["/deep/file"])
    assert scope.roots == ("/",)
