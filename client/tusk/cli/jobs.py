"""``tusk`` commands for jobs."""

from __future__ import annotations
