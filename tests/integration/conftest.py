"""Fixtures of the CLI tests of projects, transactions, defaults and metadata.

``tusk_cli`` runs ``tusk --address <server> ARGS...`` in process with its own state directory
($TUSK_CONFIG_DIR, where the active transaction is kept) and no $TUSK_PROJECT, so tests never see
each other's transactions or the developer's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tusk.cli import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def tusk_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "tusk-config"
    monkeypatch.setenv("TUSK_CONFIG_DIR", str(state))
    monkeypatch.delenv("TUSK_PROJECT", raising=False)
    return state


@pytest.fixture
def tusk_cli(server: RunningServer, tusk_state: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """(exit code, stdout, stderr) of one in-process ``tusk`` run against ``server``."""

    def run(*args: str, address: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(["--address", address or server.address, *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
