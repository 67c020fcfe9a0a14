"""The namespace helper runs as ``python -I -S engine/zygote.py``: no site-packages, only the
standard library and its own ``zygote_*`` modules may be imported by it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "server" / "tuskd" / "engine"


def _outside_imports(path: Path) -> list[str]:
    """Modules ``path`` imports that are neither the standard library nor a ``zygote_*`` module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [("." * node.level) + (node.module or "")]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if name == "__future__" or top in sys.stdlib_module_names:
                continue
            if name.startswith("tuskd.engine.zygote_"):
                continue
            found.append(f"{path.name} imports {name}")
    return found


def test_the_helper_modules_import_only_the_standard_library_and_each_other() -> None:
    modules = [ENGINE / "zygote.py", *sorted(ENGINE.glob("zygote_*.py"))]
    assert len(modules) > 1
    assert [bad for path in modules for bad in _outside_imports(path)] == []


def test_the_check_sees_an_outside_import(tmp_path: Path) -> None:
    # Guard against a check that can never fail.
    sample = tmp_path / "zygote_bad.py"
    sample.write_text(
        "import os\nimport grpc\nfrom tuskd.engine.procs import x\nfrom tuskd.engine.zygote_procs import y\n"
    )
    assert _outside_imports(sample) == ["zygote_bad.py imports grpc", "zygote_bad.py imports tuskd.engine.procs"]
