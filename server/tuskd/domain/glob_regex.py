"""The fast path of glob matching: a normalised glob translated to a Python regex, for the patterns
whose shape cannot make a backtracking engine blow up."""

from __future__ import annotations

import re

from .glob_syntax import SLASH, Alt, AnyChar, CharClass, Group, Lit, Node, Star, SuperStar


def regex_safe(nodes: tuple[Node, ...]) -> bool:
    """True when a backtracking engine runs this pattern in time linear in the path.

    With no alternation, each ``*`` is boxed in by the next literal ``/`` it cannot cross, so
    it backtracks over one path component only; a single ``**`` backtracks over the whole path
    once, and everything after it is again boxed per component.
    """
    flat: list[Node] = []

    def flatten(seq: tuple[Node, ...]) -> bool:
        for node in seq:
            if isinstance(node, Alt):
                return False
            if isinstance(node, Group):
                if not flatten(node.body):
                    return False
            else:
                flat.append(node)
        return True

    if not flatten(nodes):
        return False
    superstars = sum(isinstance(n, SuperStar) for n in flat)
    if superstars > 1:
        return False
    stars_in_component = 0
    for node in flat:
        if node == SLASH:
            stars_in_component = 0
        elif isinstance(node, Star | SuperStar):
            stars_in_component += 1
            if stars_in_component > 1:
                return False
    return True


def to_regex(nodes: tuple[Node, ...]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Lit):
            parts.append(re.escape(node.char))
        elif isinstance(node, Star):
            parts.append("[^/]*")
        elif isinstance(node, SuperStar):
            parts.append(".*")
        elif isinstance(node, AnyChar):
            parts.append("[^/]")
        elif isinstance(node, CharClass):
            items = "".join(re.escape(c) for c in sorted(node.singles))
            items += "".join(f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in node.ranges)
            parts.append(f"[^{items}/]" if node.negated else f"[{items}]")
        elif isinstance(node, Group):
            parts.append("(" + to_regex(node.body) + ")")
        else:  # pragma: no cover - regex_safe keeps alternations away from here
            raise AssertionError("alternation in the regex fast path")
    return "".join(parts)
