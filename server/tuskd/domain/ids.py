"""Identifiers: global IDs (commit sets, jobs) and their validation."""

from __future__ import annotations

import re
import uuid

from .errors import InvalidArgument

_GLOBAL_ID = re.compile(r"^[0-9a-f]{32}$")


def new_global_id() -> str:
    """A fresh global ID: a UUIDv4 as 32 lowercase hex characters, as Pachyderm makes them."""
    return uuid.uuid4().hex


def is_global_id(value: str) -> bool:
    return bool(_GLOBAL_ID.match(value))


def check_global_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a well-formed global ID, else raise InvalidArgument."""
    if not is_global_id(value):
        raise InvalidArgument(
            f"{what} {value[:80]!r} is not a valid ID: expected 32 lowercase hex characters",
            field=what,
        )
    return value
