"""Pachyderm glob patterns over slash paths: parsing, bounded matching, captures and templates.

Syntax (paths always start with ``/``):

* ``*`` any run of characters except ``/`` (possibly empty); ``**`` (or any longer run of
  stars) any run of characters including ``/`` (possibly empty). ``/**/x`` therefore needs at
  least one directory between the slashes: it does not match ``/x``.
* ``?`` one character except ``/``; ``[abc]``, ``[a-z]`` one of; ``[!a]`` / ``[^a]`` none of.
  Classes never match ``/``, and a ``/`` written inside a class is rejected.
* ``{a,b}`` alternation (alternatives may be empty, nest, and hold any syntax).
* ``( )`` a capture group, numbered by its ``(`` from 1, used by ``join_on`` / ``group_by``
  templates through :func:`expand_template`. A group inside an alternative that was not taken
  captures the empty string.
* ``\\x`` is the literal character ``x``.

Normalisation: a leading ``/`` is added when missing, runs of ``/`` collapse to one, a trailing
``/`` is dropped, and ``/`` alone is the root. The root path ``/`` is matched only by the root
pattern: wildcards never stand for an empty path component, so ``/*`` and ``/**`` do not name
the root. Paths given to :meth:`Glob.match` are normalised the same way. The empty pattern is
rejected (``/`` names the whole repo). :attr:`Glob.pattern` is the canonical text: normalised,
``[^a]`` spelled ``[!a]``, and special characters in literals escaped with ``\\``.

Captures are leftmost-first with greedy stars, like a backtracking regex engine: ``/(*)-(*)``
splits ``/a-b-c`` into ``("a-b", "c")``.

Matching is bounded whatever the pattern. Patterns whose shape cannot make a backtracking engine
blow up (no ``{}``, at most one ``**``, at most one star between two consecutive ``/``) are
translated to a Python regex, which is fastest. Every other pattern runs on a small automaton
compiled from the pattern: :meth:`Glob.match` walks a lazily built DFA (one dict lookup per path
character) and :meth:`Glob.captures` runs a Pike VM, O(len(path) * len(pattern)) in the worst case.

This module is the public face (``Glob``, ``compile_glob``, paths and templates); the parser and
syntax tree are in ``glob_syntax``, the regex translation in ``glob_regex`` and the automaton in
``glob_automaton``.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from .errors import InvalidArgument
from .glob_automaton import Program
from .glob_regex import regex_safe, to_regex
from .glob_syntax import MAX_NESTING, MAX_PATTERN_LENGTH, SLASH, Node, parse, render

__all__ = [
    "MAX_NESTING",
    "MAX_PATTERN_LENGTH",
    "Glob",
    "compile_glob",
    "expand_template",
    "normalize_path",
    "template_references",
]


def normalize_path(path: str) -> str:
    """``a/b/`` -> ``/a/b``; ``""`` and ``/`` -> ``/``; runs of ``/`` collapse to one."""
    if "//" in path:
        path = re.sub(r"/{2,}", "/", path)
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


class Glob:
    """A compiled, normalised glob pattern. Immutable; safe to share between threads."""

    __slots__ = ("_program", "_regex", "groups", "is_root", "pattern")

    def __init__(self, nodes: tuple[Node, ...], groups: int, *, use_regex: bool = True) -> None:
        self.pattern: str = render(nodes)
        self.groups: int = groups
        self.is_root: bool = nodes == (SLASH,)
        self._regex: re.Pattern[str] | None = None
        self._program: Program | None = None
        if use_regex and regex_safe(nodes):
            self._regex = re.compile(to_regex(nodes), re.DOTALL)
        else:
            self._program = Program(nodes, groups)

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Glob) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def match(self, path: str) -> bool:
        """Whether ``path`` (normalised first) matches the whole pattern."""
        path = normalize_path(path)
        if path == "/" or self.is_root:
            return path == "/" and self.is_root
        if self._regex is not None:
            return self._regex.fullmatch(path) is not None
        assert self._program is not None
        return self._program.match(path)

    def captures(self, path: str) -> tuple[str, ...] | None:
        """The text of each capture group (in ``(`` order), or None when ``path`` does not match."""
        path = normalize_path(path)
        if path == "/" or self.is_root:
            return ("",) * self.groups if path == "/" and self.is_root else None
        if self._regex is not None:
            m = self._regex.fullmatch(path)
            return None if m is None else tuple(g or "" for g in m.groups())
        assert self._program is not None
        if not self._program.match(path):  # the cheap DFA rules out most paths first
            return None
        slots = self._program.captures(path)
        if slots is None:  # pragma: no cover - the DFA and the VM run the same program
            return None
        return tuple(
            path[slots[2 * i] : slots[2 * i + 1]] if slots[2 * i] >= 0 and slots[2 * i + 1] >= 0 else ""
            for i in range(self.groups)
        )


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Glob:
    """Parse and normalise ``pattern``; raise InvalidArgument when it is malformed."""
    nodes, groups = parse(pattern)
    return Glob(nodes, groups)


def _compile_without_regex(pattern: str) -> Glob:
    """The same pattern forced onto the automaton; lets tests check both engines agree."""
    nodes, groups = parse(pattern)
    return Glob(nodes, groups, use_regex=False)


_TEMPLATE_REF: Final = re.compile(r"\$(\$|[1-9])")


def template_references(template: str) -> frozenset[int]:
    """The capture numbers ``$1``..``$9`` a template uses (``$$`` is a literal ``$``)."""
    return frozenset(int(m.group(1)) for m in _TEMPLATE_REF.finditer(template) if m.group(1) != "$")


def expand_template(template: str, captures: tuple[str, ...]) -> str:
    """Replace ``$1``..``$9`` in ``template`` with the captures; ``$$`` gives ``$``.

    Any other ``$`` is kept as written (``$0``, ``$x``, a trailing ``$``); ``$12`` is capture 1
    followed by ``2``. A reference past the last capture raises InvalidArgument.
    """

    def substitute(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref == "$":
            return "$"
        n = int(ref)
        if n > len(captures):
            raise InvalidArgument(
                f"template {template!r} refers to ${n} but the glob has only {len(captures)} capture group(s)",
                reason="INVALID_TEMPLATE",
            )
        return captures[n - 1]

    return _TEMPLATE_REF.sub(substitute, template)
