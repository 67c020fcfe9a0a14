"""Runs tusk's own ``tuskd.app.serve`` in this process, with any ServerConfig field as a flag.

``tusk serve`` exposes only the flags users need; benchmarks also need e.g. ``--rpc-workers``
(1,000 concurrent WaitJob streams hold 1,000 server threads). Same server code, same lifecycle
(SIGTERM drains and stops), so RSS read from /proc is the server's own.

Usage: python bench/serve_proc.py --address 127.0.0.1:PORT --data-dir DIR [--rpc-workers 1200 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tuskd import logs  # noqa: E402
from tuskd.app import serve  # noqa: E402
from tuskd.config import ServerConfig  # noqa: E402

_TYPES = {"int": int, "float": float, "bool": lambda s: s.lower() in ("1", "true", "yes"), "Path": Path}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log-level", default="WARNING")
    for f in dataclasses.fields(ServerConfig):
        kind = str(f.type).split(" |")[0]
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=_TYPES.get(kind, str), default=None)
    args = vars(parser.parse_args())
    logs.configure(args.pop("log_level"))
    overrides = {k: v for k, v in args.items() if v is not None}
    serve(ServerConfig(**overrides))


if __name__ == "__main__":
    main()
