"""Generate the Python protobuf and gRPC modules from the tusk contract.

The one generator for ``client/tusk/proto``: every ``.proto`` under ``protos/`` is compiled with
grpcio-tools (messages, type stubs and gRPC stubs) into ``client/``. The proto files live under
``protos/tusk/proto/...`` so the generated imports (``tusk.proto.pfs_v2.pfs_pb2``) need no rewriting.

Usage (from any directory):
    python scripts/gen_protos.py          # regenerate in place
    python scripts/gen_protos.py --check  # exit 1 if the checked-in code is stale
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]  # grpcio-tools ships no stubs

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
OUT_ROOT = REPO_ROOT / "client"
PACKAGE_DIR = Path("tusk") / "proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _proto_files() -> list[Path]:
    # Sorted, relative to the include root: protoc records these names in the descriptors.
    return sorted(p.relative_to(PROTO_ROOT) for p in PROTO_ROOT.rglob("*.proto"))


def _well_known_include() -> str:
    return str(resources.files("grpc_tools") / "_proto")


def _is_generated(path: Path) -> bool:
    return path.name.endswith(GENERATED_SUFFIXES)


def generate(out_root: Path) -> None:
    """Compile every proto into ``out_root`` and add the package ``__init__.py`` files."""
    protos = _proto_files()
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_ROOT}")
    package_root = out_root / PACKAGE_DIR
    if package_root.exists():
        # Drop earlier output so a removed or renamed proto leaves no orphan module behind.
        for stale in package_root.rglob("*"):
            if stale.is_file() and _is_generated(stale):
                stale.unlink()
    out_root.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{_well_known_include()}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(p) for p in protos),
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    # Every directory from tusk/proto down to each generated module must be a regular package.
    init_dirs = {out_root / PACKAGE_DIR}
    for proto in protos:
        for parent in (out_root / proto).parents:
            if parent == out_root / PACKAGE_DIR or not parent.is_relative_to(out_root / PACKAGE_DIR):
                break
            init_dirs.add(parent)
    for directory in sorted(init_dirs):
        (directory / "__init__.py").touch(exist_ok=True)


def _tree(root: Path) -> dict[Path, Path]:
    base = root / PACKAGE_DIR
    return {
        p.relative_to(base): p
        for p in base.rglob("*")
        if p.is_file() and (_is_generated(p) or p.name == "__init__.py")
    }


def check() -> int:
    """Return 0 when ``client/tusk/proto`` matches fresh output byte for byte, else 1."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root)
        fresh, current = _tree(fresh_root), _tree(OUT_ROOT)
        stale = sorted(
            str(rel)
            for rel in fresh.keys() | current.keys()
            if rel not in fresh
            or rel not in current
            or not filecmp.cmp(fresh[rel], current[rel], shallow=False)
        )
    if stale:
        print("generated protobuf code is stale; run: python scripts/gen_protos.py", file=sys.stderr)
        for rel in stale:
            print(f"  {PACKAGE_DIR / rel}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the generated code is stale")
    ns = parser.parse_args(argv)
    if ns.check:
        return check()
    generate(OUT_ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
