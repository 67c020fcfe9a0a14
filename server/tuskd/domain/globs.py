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
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, TypeAlias

from .errors import InvalidArgument

__all__ = [
    "MAX_NESTING",
    "MAX_PATTERN_LENGTH",
    "Glob",
    "compile_glob",
    "expand_template",
    "normalize_path",
    "template_references",
]

MAX_PATTERN_LENGTH: Final = 4096
# Deepest nesting of '{...}' and '(...)' a pattern may have. The parser, the normaliser and
# the matchers recurse once per level; real globs nest two or three levels.
MAX_NESTING: Final = 32


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lit:
    char: str


@dataclass(frozen=True, slots=True)
class _Star:
    """``*``: any run of non-``/`` characters."""


@dataclass(frozen=True, slots=True)
class _SuperStar:
    """``**``: any run of characters, ``/`` included."""


@dataclass(frozen=True, slots=True)
class _AnyChar:
    """``?``: one non-``/`` character."""


@dataclass(frozen=True, slots=True)
class _Class:
    singles: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def matches(self, ch: str) -> bool:
        if ch == "/":
            return False
        hit = ch in self.singles or any(lo <= ch <= hi for lo, hi in self.ranges)
        return hit != self.negated


@dataclass(frozen=True, slots=True)
class _Alt:
    options: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True, slots=True)
class _Group:
    index: int
    body: tuple[_Node, ...]


_Node: TypeAlias = "_Lit | _Star | _SuperStar | _AnyChar | _Class | _Alt | _Group"
_SLASH: Final = _Lit("/")


