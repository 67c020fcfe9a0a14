"""Write (or check) docs/api.md's table of every method of Pachyderm 2.12's API.

The table is made from the server's own registry (what each servicer serves, the reasons of
transport/unserved.py, the notes of transport/api_notes.py), so it can say nothing the code does
not do. Usage:
    python scripts/api_doc.py          # rewrite the table in docs/api.md
    python scripts/api_doc.py --check  # exit 1 if docs/api.md's table is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tuskd.transport.api_notes import DIFFERENCES
from tuskd.transport.registry import api_status

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BEGIN = "<!-- api-table: made by scripts/api_doc.py; do not edit by hand -->"
END = "<!-- /api-table -->"


def table() -> str:
    rows = ["| method | tusk answers |", "|---|---|"]
    for status in api_status():
        if status.served:
            note = DIFFERENCES.get(status.method)
            answer = f"served, with a difference: {note}" if note else "served as pachd"
        elif status.answer.startswith(("OK", "UNIMPLEMENTED `")):
            answer = f"as pachd without enterprise: {status.answer}"
        else:
            answer = f"UNIMPLEMENTED: {status.answer}"
        rows.append(f"| `{status.method}` | {answer} |")
    return "\n".join(rows)


def render(doc: str) -> str:
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    return doc[:start] + "\n" + table() + "\n" + doc[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    doc = DOC.read_text()
    fresh = render(doc)
    if args.check:
        if fresh != doc:
            print(f"{DOC} is stale: run `python scripts/api_doc.py`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
