"""``tusk`` commands for pfs."""

from __future__ import annotations
