"""Benchmark plumbing: a case measures tusk and a real baseline in the same run.

A case is a function ``(size: Size) -> list[Row]``. Each Row carries our figure, the
baseline's figure measured side by side, the ratio between them, and the goal, so the table
says how close we are to what this machine can do — never an absolute time.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Size:
    tiny: bool

    def pick(self, full: int, tiny: int) -> int:
        return tiny if self.tiny else full


@dataclass
class Row:
    case: str
    ours: float
    baseline: float
    unit: str
    ratio: float
    goal: str
    met: bool | None
    note: str = ""


@dataclass
class Case:
    name: str
    fn: Callable[[Size], list[Row]]


CASES: list[Case] = []


def case(name: str) -> Callable[[Callable[[Size], list[Row]]], Callable[[Size], list[Row]]]:
    def register(fn: Callable[[Size], list[Row]]) -> Callable[[Size], list[Row]]:
        CASES.append(Case(name, fn))
        return fn

    return register


@contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class Machine:
    cores: int = field(default_factory=lambda: os.cpu_count() or 0)
    memory_gib: float = field(default_factory=lambda: os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    python: str = field(default_factory=lambda: sys.version.split()[0])
    platform: str = field(default_factory=platform.platform)

    def describe(self) -> str:
        import grpc

        return (
            f"{self.cores} cores, {self.memory_gib:.1f} GiB memory, Python {self.python}, "
            f"grpcio {grpc.__version__}, {self.platform}"
        )


def render(rows: list[Row]) -> str:
    header = "| case | ours | baseline | ratio | goal | met | note |\n|---|---|---|---|---|---|---|\n"
    lines = []
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        ratio = "-" if math.isnan(r.ratio) else f"{r.ratio:.3f}"
        base = "-" if math.isnan(r.baseline) else f"{r.baseline:.4g} {r.unit}"
        lines.append(f"| {r.case} | {r.ours:.4g} {r.unit} | {base} | {ratio} | {r.goal} | {met} | {r.note} |")
    return header + "\n".join(lines) + "\n"


def write_doc(path: Path, rows: list[Row], machine: Machine, notes: str = "") -> None:
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench` (bench/run.py). Each row measures tusk and a real baseline side by "
        "side in the same run on the same machine; the ratio is what the goal is about.\n\n"
        f"Machine: {machine.describe()}\n\n"
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        + render(rows)
        + ("\n" + notes if notes else "")
    )
    path.write_text(text)
