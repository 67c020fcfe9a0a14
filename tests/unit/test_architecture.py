"""The house rules of docs/architecture.md, checked on the source: imports point inward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server" / "tuskd"
CLIENT = Path(__file__).resolve().parents[2] / "client" / "tusk"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "proto" not in p.parts)


FORBIDDEN = {
    # layer: prefixes it must never import
    "domain": (
        "grpc",
        "google.protobuf",
        "sqlite3",
        "tusk",
        "tuskd.store",
        "tuskd.services",
        "tuskd.engine",
        "tuskd.transport",
        "tuskd.blobs",
        "tuskd.wiring",
    ),
    "services": ("grpc", "google.protobuf", "sqlite3", "tusk.", "tuskd.transport", "tuskd.wiring"),
    "engine": ("grpc", "google.protobuf", "sqlite3", "tusk.", "tuskd.transport", "tuskd.wiring"),
    "store": ("grpc", "google.protobuf", "tusk.", "tuskd.services", "tuskd.engine", "tuskd.transport", "tuskd.wiring"),
    "blobs": (
        "grpc",
        "google.protobuf",
        "sqlite3",
        "tusk.",
        "tuskd.services",
        "tuskd.engine",
        "tuskd.transport",
        "tuskd.store",
        "tuskd.wiring",
    ),
}


def _violations(layer: str, root: Path = SERVER) -> list[str]:
    found = []
    for path in _modules(root / layer):
        for name in _imports(path):
            if any(
                name == bad.rstrip(".") or name.startswith(bad if bad.endswith(".") else bad + ".") or name == bad
                for bad in FORBIDDEN[layer]
            ):
                found.append(f"{path.relative_to(root.parent)} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_inward(layer: str) -> None:
    assert _violations(layer) == []


def test_only_wiring_names_the_concrete_store_and_blob_store() -> None:
    concrete = ("tuskd.store.sqlite", "tuskd.store.sqlite_pps", "tuskd.blobs.local")
    users = {
        str(path.relative_to(SERVER.parent))
        for path in _modules(SERVER)
        if path.parent.name not in ("store", "blobs") and any(n in concrete for n in _imports(path))
    }
    assert users == {"tuskd/wiring.py"}


def test_the_client_package_does_not_import_the_server_except_to_serve() -> None:
    offenders = [
        str(path.relative_to(CLIENT.parent))
        for path in _modules(CLIENT)
        if any(n == "tuskd" or n.startswith("tuskd.") for n in _imports(path)) and path.name != "serve.py"
    ]
    assert offenders == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    # Guard against a checker that can never fail: forbidden imports in a sample tree are reported.
    (tmp_path / "tuskd" / "domain").mkdir(parents=True)
    (tmp_path / "tuskd" / "domain" / "bad.py").write_text("import grpc\nfrom tuskd.store.sqlite import X\n")
    found = _violations("domain", tmp_path / "tuskd")
    assert sorted(found) == ["tuskd/domain/bad.py imports grpc", "tuskd/domain/bad.py imports tuskd.store.sqlite"]
