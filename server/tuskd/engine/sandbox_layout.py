"""The /pfs layout and environment of an attempt: input checks, the minimal inherited environment and,
for fallback mode, the symlink layout and the mapping of ``/pfs/...`` paths to host paths."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path

from tuskd.engine.zygote_layout import OUT_NAME, PFS_ROOT

_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")


# -- layouts and environment -----------------------------------------------------------------------


def _fresh_dir(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _link_layout(root: Path, inputs: Mapping[str, Path], out_dir: Path) -> None:
    """Fallback mode: the pfs root is a directory of symlinks to the real directories."""
    _fresh_dir(root)
    for name, host in inputs.items():
        (root / name).symlink_to(host.absolute())
    (root / OUT_NAME).symlink_to(out_dir.absolute())


def _check_inputs(inputs: Mapping[str, Path]) -> dict[str, bool]:
    """Raise for a bad input name or a missing input; name -> whether it is a directory."""
    kinds = {}
    for name, host in inputs.items():
        if not name or "/" in name or name in (".", "..", OUT_NAME) or "\0" in name:
            raise ValueError(f"input name {name!r} cannot appear under {PFS_ROOT}")
        try:
            kinds[name] = stat.S_ISDIR(os.stat(host).st_mode)
        except FileNotFoundError:
            raise FileNotFoundError(f"input {name!r}: {host} does not exist") from None
    return kinds


def _inherited_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.setdefault("HOME", "/")
    env.setdefault("LANG", "C.UTF-8")
    return env


def _base_env(scratch_tmp: Path) -> dict[str, str]:
    env = _inherited_env()
    env["TMPDIR"] = str(scratch_tmp)
    return env


class _PfsPaths:
    """Maps ``/pfs/...`` paths to host paths for fallback mode."""

    def __init__(self, root: Path, inputs: Mapping[str, Path], out_dir: Path) -> None:
        self._root = root
        self._dirs = {name: path.absolute() for name, path in inputs.items()}
        self._dirs[OUT_NAME] = out_dir.absolute()

    def host(self, value: str) -> str:
        if value == PFS_ROOT or value == PFS_ROOT + "/":
            return str(self._root)
        if not value.startswith(PFS_ROOT + "/"):
            return value
        name, _, rest = value[len(PFS_ROOT) + 1 :].partition("/")
        base = self._dirs.get(name)
        if base is None:
            return str(self._root / name / rest) if rest else str(self._root / name)
        return str(base / rest) if rest else str(base)
