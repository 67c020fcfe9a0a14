"""The ``tusk`` command's small local state: the active transaction of each server.

pachctl keeps the active transaction in its config file; tusk keeps it in
``$TUSK_CONFIG_DIR/state.json`` (default ``$XDG_CONFIG_HOME/tusk``, else ``~/.config/tusk``),
one entry per server address, so a transaction started on one server never leaks into calls to
another. The file is rewritten atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["active_transaction", "set_active_transaction", "state_path"]


def state_path() -> Path:
    explicit = os.environ.get("TUSK_CONFIG_DIR")
    if explicit:
        return Path(explicit) / "state.json"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tusk" / "state.json"


def _read() -> dict[str, Any]:
    path = state_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise OSError(f"cannot read tusk's state file {path}: {err} (delete it to start afresh)") from None
    return data if isinstance(data, dict) else {}


def active_transaction(address: str) -> str | None:
    """The ID of the transaction ``tusk start transaction`` opened on ``address``, if any."""
    value = _read().get("transactions", {}).get(address)
    return value if isinstance(value, str) and value else None


def set_active_transaction(address: str, transaction_id: str | None) -> None:
    """Record (or with None, clear) the active transaction of ``address``."""
    data = _read()
    transactions = data.setdefault("transactions", {})
    if transaction_id is None:
        if address not in transactions:
            return
        del transactions[address]
    else:
        transactions[address] = transaction_id
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
