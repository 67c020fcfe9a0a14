"""Peers for side-by-side cases, each in a virtualenv of its own (`.venv-peers/`, made on first
use), so their dependencies never mix with tusk's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import BenchError

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = ROOT / ".venv-peers"
SNAKEMAKE = "snakemake==9.27.1"


def snakemake_command() -> list[str]:
    """The ``snakemake`` command of the peers' virtualenv, installing it there when missing."""
    exe = PEERS_VENV / "bin" / "snakemake"
    if not exe.exists():
        python = str(PEERS_VENV / "bin" / "python")
        steps = [
            [sys.executable, "-m", "venv", str(PEERS_VENV)],
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", SNAKEMAKE],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BenchError(f"could not install the peer ({' '.join(step)}): {done.stderr[-1000:]}")
    return [str(exe)]
