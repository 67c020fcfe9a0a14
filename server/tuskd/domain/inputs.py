"""A pipeline's input tree (Pachyderm's ``Input`` / ``PFSInput``) and its validation.

Decisions where Pachyderm leaves room:

* Defaults are applied before checks: an empty ``name`` becomes the repo name, an empty
  ``branch`` becomes ``master``, an empty ``project`` ``default`` and an empty ``repo_type``
  ``user``. A branch is therefore only ever "missing" when it is written as nothing but
  whitespace, which is what "input must specify a branch" reports (the same holds for repo).
* The glob is kept as written (it is echoed back to users); matching normalises it.
* Input names must be unique within one datum: across ``cross``, ``join`` and ``group``
  siblings, at any depth. Only the branches of a ``union`` may reuse a name, because no datum
  ever holds inputs from two union branches.
* Every direct child of a ``join`` must be a pfs input with a ``join_on`` template, and every
  direct child of a ``group`` a pfs input with a ``group_by`` template; a template may only
  refer to capture groups (``$1``..``$9``) that its glob has. ``join_on`` / ``group_by`` /
  ``outer_join`` outside a join or group are accepted and have no effect, as in Pachyderm.
* ``cross``, ``union``, ``join`` and ``group`` need at least one child.
* A pfs input's ``commit``, when set, must be a commit ID (32 lowercase hex characters).
  ListDatum reads that commit; a pipeline spec may not set it (see ``validate_pipeline_spec``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from .errors import InvalidArgument
from .globs import compile_glob, template_references
from .ids import is_global_id

__all__ = ["Input", "PfsInput", "input_repos", "validate_input"]

_NAME: Final = re.compile(r"[a-zA-Z0-9_-]+")
_RESERVED_NAMES: Final = frozenset({"out"})


@dataclass(frozen=True, slots=True, kw_only=True)
class PfsInput:
    """One repo's files as a pipeline input (Pachyderm's ``PFSInput``; keyword arguments only).

    Every field has a default so that a spec missing its repo or glob can be represented and
    rejected by :func:`validate_input` with Pachyderm's message.
    """

    name: str = ""
    repo: str = ""
    branch: str = "master"
    glob: str = ""
    project: str = "default"
    repo_type: str = "user"
    commit: str = ""
    join_on: str = ""
    outer_join: bool = False
    group_by: str = ""
    lazy: bool = False
    empty_files: bool = False


@dataclass(frozen=True, slots=True)
class Input:
    """A node of the input tree: exactly one of the fields is set (Pachyderm's ``Input``)."""

    pfs: PfsInput | None = None
    cross: tuple[Input, ...] = ()
    union: tuple[Input, ...] = ()
    join: tuple[Input, ...] = ()
    group: tuple[Input, ...] = ()

    def kind(self) -> str:
        """``pfs``, ``cross``, ``union``, ``join`` or ``group`` (the one field that is set)."""
        for kind in ("pfs", "cross", "union", "join", "group"):
            if getattr(self, kind):
                return kind
        return ""

    def children(self) -> tuple[Input, ...]:
        return self.cross or self.union or self.join or self.group


def _invalid(message: str, **metadata: str) -> InvalidArgument:
    return InvalidArgument(message, reason="INVALID_INPUT", **metadata)


def _validate_pfs(pfs: PfsInput, parent: str, project: str) -> PfsInput:
    if not pfs.repo.strip():
        raise _invalid("input must specify a repo")
    branch = pfs.branch if pfs.branch != "" else "master"
    if not branch.strip():
        raise _invalid("input must specify a branch", repo=pfs.repo)
    if not pfs.glob:
        raise _invalid("input must specify a glob", repo=pfs.repo)
    name = pfs.name or pfs.repo
    if name in _RESERVED_NAMES:
        raise _invalid(
            f'input name "{name}" is reserved: /pfs/{name} is where the pipeline writes its output',
            input=name,
        )
    if not _NAME.fullmatch(name):
        raise _invalid(f'input name "{name}" is invalid: use only letters, digits, "_" and "-"', input=name)
    try:
        glob = compile_glob(pfs.glob)
    except InvalidArgument as err:
        raise _invalid(f'input "{name}" has an invalid glob: {err.message}', input=name) from err
    for field, template in (("join_on", pfs.join_on), ("group_by", pfs.group_by)):
        refs = template_references(template)
        if refs and max(refs) > glob.groups:
            raise _invalid(
                f'input "{name}" {field} "{template}" refers to ${max(refs)} but its glob '
                f'"{pfs.glob}" has {glob.groups} capture group(s)',
                input=name,
            )
    if pfs.commit and not is_global_id(pfs.commit):
        raise _invalid(
            f'input "{name}" input.pfs.commit {pfs.commit[:80]!r} is not a commit ID: '
            "expected 32 lowercase hex characters",
            input=name,
            field="input.pfs.commit",
        )
    if parent == "join" and not pfs.join_on:
        raise _invalid(f'input "{name}" is part of a join and must specify join_on', input=name)
    if parent == "group" and not pfs.group_by:
        raise _invalid(f'input "{name}" is part of a group and must specify group_by', input=name)
    return replace(
        pfs,
        name=name,
        branch=branch,
        project=pfs.project or project,
        repo_type=pfs.repo_type or "user",
    )


def _validate(node: Input, parent: str, project: str) -> Input:
    set_kinds = [k for k in ("pfs", "cross", "union", "join", "group") if getattr(node, k)]
    if not set_kinds:
        raise _invalid("no input set")
    if len(set_kinds) > 1:
        raise _invalid(f"multiple input types set ({', '.join(set_kinds)})")
    kind = set_kinds[0]
    if node.pfs is not None:
        return Input(pfs=_validate_pfs(node.pfs, parent, project))
    children = tuple(_validate(child, kind, project) for child in node.children())
    if kind in ("join", "group"):
        for child in children:
            if child.pfs is None:
                raise _invalid(f"every input of a {kind} must be a pfs input, not a {child.kind()}")
    if kind == "cross":
        return Input(cross=children)
    if kind == "union":
        return Input(union=children)
    if kind == "join":
        return Input(join=children)
    return Input(group=children)


def _names(node: Input) -> set[str]:
    """The input names a datum of ``node`` can hold; raises on a name used twice."""
    if node.pfs is not None:
        return {node.pfs.name}
    if node.union:
        union: set[str] = set()
        for child in node.union:
            union |= _names(child)
        return union
    seen: set[str] = set()
    for child in node.children():
        names = _names(child)
        for name in sorted(names & seen):
            raise _invalid(f'name "{name}" was used more than once', input=name)
        seen |= names
    return seen


def validate_input(node: Input, project: str = "default") -> Input:
    """Check an input tree and return a copy with defaults filled in; raise InvalidArgument.

    A pfs input without a project reads from ``project`` (the pipeline's own, as pachd does).
    """
    validated = _validate(node, "", project)
    _names(validated)
    return validated


def input_repos(node: Input) -> list[PfsInput]:
    """Every pfs leaf of the tree, depth first in spec order."""
    if node.pfs is not None:
        return [node.pfs]
    leaves: list[PfsInput] = []
    for child in node.children():
        leaves.extend(input_repos(child))
    return leaves
