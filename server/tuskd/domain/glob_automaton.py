"""The bounded path of glob matching: a normalised glob compiled to a Thompson program, run as a
lazily built DFA (``match``, one dict lookup per path character) or a Pike VM (``captures``,
O(len(path) * len(pattern)) in the worst case)."""

from __future__ import annotations

from typing import Final

from .glob_syntax import AnyChar, CharClass, Group, Lit, Node, Star, SuperStar

_CHAR, _ANY_NO_SLASH, _ANY, _CLASS, _SPLIT, _JMP, _SAVE, _MATCH = range(8)

# A lazily built DFA may create many states for huge alternations; past this many cached
# transitions the cache is dropped and rebuilt on demand, which keeps memory bounded.
_MAX_DFA_TRANSITIONS: Final = 100_000


class Program:
    """A compiled pattern plus the caches of the lazy DFA built over it.

    Instruction ``pc`` is ``op[pc]`` with operands in parallel lists: ``char[pc]`` (CHAR),
    ``cls[pc]`` (CLASS), ``x[pc]`` (JMP target, preferred SPLIT branch, SAVE slot) and ``y[pc]``
    (the other SPLIT branch).
    """

    def __init__(self, nodes: tuple[Node, ...], groups: int) -> None:
        self.op: list[int] = []
        self.char: list[str] = []
        self.cls: list[CharClass | None] = []
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

    def _emit(self, op: int, *, char: str = "", cls: CharClass | None = None, x: int = -1) -> int:
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

    def _emit_seq(self, nodes: tuple[Node, ...]) -> None:
        for node in nodes:
            if isinstance(node, Lit):
                self._emit(_CHAR, char=node.char)
            elif isinstance(node, AnyChar):
                self._emit(_ANY_NO_SLASH)
            elif isinstance(node, CharClass):
                self._emit(_CLASS, cls=node)
            elif isinstance(node, Star):
                self._emit_loop(_ANY_NO_SLASH)
            elif isinstance(node, SuperStar):
                self._emit_loop(_ANY)
            elif isinstance(node, Group):
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
