"""A text pipeline with the standard library only: the word counts of every input file.

For each file under ``/pfs/books`` (one per datum with the spec's glob ``/*``) it writes a file of
the same name to ``/pfs/out`` with one ``<count> <word>`` line per distinct word, most frequent
first (ties in alphabetical order). Words are lowercased runs of letters and apostrophes.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

WORD = re.compile(r"[a-z']+")


def pfs_root() -> Path:
    # tusk mounts the datum at /pfs in a private mount namespace; where the host allows none, the
    # working directory is laid out like /pfs instead (docs/jobs.md).
    return Path("/pfs") if Path("/pfs/out").is_dir() else Path.cwd()


def count_words(text: str) -> list[tuple[str, int]]:
    counts = Counter(w.strip("'") for w in WORD.findall(text.lower()))
    counts.pop("", None)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def main() -> None:
    root = pfs_root()
    books, out = root / "books", root / "out"
    if not books.is_dir():
        raise SystemExit(f"{books} does not exist: the spec's input must be the repo 'books'")
    for dirpath, _, filenames in os.walk(books, followlinks=True):
        for name in sorted(filenames):
            source = Path(dirpath) / name
            target = out / source.relative_to(books)
            target.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"{n} {word}\n" for word, n in count_words(source.read_text(encoding="utf-8", errors="replace"))]
            target.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
