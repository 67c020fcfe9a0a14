"""Benchmark plumbing: a case measures tusk and a baseline side by side in the same run.

A case is a function ``(size: Size) -> list[Row]``. Each Row carries our figure, the
baseline's figure measured side by side, the ratio between them, the goal, and what the
baseline is: another program doing the same work (a bare grpcio server, plain subprocesses, a
plain write, a peer), or tusk itself in another setting (its own single pipeline, its first job,
a smaller history), said plainly in the row. A row whose figure is a quantity per unit (RSS per
stream) has no baseline and no ratio.
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
    # What the baseline column is, printed in the table: "bare grpcio server (own process)",
    # "tusk itself: its first job", "none (a quantity per stream)". Required: no row without it.
    against: str = ""

    def __post_init__(self) -> None:
        if not self.against:
            raise ValueError(f"row {self.case!r} does not say what its baseline is")


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
    header = "| case | ours | baseline | baseline is | ratio | goal | met | note |\n|---|---|---|---|---|---|---|---|\n"
    lines = []
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        ratio = "-" if math.isnan(r.ratio) else f"{r.ratio:.3f}"
        base = "-" if math.isnan(r.baseline) else f"{r.baseline:.4g} {r.unit}"
        ours = "-" if math.isnan(r.ours) else f"{r.ours:.4g} {r.unit}"
        lines.append(f"| {r.case} | {ours} | {base} | {r.against} | {ratio} | {r.goal} | {met} | {r.note} |")
    return header + "\n".join(lines) + "\n"


def write_doc(path: Path, rows: list[Row], machine: Machine, notes: str = "") -> None:
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench` (bench/run.py). Each row measures tusk and its baseline side by side "
        "in the same run on the same machine; the ratio is what the goal is about. The `baseline is` "
        "column says what the baseline is: another program doing the same work (a bare grpcio "
        "server, plain subprocesses, a plain write, a peer), or, where it says `tusk itself`, tusk "
        "in another setting (its first job, its own single pipeline, a smaller history): those rows "
        "compare tusk with itself, not with the machine. A row with no baseline gives a quantity per "
        "unit against an absolute goal.\n\n"
        f"Machine: {machine.describe()}\n\n"
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        + render(rows)
        + ("\n" + notes if notes else "")
    )
    path.write_text(text)
