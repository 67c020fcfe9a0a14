"""Runs every benchmark case and prints one table; `--tiny` proves each case still works (CI).

Usage: python bench/run.py [--tiny] [--only NAME ...] [--skip NAME ...]
Full runs also write the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analysis import METHOD, MISSED, NOTES  # noqa: E402
from bench.harness import CASES, Machine, Row, Size, render, write_doc  # noqa: E402


def load_cases() -> None:
    for info in pkgutil.iter_modules([str(ROOT / "bench")]):
        if info.name.startswith("case_"):
            importlib.import_module(f"bench.{info.name}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: check the cases run, not speed")
    parser.add_argument("--only", nargs="*", default=None, help="run only these cases")
    parser.add_argument(
        "--skip", nargs="*", default=[], help="leave these cases out (a full run still writes the doc, naming them)"
    )
    args = parser.parse_args()
    load_cases()
    size = Size(tiny=args.tiny)
    rows: list[Row] = []
    missed: list[str] = []  # case names with a missed goal, in run order
    failures: list[str] = []
    timings: list[str] = []
    load_before = os.getloadavg()
    started = time.perf_counter()
    for c in CASES:
        if (args.only and c.name not in args.only) or c.name in args.skip:
            continue
        print(f"-- {c.name}", flush=True)
        t0 = time.perf_counter()
        try:
            got = c.fn(size)
        except Exception as exc:  # report and keep going: one broken case must not hide the others
            failures.append(f"{c.name}: {type(exc).__name__}: {exc}")
            print(f"   case {c.name} failed: {type(exc).__name__}: {exc}", flush=True)
            got = []
        elapsed = time.perf_counter() - t0
        timings.append(f"{c.name} {elapsed:.0f} s")
        print(f"   {elapsed:.1f} s", flush=True)
        rows.extend(got)
        if any(r.met is False for r in got) and c.name not in missed:
            missed.append(c.name)
    total = time.perf_counter() - started
    load_after = os.getloadavg()
    table = render(rows)
    print(table)
    print(f"total {total:.0f} s; load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    if not args.tiny and not args.only:
        notes = [
            f"Whole run: {total / 60:.1f} min ({', '.join(timings)}). Load average (1 min) before the "
            f"run {load_before[0]:.1f}, after {load_after[0]:.1f}, on {os.cpu_count()} cores.\n",
        ]
        if args.skip:
            notes.append(
                f"Not run in this run (left out with --skip; measure with `bench/run.py --only NAME`): "
                f"{', '.join(args.skip)}.\n"
            )
        if failures:
            notes.append("## Cases that failed to measure\n\n" + "\n".join(f"- {f}" for f in failures) + "\n")
        if missed:
            notes.append("## Missed goals: the last analysis of each, if still about this code\n")
            notes += [
                (MISSED[name].for_this_run(name) if name in MISSED
                 else f"**{name}.** Not analysed yet: profile it (bench/README.md).") + "\n"
                for name in missed
            ]  # fmt: skip
        notes.append("## Other findings\n\n" + NOTES.for_this_run("load_mix (latency under load)") + "\n")
        notes.append(METHOD)
        write_doc(ROOT / "docs" / "benchmarks.md", rows, Machine(), "\n".join(notes))
        print("wrote docs/benchmarks.md")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
