"""Opaque page tokens (AIP-158): ``base64url(json)`` of the last item sent and a fingerprint of
the filters, so a token cannot be replayed against other filters.

A token comes back from a client, so decoding trusts nothing in it: its length, its JSON
(nesting, huge integers), and each value's type and range are checked, and anything off is
INVALID_ARGUMENT naming ``page_token``; never an error deeper down (a SQLite overflow, a
RecursionError, a string SQLite cannot encode).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Final

from .errors import InvalidArgument

__all__ = ["decode_datum_token", "decode_job_token", "encode_datum_token", "encode_job_token"]

# Tokens we issue are under 200 characters; this leaves room without parsing megabytes.
_MAX_TOKEN_CHARS: Final = 1024
_MAX_ROW: Final = 2**63 - 1  # SQLite's INTEGER
_DATUM_ID: Final = re.compile(r"[0-9a-f]{64}")


def _encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _malformed() -> InvalidArgument:
    return InvalidArgument(
        "page_token is malformed: pass a page_token from an earlier response",
        reason="INVALID_PAGE_TOKEN",
        field="page_token",
    )


def _decode(token: str, fingerprint: str, mismatch: str) -> dict[str, Any]:
    if len(token) > _MAX_TOKEN_CHARS:
        raise _malformed()
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, RecursionError, binascii.Error):  # ValueError covers bad UTF-8 and JSON
        raise _malformed() from None
    if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("f"), str):
        raise _malformed()
    if data["f"] != fingerprint:
        raise InvalidArgument(mismatch, reason="PAGE_TOKEN_FILTER_MISMATCH", field="page_token")
    return data


def encode_job_token(row: int, fingerprint: str) -> str:
    return _encode({"v": 1, "r": row, "f": fingerprint})


def decode_job_token(token: str, fingerprint: str) -> int:
    """The job row a token of :func:`encode_job_token` continues after."""
    data = _decode(
        token,
        fingerprint,
        "page_token was issued for different filters: repeat the call with the same filters, "
        "or drop the page_token to start over",
    )
    row = data.get("r")
    if type(row) is not int or not 0 <= row <= _MAX_ROW:
        raise _malformed()
    return row


def encode_datum_token(datum_id: str, fingerprint: str) -> str:
    return _encode({"v": 1, "d": datum_id, "f": fingerprint})


def decode_datum_token(token: str, fingerprint: str) -> str:
    """The datum ID a token of :func:`encode_datum_token` continues after."""
    data = _decode(
        token, fingerprint, "page_token was issued for a different job or filters: repeat the call with the same ones"
    )
    datum_id = data.get("d")
    if not isinstance(datum_id, str) or not _DATUM_ID.fullmatch(datum_id):
        raise _malformed()
    return datum_id
