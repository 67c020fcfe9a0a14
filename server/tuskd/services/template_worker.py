"""Renders one jsonnet template in a process of its own (run by tuskd.services.templates).

Reads ``{"template": ..., "args": {...}}`` as JSON on stdin, binds each arg as a top-level
argument string (as pachd does), and writes ``{"json": ...}`` or ``{"error": ...}`` to stdout.
Imports are refused: a template is rendered from its own text only.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any


def _no_imports(base: str, rel: str) -> Any:
    raise RuntimeError(f"imports are not supported by tusk's RenderTemplate (import of {rel!r})")


def main() -> int:
    # Limits first, before jsonnet is even imported: argv is (address-space bytes, CPU seconds).
    memory, cpu = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    request = json.load(sys.stdin)
    try:
        import _jsonnet

        text = _jsonnet.evaluate_snippet(
            "template", request["template"], tla_vars=request["args"], import_callback=_no_imports
        )
        json.dump({"json": text}, sys.stdout)
    except RuntimeError as exc:  # jsonnet's errors (syntax, runtime, refused import)
        json.dump({"error": str(exc)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
