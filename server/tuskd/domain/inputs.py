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
* A ``cron`` input (:class:`CronInput`) is a leaf like a pfs input: it reads ``<repo>@master``
  with glob ``/*`` (one datum per tick file). Its name is required; its repo defaults to
  ``<pipeline>_<name>`` and its project to the pipeline's; its spec must parse
  (:mod:`tuskd.domain.cron`). Its ``start`` is filled in by the service that creates the pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from .cron import parse_schedule
from .errors import InvalidArgument
from .globs import compile_glob, template_references
from .ids import is_global_id

__all__ = ["CronInput", "Input", "PfsInput", "cron_inputs", "input_repos", "validate_input", "with_cron_start"]

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


CRON_BRANCH: Final = "master"
CRON_GLOB: Final = "/*"


@dataclass(frozen=True, slots=True, kw_only=True)
class CronInput:
    """Ticks on a schedule as commits to its own repo (Pachyderm's ``CronInput``)."""

    name: str = ""
    spec: str = ""
    repo: str = ""
    project: str = ""
    start: datetime | None = None  # ticks come at spec.next(max(start, newest tick))
    overwrite: bool = False  # each tick replaces the previous tick file
    commit: str = ""

    def as_pfs(self) -> PfsInput:
        """The pfs input the cron input reads as: every tick file of ``<repo>@master``."""
        return PfsInput(
            name=self.name,
            repo=self.repo,
            branch=CRON_BRANCH,
            glob=CRON_GLOB,
            project=self.project or "default",
            commit=self.commit,
        )


_KINDS: Final = ("pfs", "cron", "cross", "union", "join", "group")


@dataclass(frozen=True, slots=True)
class Input:
    """A node of the input tree: exactly one of the fields is set (Pachyderm's ``Input``)."""

    pfs: PfsInput | None = None
    cross: tuple[Input, ...] = ()
    union: tuple[Input, ...] = ()
    join: tuple[Input, ...] = ()
    group: tuple[Input, ...] = ()
    cron: CronInput | None = None

    def kind(self) -> str:
        """``pfs``, ``cron``, ``cross``, ``union``, ``join`` or ``group`` (the field that is set)."""
        for kind in _KINDS:
            if getattr(self, kind):
                return kind
        return ""

    def leaf(self) -> PfsInput | None:
        """The pfs input a leaf reads (a cron input reads its tick repo); None for a combinator."""
        return self.pfs if self.cron is None else self.cron.as_pfs()

    def children(self) -> tuple[Input, ...]:
        return self.cross or self.union or self.join or self.group


def _invalid(message: str, **metadata: str) -> InvalidArgument:
    return InvalidArgument(message, reason="INVALID_INPUT", **metadata)


def _check_name(name: str) -> None:
    if name in _RESERVED_NAMES:
        raise _invalid(
            f'input name "{name}" is reserved: /pfs/{name} is where the pipeline writes its output',
            input=name,
        )
    if not _NAME.fullmatch(name):
        raise _invalid(f'input name "{name}" is invalid: use only letters, digits, "_" and "-"', input=name)


def _validate_cron(cron: CronInput, project: str, pipeline: str) -> CronInput:
    if not cron.name:
        raise _invalid("input must specify a name")
    _check_name(cron.name)
    parse_schedule(cron.spec)
    repo = cron.repo or (f"{pipeline}_{cron.name}" if pipeline else "")
    if not repo:
        raise _invalid(f'cron input "{cron.name}" must specify a repo', input=cron.name)
    if not _NAME.fullmatch(repo):
        raise _invalid(f'cron input "{cron.name}" repo "{repo}" is invalid', input=cron.name)
    return replace(cron, repo=repo, project=cron.project or project)


def _validate_pfs(pfs: PfsInput, parent: str, project: str) -> PfsInput:
    if not pfs.repo.strip():
        raise _invalid("input must specify a repo")
    branch = pfs.branch if pfs.branch != "" else "master"
    if not branch.strip():
        raise _invalid("input must specify a branch", repo=pfs.repo)
    if not pfs.glob:
        raise _invalid("input must specify a glob", repo=pfs.repo)
    name = pfs.name or pfs.repo
    _check_name(name)
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


def _validate(node: Input, parent: str, project: str, pipeline: str) -> Input:
    set_kinds = [k for k in _KINDS if getattr(node, k)]
    if not set_kinds:
        raise _invalid("no input set")
    if len(set_kinds) > 1:
        raise _invalid(f"multiple input types set ({', '.join(set_kinds)})")
    kind = set_kinds[0]
    if node.pfs is not None:
        return Input(pfs=_validate_pfs(node.pfs, parent, project))
    if node.cron is not None:
        return Input(cron=_validate_cron(node.cron, project, pipeline))
    children = tuple(_validate(child, kind, project, pipeline) for child in node.children())
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
    leaf = node.leaf()
    if leaf is not None:
        return {leaf.name}
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


def validate_input(node: Input, project: str = "default", pipeline: str = "") -> Input:
    """Check an input tree and return a copy with defaults filled in; raise InvalidArgument.

    A pfs or cron input without a project reads from ``project`` (the pipeline's own, as pachd
    does); a cron input without a repo ticks into ``<pipeline>_<name>``.
    """
    validated = _validate(node, "", project, pipeline)
    _names(validated)
    return validated


def input_repos(node: Input) -> list[PfsInput]:
    """What every leaf of the tree reads (a cron input: its tick repo), depth first in spec order."""
    leaf = node.leaf()
    if leaf is not None:
        return [leaf]
    leaves: list[PfsInput] = []
    for child in node.children():
        leaves.extend(input_repos(child))
    return leaves


def cron_inputs(node: Input) -> list[CronInput]:
    """Every cron input of the tree, depth first in spec order."""
    if node.cron is not None:
        return [node.cron]
    return [cron for child in node.children() for cron in cron_inputs(child)]


def with_cron_start(node: Input, start: datetime) -> Input:
    """A copy in which every cron input without a start starts at ``start`` (pachd: creation)."""
    if node.cron is not None:
        return node if node.cron.start is not None else Input(cron=replace(node.cron, start=start))
    if node.pfs is not None:
        return node

    def each(children: tuple[Input, ...]) -> tuple[Input, ...]:
        return tuple(with_cron_start(child, start) for child in children)

    return Input(cross=each(node.cross), union=each(node.union), join=each(node.join), group=each(node.group))
