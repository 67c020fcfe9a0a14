"""Pipeline listeners (the job engine's) are told of a change only after it committed: their code
never runs inside the pipeline service's transaction. The listener looks at the database through
a connection of its own, which sees only committed data, so an in-transaction call would not
find the change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in
from tuskd.services.pipelines import PipelineChange

pytestmark = pytest.mark.timeout(60)


def _committed(server: RunningServer, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(Path(server.config.data_dir) / "metadata.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_pipeline_listeners_run_after_the_change_commits(server: RunningServer) -> None:
    seen: list[tuple[str, list[tuple[object, ...]]]] = []

    def listener(change: PipelineChange) -> None:
        rows = _committed(server, "SELECT version FROM pipelines WHERE name = ?", change.pipeline.name)
        seen.append((change.pipeline.name, rows))

    server.deps.pipelines.add_listener(listener)
    create_repo(server, "images")
    create_pipeline(server, make_spec("edges", "true", pfs_in("images", "/nothing-*")))
    assert seen and seen[-1] == ("edges", [(1,)])
