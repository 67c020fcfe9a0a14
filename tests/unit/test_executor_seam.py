"""The executor seam carries plain data: the modules on its far side (what runs a datum, on
whichever machine) import no store, no service, no job runner and no job control."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "server" / "tuskd" / "engine"

FAR_SIDE = ["datum_work.py", "datum_execution.py", "executor.py", "worker_pool.py", "workspace.py", "datum_tree.py", "slot_pool.py",
    "janitor.py", "outputs.py"]
NEAR_SIDE = (
    "tuskd.store",
    "tuskd.services",
    "tuskd.engine.job_control",
    "tuskd.engine.job_runner",
    "tuskd.engine.job_datums",
    "tuskd.engine.job_context",
    "tuskd.engine.datum_tasks",
    "tuskd.engine.scheduler",
    "tuskd.engine.logs",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", FAR_SIDE)
def test_the_far_side_of_the_executor_seam_imports_nothing_of_the_job_runner(module: str) -> None:
    found = sorted(n for n in _imports(ENGINE / module) if any(n == b or n.startswith(b + ".") for b in NEAR_SIDE))
    assert found == []
