"""Runs every benchmark case and prints one table; `--tiny` proves each case still works (CI).

Usage: python bench/run.py [--tiny] [--only NAME ...]
Full runs also write the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import CASES, Machine, Row, Size, render, write_doc  # noqa: E402


def load_cases() -> None:
    for info in pkgutil.iter_modules([str(ROOT / "bench")]):
        if info.name.startswith("case_"):
            importlib.import_module(f"bench.{info.name}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: check the cases run, not speed")
    parser.add_argument("--only", nargs="*", default=None, help="run only these cases")
    args = parser.parse_args()
    load_cases()
    size = Size(tiny=args.tiny)
    rows: list[Row] = []
    failed = 0
    for c in CASES:
        if args.only and c.name not in args.only:
            continue
        print(f"-- {c.name}", flush=True)
        try:
            rows.extend(c.fn(size))
        except Exception as exc:  # report and keep going: one broken case must not hide the others
            failed += 1
            print(f"   case {c.name} failed: {type(exc).__name__}: {exc}", flush=True)
    table = render(rows)
    print(table)
    if not args.tiny and not args.only:
        write_doc(ROOT / "docs" / "benchmarks.md", rows, Machine())
        print("wrote docs/benchmarks.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