class _Parser:
    """Recursive descent over the pattern text; every error names the offending position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.groups = 0
        self.depth = 0

    def fail(self, detail: str, pos: int) -> InvalidArgument:
        return InvalidArgument(
            f"invalid glob pattern {self.text!r}: {detail} at position {pos}",
            reason="INVALID_GLOB",
            pattern=self.text[:200],
        )

    def parse(self) -> list[_Node]:
        nodes = self.seq("top")
        # seq("top") only stops at the end of the text: stray closers raise inside it.
        return nodes

    def seq(self, ctx: str) -> list[_Node]:
        text, n = self.text, len(self.text)
        nodes: list[_Node] = []
        while self.pos < n:
            c = text[self.pos]
            if ctx == "brace" and c in ",}":
                break
            if ctx == "paren" and c == ")":
                break
            if c in "})]":
                opener = {"}": "{", ")": "(", "]": "["}[c]
                raise self.fail(f"unbalanced {c!r} without a matching {opener!r}", self.pos)
            if c == "\\":
                if self.pos + 1 >= n:
                    raise self.fail("trailing backslash escapes nothing", self.pos)
                nodes.append(_Lit(text[self.pos + 1]))
                self.pos += 2
            elif c == "*":
                start = self.pos
                while self.pos < n and text[self.pos] == "*":
                    self.pos += 1
                nodes.append(_Star() if self.pos - start == 1 else _SuperStar())
            elif c == "?":
                nodes.append(_AnyChar())
                self.pos += 1
            elif c == "[":
                nodes.append(self.char_class())
            elif c == "{":
                nodes.append(self.alternation())
            elif c == "(":
                nodes.append(self.group())
            else:
                nodes.append(_Lit(c))
                self.pos += 1
        return nodes

    def enter(self, opened: int) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"'{{' and '(' nest more than {MAX_NESTING} levels deep", opened)

    def alternation(self) -> _Alt:
        opened = self.pos
        self.enter(opened)
        self.pos += 1
        options: list[tuple[_Node, ...]] = []
        while True:
            options.append(tuple(self.seq("brace")))
            if self.pos >= len(self.text):
                raise self.fail("unbalanced '{' without a matching '}'", opened)
            closer = self.text[self.pos]
            self.pos += 1
            if closer == "}":
                self.depth -= 1
                return _Alt(tuple(options))

    def group(self) -> _Group:
        opened = self.pos
        self.enter(opened)
        self.pos += 1
        self.groups += 1
        index = self.groups
        body = tuple(self.seq("paren"))
        if self.pos >= len(self.text):
            raise self.fail("unbalanced '(' without a matching ')'", opened)
        self.pos += 1
        self.depth -= 1
        return _Group(index, body)

    def char_class(self) -> _Class:
        text, n = self.text, len(self.text)
        opened = self.pos
        self.pos += 1
        negated = self.pos < n and text[self.pos] in "!^"
        if negated:
            self.pos += 1
        singles: set[str] = set()
        ranges: list[tuple[str, str]] = []
        empty = True
        while True:
            if self.pos >= n:
                raise self.fail("unbalanced '[' without a matching ']'", opened)
            if text[self.pos] == "]":
                self.pos += 1
                break
            lo = self.class_char(opened)
            empty = False
            if self.pos + 1 < n and text[self.pos] == "-" and text[self.pos + 1] != "]":
                at = self.pos
                self.pos += 1
                hi = self.class_char(opened)
                if hi < lo:
                    raise self.fail(f"character range {lo}-{hi} is reversed", at)
                ranges.append((lo, hi))
            else:
                singles.add(lo)
        if empty:
            raise self.fail("empty character class", opened)
        if "/" in singles or any(lo <= "/" <= hi for lo, hi in ranges):
            raise self.fail("a character class cannot match '/'", opened)
        return _Class(frozenset(singles), tuple(ranges), negated)

    def class_char(self, opened: int) -> str:
        text = self.text
        if text[self.pos] == "\\":
            if self.pos + 1 >= len(text):
                raise self.fail("unbalanced '[' without a matching ']'", opened)
            self.pos += 2
            return text[self.pos - 1]
        self.pos += 1
        return text[self.pos - 1]


def _normalize(nodes: list[_Node]) -> tuple[_Node, ...]:
    out: list[_Node] = []
    for node in nodes:
        if node == _SLASH and out and out[-1] == _SLASH:
            continue
        out.append(node)
    if not out or out[0] != _SLASH:
        out.insert(0, _SLASH)
    if len(out) > 1 and out[-1] == _SLASH:
        out.pop()
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Rendering (the canonical text of a normalised pattern) and the regex fast path
# --------------------------------------------------------------------------------------------

_SPECIAL: Final = frozenset("*?[]{}(),\\")
_CLASS_SPECIAL: Final = frozenset("]\\-!^")


def _render(nodes: tuple[_Node, ...]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, _Lit):
            parts.append("\\" + node.char if node.char in _SPECIAL else node.char)
        elif isinstance(node, _Star):
            parts.append("*")
        elif isinstance(node, _SuperStar):
            parts.append("**")
        elif isinstance(node, _AnyChar):
            parts.append("?")
        elif isinstance(node, _Class):
            parts.append(_render_class(node))
        elif isinstance(node, _Alt):
            parts.append("{" + ",".join(_render(o) for o in node.options) + "}")
        else:
            parts.append("(" + _render(node.body) + ")")
    return "".join(parts)


def _render_class(node: _Class) -> str:
    def esc(ch: str) -> str:
        return "\\" + ch if ch in _CLASS_SPECIAL else ch

    items = [esc(c) for c in sorted(node.singles)]
    items += [f"{esc(lo)}-{esc(hi)}" for lo, hi in node.ranges]
    return "[" + ("!" if node.negated else "") + "".join(items) + "]"


def _regex_safe(nodes: tuple[_Node, ...]) -> bool:
    """True when a backtracking engine runs this pattern in time linear in the path.

    With no alternation, each ``*`` is boxed in by the next literal ``/`` it cannot cross, so
    it backtracks over one path component only; a single ``**`` backtracks over the whole path
    once, and everything after it is again boxed per component.
    """
    flat: list[_Node] = []

    def flatten(seq: tuple[_Node, ...]) -> bool:
        for node in seq:
            if isinstance(node, _Alt):
                return False
            if isinstance(node, _Group):
                if not flatten(node.body):
                    return False
            else:
                flat.append(node)
        return True

    if not flatten(nodes):
        return False
    superstars = sum(isinstance(n, _SuperStar) for n in flat)
    if superstars > 1:
        return False
    stars_in_component = 0
    for node in flat:
        if node == _SLASH:
            stars_in_component = 0
        elif isinstance(node, _Star | _SuperStar):
            stars_in_component += 1
            if stars_in_component > 1:
                return False
    return True


def _to_regex(nodes: tuple[_Node, ...]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, _Lit):
            parts.append(re.escape(node.char))
        elif isinstance(node, _Star):
            parts.append("[^/]*")
        elif isinstance(node, _SuperStar):
            parts.append(".*")
        elif isinstance(node, _AnyChar):
            parts.append("[^/]")
        elif isinstance(node, _Class):
            items = "".join(re.escape(c) for c in sorted(node.singles))
            items += "".join(f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in node.ranges)
            parts.append(f"[^{items}/]" if node.negated else f"[{items}]")
        elif isinstance(node, _Group):
            parts.append("(" + _to_regex(node.body) + ")")
        else:  # pragma: no cover - _regex_safe keeps alternations away from here
            raise AssertionError("alternation in the regex fast path")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# The automaton: a Thompson program run as a lazy DFA (match) or a Pike VM (captures)
# --------------------------------------------------------------------------------------------

_CHAR, _ANY_NO_SLASH, _ANY, _CLASS, _SPLIT, _JMP, _SAVE, _MATCH = range(8)

# A lazily built DFA may create many states for huge alternations; past this many cached
# transitions the cache is dropped and rebuilt on demand, which keeps memory bounded.
_MAX_DFA_TRANSITIONS: Final = 100_000


class _Program:
    """A compiled pattern plus the caches of the lazy DFA built over it.

    Instruction ``pc`` is ``op[pc]`` with operands in parallel lists: ``char[pc]`` (CHAR),
    ``cls[pc]`` (CLASS), ``x[pc]`` (JMP target, preferred SPLIT branch, SAVE slot) and ``y[pc]``
    (the other SPLIT branch).
    """

    def __init__(self, nodes: tuple[_Node, ...], groups: int) -> None:
        self.op: list[int] = []
        self.char: list[str] = []
        self.cls: list[_Class | None] = []
        self.x: list[int] = []
        self.y: list[int] = []
        self._emit_seq(nodes)
        self.match_pc = self._emit(_MATCH)
        self.slots = 2 * groups
        self._closures: dict[int, frozenset[int]] = {}
        self._state_ids: dict[frozenset[int], int] = {}
        self._states: list[frozenset[int]] = []
        self._accepting: list[bool] = []
        self._transitions: dict[tuple[int, str], int] = {}
        self._start = self._state_id(self._closure(0))

    # -- compilation ------------------------------------------------------------------------

    def _emit(self, op: int, *, char: str = "", cls: _Class | None = None, x: int = -1) -> int:
        self.op.append(op)
        self.char.append(char)
        self.cls.append(cls)
        self.x.append(x)
        self.y.append(-1)
        return len(self.op) - 1

    def _emit_loop(self, op: int) -> None:
        split = self._emit(_SPLIT, x=len(self.op) + 1)  # preferred branch: consume (greedy)
        self._emit(op)
        self._emit(_JMP, x=split)
        self.y[split] = len(self.op)

    def _emit_seq(self, nodes: tuple[_Node, ...]) -> None:
        for node in nodes:
            if isinstance(node, _Lit):
                self._emit(_CHAR, char=node.char)
            elif isinstance(node, _AnyChar):
                self._emit(_ANY_NO_SLASH)
            elif isinstance(node, _Class):
                self._emit(_CLASS, cls=node)
            elif isinstance(node, _Star):
                self._emit_loop(_ANY_NO_SLASH)
            elif isinstance(node, _SuperStar):
                self._emit_loop(_ANY)
            elif isinstance(node, _Group):
                self._emit(_SAVE, x=2 * (node.index - 1))
                self._emit_seq(node.body)
                self._emit(_SAVE, x=2 * (node.index - 1) + 1)
            else:
                # SPLIT o1, next; o1; JMP end; next: SPLIT o2, next2; ...; on; end:
                jumps_to_end: list[int] = []
                for option in node.options[:-1]:
                    split = self._emit(_SPLIT, x=len(self.op) + 1)
                    self._emit_seq(option)
                    jumps_to_end.append(self._emit(_JMP))
                    self.y[split] = len(self.op)
                self._emit_seq(node.options[-1])
                for jump in jumps_to_end:
                    self.x[jump] = len(self.op)

    # -- shared helpers ---------------------------------------------------------------------

    def _consumes(self, pc: int, ch: str) -> bool:
        op = self.op[pc]
        if op == _CHAR:
            return self.char[pc] == ch
        if op == _ANY_NO_SLASH:
            return ch != "/"
        if op == _ANY:
            return True
        if op == _CLASS:
            cls = self.cls[pc]
            return cls is not None and cls.matches(ch)
        return False

    def _closure(self, pc: int) -> frozenset[int]:
        """The consuming (and MATCH) instructions reachable from ``pc`` without input."""
        cached = self._closures.get(pc)
        if cached is not None:
            return cached
        seen: set[int] = set()
        found: set[int] = set()
        stack = [pc]
        while stack:
            at = stack.pop()
            if at in seen:
                continue
            seen.add(at)
            op = self.op[at]
            if op == _JMP:
                stack.append(self.x[at])
            elif op == _SPLIT:
                stack.extend((self.y[at], self.x[at]))
            elif op == _SAVE:
                stack.append(at + 1)
            else:
                found.add(at)
        result = frozenset(found)
        self._closures[pc] = result
        return result

    # -- match: lazy DFA --------------------------------------------------------------------

    def _state_id(self, state: frozenset[int]) -> int:
        sid = self._state_ids.get(state)
        if sid is None:
            sid = len(self._states)
            self._state_ids[state] = sid
            self._states.append(state)
            self._accepting.append(self.match_pc in state)
        return sid

    def _step(self, sid: int, ch: str) -> int:
        nxt: set[int] = set()
        for pc in self._states[sid]:
            if self._consumes(pc, ch):
                nxt |= self._closure(pc + 1)
        if len(self._transitions) >= _MAX_DFA_TRANSITIONS:
            self._transitions.clear()
        target = self._state_id(frozenset(nxt))
        self._transitions[(sid, ch)] = target
        return target

    def match(self, path: str) -> bool:
        sid = self._start
        transitions = self._transitions
        states = self._states
        for ch in path:
            nxt = transitions.get((sid, ch))
            sid = self._step(sid, ch) if nxt is None else nxt
            if not states[sid]:
                return False
        return self._accepting[sid]

    # -- captures: Pike VM (leftmost-first priority, same answers as a backtracking engine) --

    def captures(self, path: str) -> tuple[int, ...] | None:
        """Capture slot offsets of the preferred full match (-1 = unset), or None."""
        marks = [-1] * len(self.op)
        threads = self._add_threads([(0, (-1,) * self.slots)], 0, marks)
        for pos, ch in enumerate(path, start=1):
            seeds = [(pc + 1, caps) for pc, caps in threads if self._consumes(pc, ch)]
            if not seeds:
                return None
            threads = self._add_threads(seeds, pos, marks)
        for pc, caps in threads:
            if pc == self.match_pc:
                return caps
        return None

    def _add_threads(
        self, seeds: list[tuple[int, tuple[int, ...]]], pos: int, marks: list[int]
    ) -> list[tuple[int, tuple[int, ...]]]:
        """Follow epsilon edges from ``seeds`` (highest priority first), keeping the first
        thread to reach each instruction: a later one has the same future and lower priority."""
        out: list[tuple[int, tuple[int, ...]]] = []
        op, x, y = self.op, self.x, self.y
        for seed in seeds:
            stack = [seed]
            while stack:
                pc, caps = stack.pop()
                if marks[pc] == pos:
                    continue
                marks[pc] = pos
                code = op[pc]
                if code == _JMP:
                    stack.append((x[pc], caps))
                elif code == _SPLIT:
                    stack.append((y[pc], caps))
                    stack.append((x[pc], caps))
                elif code == _SAVE:
                    slot = x[pc]
                    stack.append((pc + 1, (*caps[:slot], pos, *caps[slot + 1 :])))
                else:
                    out.append((pc, caps))
        return out


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


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

    def __init__(self, nodes: tuple[_Node, ...], groups: int, *, use_regex: bool = True) -> None:
        self.pattern: str = _render(nodes)
        self.groups: int = groups
        self.is_root: bool = nodes == (_SLASH,)
        self._regex: re.Pattern[str] | None = None
        self._program: _Program | None = None
        if use_regex and _regex_safe(nodes):
            self._regex = re.compile(_to_regex(nodes), re.DOTALL)
        else:
            self._program = _Program(nodes, groups)

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


def _parse(pattern: str) -> tuple[tuple[_Node, ...], int]:
    if not isinstance(pattern, str):
        raise InvalidArgument(f"glob pattern must be a string, not {type(pattern).__name__}")
    if pattern == "":
        raise InvalidArgument("invalid glob pattern '': the pattern is empty (use '/' for the whole repo)")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidArgument(
            f"invalid glob pattern: {len(pattern)} characters is longer than the {MAX_PATTERN_LENGTH}-character limit",
            reason="INVALID_GLOB",
        )
    if "\x00" in pattern:
        raise InvalidArgument(
            f"invalid glob pattern {pattern[:200]!r}: NUL characters are not allowed",
            reason="INVALID_GLOB",
        )
    parser = _Parser(pattern)
    nodes = _normalize(parser.parse())
    return nodes, parser.groups


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Glob:
    """Parse and normalise ``pattern``; raise InvalidArgument when it is malformed."""
    nodes, groups = _parse(pattern)
    return Glob(nodes, groups)


def _compile_without_regex(pattern: str) -> Glob:
    """The same pattern forced onto the automaton; lets tests check both engines agree."""
    nodes, groups = _parse(pattern)
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
