"""Versioned schema migrations for the SQLite metadata store.

``MIGRATIONS`` is one ordered list for the whole database. Each step has a version (strictly
increasing), a name, and either SQL statements or a function of the connection. At open, every
step newer than the database's version runs once, in its own ``BEGIN IMMEDIATE`` transaction
that also records it in ``schema_version``; a failing step leaves the database at the previous
version. A database whose version is newer than this code knows is refused, so an old binary
never writes to a schema it does not understand.

To add tables (the job engine's pipelines, jobs, datums, job events), append a step with the
next version number to ``MIGRATIONS``; never edit a step that has shipped.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .meta_schema import META_CORE
from .pps_schema import PPS_CORE, PPS_DATUM_COUNTED
from .pps_unfinished import PPS_UNFINISHED_INDEX

__all__ = ["MIGRATIONS", "Migration", "SchemaTooNew", "apply_migrations", "current_version"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    # SQL statements run in order, or a function doing the work on the connection (which is
    # already inside the step's transaction: it must not commit).
    steps: Sequence[str] | Callable[[sqlite3.Connection], None]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer tusk; opening it with this one could corrupt it."""


_PFS_CORE = (
    """
    CREATE TABLE repos (
        id          INTEGER PRIMARY KEY,
        project     TEXT NOT NULL,
        name        TEXT NOT NULL,
        type        TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_us  INTEGER NOT NULL,
        UNIQUE (project, name, type)
    )
    """,
    # A layer is an immutable (once its commit finished) set of path -> content changes.
    # A commit's file tree is a stack of layers; see docs/pfs-storage.md.
    """
    CREATE TABLE layers (
        id      INTEGER PRIMARY KEY,
        repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        entries INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX layers_repo ON layers(repo_id)",
    # blob NULL is a tombstone: the path is deleted as of this layer.
    """
    CREATE TABLE layer_entries (
        layer_id INTEGER NOT NULL REFERENCES layers(id) ON DELETE CASCADE,
        path     TEXT NOT NULL,
        blob     TEXT,
        size     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (layer_id, path)
    ) WITHOUT ROWID
    """,
    # AUTOINCREMENT: ids are never reused, so "commits after id N" cursors stay correct
    # even after the newest commit is dropped.
    """
    CREATE TABLE commits (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        repo_id       INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        set_id        TEXT NOT NULL,
        branch        TEXT,
        parent_id     INTEGER REFERENCES commits(id),
        origin        INTEGER NOT NULL,
        description   TEXT NOT NULL DEFAULT '',
        error         TEXT NOT NULL DEFAULT '',
        started_us    INTEGER NOT NULL,
        finishing_us  INTEGER,
        finished_us   INTEGER,
        diff_layer_id INTEGER REFERENCES layers(id),
        size_bytes    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (repo_id, set_id)
    )
    """,
    "CREATE INDEX commits_set ON commits(set_id)",
    "CREATE INDEX commits_parent ON commits(parent_id)",
    "CREATE INDEX commits_diff_layer ON commits(diff_layer_id)",
    # The materialised stack of a finished commit, position 0 at the bottom.
    """
    CREATE TABLE commit_layers (
        commit_id INTEGER NOT NULL REFERENCES commits(id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        layer_id  INTEGER NOT NULL REFERENCES layers(id),
        PRIMARY KEY (commit_id, position)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX commit_layers_layer ON commit_layers(layer_id)",
    """
    CREATE TABLE commit_provenance (
        commit_id INTEGER NOT NULL REFERENCES commits(id) ON DELETE CASCADE,
        prov_id   INTEGER NOT NULL REFERENCES commits(id) ON DELETE CASCADE,
        PRIMARY KEY (commit_id, prov_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX commit_provenance_prov ON commit_provenance(prov_id)",
    """
    CREATE TABLE branches (
        id         INTEGER PRIMARY KEY,
        repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        head_id    INTEGER REFERENCES commits(id),
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        UNIQUE (repo_id, name)
    )
    """,
    "CREATE INDEX branches_head ON branches(head_id)",
    """
    CREATE TABLE branch_provenance (
        branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
        prov_id   INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
        PRIMARY KEY (branch_id, prov_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX branch_provenance_prov ON branch_provenance(prov_id)",
)

MIGRATIONS: list[Migration] = [
    Migration(1, "pfs: repos, branches, commits, layered file trees", _PFS_CORE),
    Migration(2, "pps: pipelines, jobs, job history, datums, datum outputs", PPS_CORE),
    Migration(3, "projects, metadata maps, cluster settings, transactions", META_CORE),
    Migration(4, "pps: datums.counted, the outcome a restarted datum already counted", PPS_DATUM_COUNTED),
    Migration(5, "pps: partial index of unfinished jobs (the dispatcher's)", PPS_UNFINISHED_INDEX),
]


def _ensure_version_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)"
    )


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration version (0 for a fresh database)."""
    row = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if row is None:
        return 0
    (version,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(version)


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] < 1):
        raise ValueError(f"migration versions must be positive and strictly increasing: {versions}")


def apply_migrations(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the database up to date; returns the versions applied now (empty if none).

    ``conn`` must be in autocommit mode (``isolation_level=None``). Safe to call from several
    processes at once: each step re-checks the version under the write lock.
    """
    _check_order(migrations)
    latest = migrations[-1].version if migrations else 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        _ensure_version_table(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    found = current_version(conn)
    if found > latest:
        raise SchemaTooNew(
            f"the database schema is at version {found}, newer than this tusk knows ({latest}); upgrade tusk to open it"
        )
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= found:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) >= migration.version:  # another process got there first
                conn.execute("COMMIT")
                continue
            if callable(migration.steps):
                migration.steps(conn)
            else:
                for statement in migration.steps:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_us) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time_ns() // 1000),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("applied schema migration %d: %s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
