"""``tusk`` commands for pipelines."""

from __future__ import annotations
