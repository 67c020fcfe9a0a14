"""Schema of projects, metadata maps, cluster settings and open transactions (migration 3)."""

from __future__ import annotations

from typing import Final

META_CORE: Final = (
    """
    CREATE TABLE projects (
        name        TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        created_us  INTEGER NOT NULL,
        metadata    TEXT NOT NULL,
        defaults    TEXT NOT NULL DEFAULT ''
    )
    """,
    # Every project that already has repos or pipelines, and "default", which always exists.
    """
    INSERT INTO projects (name, description, created_us, metadata)
    SELECT project, '', MIN(created_us), '{}' FROM (
        SELECT 'default' AS project, CAST(strftime('%s', 'now') AS INTEGER) * 1000000 AS created_us
        UNION ALL SELECT project, created_us FROM repos
        UNION ALL SELECT project, created_us FROM pipelines
    ) GROUP BY project
    """,
    """
    CREATE TABLE metadata (
        kind     TEXT NOT NULL,
        owner_id INTEGER NOT NULL,
        body     TEXT NOT NULL,
        PRIMARY KEY (kind, owner_id)
    ) WITHOUT ROWID
    """,
    # A metadata map lives exactly as long as what it describes.
    "CREATE TRIGGER repos_metadata AFTER DELETE ON repos"
    " BEGIN DELETE FROM metadata WHERE kind = 'repo' AND owner_id = OLD.id; END",
    "CREATE TRIGGER branches_metadata AFTER DELETE ON branches"
    " BEGIN DELETE FROM metadata WHERE kind = 'branch' AND owner_id = OLD.id; END",
    "CREATE TRIGGER commits_metadata AFTER DELETE ON commits"
    " BEGIN DELETE FROM metadata WHERE kind = 'commit' AND owner_id = OLD.id; END",
    "CREATE TRIGGER pipelines_metadata AFTER DELETE ON pipelines"
    " BEGIN DELETE FROM metadata WHERE kind = 'pipeline' AND owner_id = OLD.id; END",
    """
    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE transactions (
        id         TEXT PRIMARY KEY,
        started_us INTEGER NOT NULL,
        version    INTEGER NOT NULL,
        requests   BLOB NOT NULL,
        responses  BLOB NOT NULL
    ) WITHOUT ROWID
    """,
)
