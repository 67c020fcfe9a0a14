"""The layers of docs/architecture.md are import-linter contracts (pyproject.toml), and they hold.

`make lint` runs the same check (``lint-imports``); these tests keep it in the test suite too,
prove the contracts can fail, and keep the document's layer lists equal to the contracts'.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> list[dict[str, object]]:
    return list(read_configuration(str(PYPROJECT))["contracts_options"])


def _lint(*args: str, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *args, str(PYPROJECT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_every_contract_holds() -> None:
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in result.stdout


def test_the_contracts_cover_every_package_of_the_server_and_the_client() -> None:
    layers = {c["id"]: c for c in _contracts() if c["type"] == "layers"}
    assert {c["containers"][0] for c in layers.values()} == {"tuskd", "tusk"}
    # exhaustive: a module or package added to either without a place in its layers breaks them.
    assert all(c["exhaustive"] == "True" for c in layers.values())


def test_a_broken_layer_is_reported(tmp_path: Path) -> None:
    # A copy of the server with two violations: the domain imports grpc, the engine a service.
    copy = tmp_path / "server" / "tuskd"
    shutil.copytree(ROOT / "server" / "tuskd", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "domain" / "ids.py").write_text((copy / "domain" / "ids.py").read_text() + "\nimport grpc\n")
    ports = copy / "engine" / "ports.py"
    ports.write_text(ports.read_text() + "\nfrom tuskd.services import events\n")
    result = _lint(pythonpath=os.pathsep.join([str(copy.parent), str(ROOT / "client")]))
    assert result.returncode != 0
    assert re.search(r"tuskd\.domain\.ids -> grpc", result.stdout), result.stdout
    assert re.search(r"tuskd\.engine\.ports -> tuskd\.services\.events", result.stdout), result.stdout


def _documented_layers() -> dict[str, list[str]]:
    """``id -> layers`` from the doc's fenced blocks tagged ```` ```layers <contract id> ````."""
    blocks = re.findall(r"^```layers (\S+)\n(.*?)^```", ARCHITECTURE_DOC.read_text(), flags=re.M | re.S)
    return {cid: [line.strip() for line in body.splitlines() if line.strip()] for cid, body in blocks}


def test_the_architecture_doc_draws_exactly_the_contracted_layers() -> None:
    contracted = {str(c["id"]): list(c["layers"]) for c in _contracts() if c["type"] == "layers"}
    assert _documented_layers() == contracted


def test_the_architecture_doc_names_every_contract() -> None:
    text = ARCHITECTURE_DOC.read_text()
    named = set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.M))
    assert named == {str(c["id"]) for c in _contracts()}
