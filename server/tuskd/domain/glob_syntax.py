"""The syntax of Pachyderm glob patterns: the parser, the normalised syntax tree it builds, and the
canonical text of a tree (see :mod:`tuskd.domain.globs` for the syntax and the normalisation rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from .errors import InvalidArgument

MAX_PATTERN_LENGTH: Final = 4096
# Deepest nesting of '{...}' and '(...)' a pattern may have. The parser, the normaliser and
# the matchers recurse once per level; real globs nest two or three levels.
MAX_NESTING: Final = 32


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    char: str


@dataclass(frozen=True, slots=True)
class Star:
    """``*``: any run of non-``/`` characters."""


@dataclass(frozen=True, slots=True)
class SuperStar:
    """``**``: any run of characters, ``/`` included."""


@dataclass(frozen=True, slots=True)
class AnyChar:
    """``?``: one non-``/`` character."""


@dataclass(frozen=True, slots=True)
class CharClass:
    singles: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def matches(self, ch: str) -> bool:
        if ch == "/":
            return False
        hit = ch in self.singles or any(lo <= ch <= hi for lo, hi in self.ranges)
        return hit != self.negated


@dataclass(frozen=True, slots=True)
class Alt:
    options: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Group:
    index: int
    body: tuple[Node, ...]


Node: TypeAlias = "Lit | Star | SuperStar | AnyChar | CharClass | Alt | Group"
SLASH: Final = Lit("/")


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

    def parse(self) -> list[Node]:
        nodes = self.seq("top")
        # seq("top") only stops at the end of the text: stray closers raise inside it.
        return nodes

    def seq(self, ctx: str) -> list[Node]:
        text, n = self.text, len(self.text)
        nodes: list[Node] = []
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
                nodes.append(Lit(text[self.pos + 1]))
                self.pos += 2
            elif c == "*":
                start = self.pos
                while self.pos < n and text[self.pos] == "*":
                    self.pos += 1
                nodes.append(Star() if self.pos - start == 1 else SuperStar())
            elif c == "?":
                nodes.append(AnyChar())
                self.pos += 1
            elif c == "[":
                nodes.append(self.char_class())
            elif c == "{":
                nodes.append(self.alternation())
            elif c == "(":
                nodes.append(self.group())
            else:
                nodes.append(Lit(c))
                self.pos += 1
        return nodes

    def enter(self, opened: int) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"'{{' and '(' nest more than {MAX_NESTING} levels deep", opened)

    def alternation(self) -> Alt:
        opened = self.pos
        self.enter(opened)
        self.pos += 1
        options: list[tuple[Node, ...]] = []
        while True:
            options.append(tuple(self.seq("brace")))
            if self.pos >= len(self.text):
                raise self.fail("unbalanced '{' without a matching '}'", opened)
            closer = self.text[self.pos]
            self.pos += 1
            if closer == "}":
                self.depth -= 1
                return Alt(tuple(options))

    def group(self) -> Group:
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
        return Group(index, body)

    def char_class(self) -> CharClass:
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
        return CharClass(frozenset(singles), tuple(ranges), negated)

    def class_char(self, opened: int) -> str:
        text = self.text
        if text[self.pos] == "\\":
            if self.pos + 1 >= len(text):
                raise self.fail("unbalanced '[' without a matching ']'", opened)
            self.pos += 2
            return text[self.pos - 1]
        self.pos += 1
        return text[self.pos - 1]


def _normalize(nodes: list[Node]) -> tuple[Node, ...]:
    out: list[Node] = []
    for node in nodes:
        if node == SLASH and out and out[-1] == SLASH:
            continue
        out.append(node)
    if not out or out[0] != SLASH:
        out.insert(0, SLASH)
    if len(out) > 1 and out[-1] == SLASH:
        out.pop()
    return tuple(out)


def parse(pattern: str) -> tuple[tuple[Node, ...], int]:
    """The normalised syntax tree of ``pattern`` and its number of capture groups; InvalidArgument
    when it is malformed or past the bounds."""
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


# --------------------------------------------------------------------------------------------
# Rendering (the canonical text of a normalised pattern)
# --------------------------------------------------------------------------------------------

_SPECIAL: Final = frozenset("*?[]{}(),\\")
_CLASS_SPECIAL: Final = frozenset("]\\-!^")


def render(nodes: tuple[Node, ...]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Lit):
            parts.append("\\" + node.char if node.char in _SPECIAL else node.char)
        elif isinstance(node, Star):
            parts.append("*")
        elif isinstance(node, SuperStar):
            parts.append("**")
        elif isinstance(node, AnyChar):
            parts.append("?")
        elif isinstance(node, CharClass):
            parts.append(_render_class(node))
        elif isinstance(node, Alt):
            parts.append("{" + ",".join(render(o) for o in node.options) + "}")
        else:
            parts.append("(" + render(node.body) + ")")
    return "".join(parts)


def _render_class(node: CharClass) -> str:
    def esc(ch: str) -> str:
        return "\\" + ch if ch in _CLASS_SPECIAL else ch

    items = [esc(c) for c in sorted(node.singles)]
    items += [f"{esc(lo)}-{esc(hi)}" for lo, hi in node.ranges]
    return "[" + ("!" if node.negated else "") + "".join(items) + "]"
