"""The PFS tables of the SQLite store: repos, branches, commits, provenance and file layers.

:class:`SqlitePfsTables` holds the typed SQL of :class:`~tuskd.store.base.PfsTx`; it is mixed
into :class:`~tuskd.store.sqlite.SqliteTx`, which owns the connection and the transaction's
lifecycle (plumbing and unit of work live in sqlite.py, table access here).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from tuskd.domain.pfs import FileEntry, RepoKey

from .base import BranchRow, CommitRow, LayerEntry, RepoRow

__all__ = ["SqlitePfsTables"]

_COMMIT_COLUMNS: Final = (
    "id, repo_id, set_id, branch, parent_id, origin, description, error, started_us, "
    "finishing_us, finished_us, diff_layer_id, size_bytes"
)
_BRANCH_COLUMNS: Final = "id, repo_id, name, head_id, created_us, updated_us"


def _stack_cte(stack: Sequence[int]) -> tuple[str, list[int]]:
    """``WITH s(layer_id, pos) AS (VALUES ...)`` for a layer stack, bottom first."""
    values = ", ".join("(?, ?)" for _ in stack)
    params: list[int] = []
    for pos, layer_id in enumerate(stack):
        params += (layer_id, pos)
    return f"WITH s(layer_id, pos) AS (VALUES {values}) ", params


class SqlitePfsTables(ABC):
    """Typed PFS table access on the connection of the transaction it is mixed into."""

    _conn: sqlite3.Connection

    @abstractmethod
    def _check(self) -> None:
        """Raise if the transaction has ended (the transaction class decides)."""

    def _x(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        self._check()
        return self._conn.execute(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._x(sql, params).fetchone()
        return None if row is None else row[0]

    # -- repos ------------------------------------------------------------------------------

    @staticmethod
    def _repo(row: tuple[Any, ...]) -> RepoRow:
        return RepoRow(row[0], RepoKey(row[1], row[2], row[3]), row[4], row[5])

    def insert_repo(self, key: RepoKey, description: str, created_us: int) -> RepoRow:
        cur = self._x(
            "INSERT INTO repos (project, name, type, description, created_us) VALUES (?, ?, ?, ?, ?)",
            (key.project, key.name, key.type, description, created_us),
        )
        assert cur.lastrowid is not None
        return RepoRow(cur.lastrowid, key, description, created_us)

    def get_repo(self, key: RepoKey) -> RepoRow | None:
        row = self._x(
            "SELECT id, project, name, type, description, created_us FROM repos"
            " WHERE project = ? AND name = ? AND type = ?",
            (key.project, key.name, key.type),
        ).fetchone()
        return None if row is None else self._repo(row)

    def get_repo_by_id(self, repo_id: int) -> RepoRow:
        row = self._x(
            "SELECT id, project, name, type, description, created_us FROM repos WHERE id = ?", (repo_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"repo id {repo_id}")
        return self._repo(row)

    def update_repo_description(self, repo_id: int, description: str) -> None:
        self._x("UPDATE repos SET description = ? WHERE id = ?", (description, repo_id))

    def list_repos(self, type: str | None = None, projects: Sequence[str] = ()) -> list[RepoRow]:
        sql = "SELECT id, project, name, type, description, created_us FROM repos WHERE 1"
        params: list[Any] = []
        if type:
            sql += " AND type = ?"
            params.append(type)
        if projects:
            sql += f" AND project IN ({', '.join('?' for _ in projects)})"
            params += projects
        sql += " ORDER BY created_us DESC, id DESC"
        return [self._repo(r) for r in self._x(sql, params)]

    def delete_repo(self, repo_id: int) -> None:
        # Explicit order keeps every foreign key satisfied at each step.
        self._x("UPDATE branches SET head_id = NULL WHERE repo_id = ?", (repo_id,))
        self._x("DELETE FROM branches WHERE repo_id = ?", (repo_id,))
        self._x("UPDATE commits SET parent_id = NULL WHERE repo_id = ?", (repo_id,))
        self._x("DELETE FROM commits WHERE repo_id = ?", (repo_id,))
        self._x("DELETE FROM layers WHERE repo_id = ?", (repo_id,))
        self._x("DELETE FROM repos WHERE id = ?", (repo_id,))

    # -- branches ---------------------------------------------------------------------------

    @staticmethod
    def _branch(row: tuple[Any, ...]) -> BranchRow:
        return BranchRow(*row)

    def insert_branch(self, repo_id: int, name: str, head_id: int | None, now_us: int) -> BranchRow:
        cur = self._x(
            "INSERT INTO branches (repo_id, name, head_id, created_us, updated_us) VALUES (?, ?, ?, ?, ?)",
            (repo_id, name, head_id, now_us, now_us),
        )
        assert cur.lastrowid is not None
        return BranchRow(cur.lastrowid, repo_id, name, head_id, now_us, now_us)

    def get_branch(self, repo_id: int, name: str) -> BranchRow | None:
        row = self._x(
            f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE repo_id = ? AND name = ?", (repo_id, name)
        ).fetchone()
        return None if row is None else self._branch(row)

    def get_branch_by_id(self, branch_id: int) -> BranchRow:
        row = self._x(f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE id = ?", (branch_id,)).fetchone()
        if row is None:
            raise KeyError(f"branch id {branch_id}")
        return self._branch(row)

    def list_branches(self, repo_id: int | None = None) -> list[BranchRow]:
        if repo_id is None:
            rows = self._x(f"SELECT {_BRANCH_COLUMNS} FROM branches ORDER BY created_us DESC, id DESC")
        else:
            rows = self._x(
                f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE repo_id = ? ORDER BY created_us DESC, id DESC",
                (repo_id,),
            )
        return [self._branch(r) for r in rows]

    def set_branch_head(self, branch_id: int, head_id: int | None, now_us: int) -> None:
        self._x("UPDATE branches SET head_id = ?, updated_us = ? WHERE id = ?", (head_id, now_us, branch_id))

    def branches_with_head(self, commit_id: int) -> list[BranchRow]:
        rows = self._x(f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE head_id = ? ORDER BY id", (commit_id,))
        return [self._branch(r) for r in rows]

    def set_branch_provenance(self, branch_id: int, prov_ids: Sequence[int]) -> None:
        self._x("DELETE FROM branch_provenance WHERE branch_id = ?", (branch_id,))
        self._conn.executemany(
            "INSERT OR IGNORE INTO branch_provenance (branch_id, prov_id) VALUES (?, ?)",
            [(branch_id, p) for p in prov_ids],
        )

    def branch_provenance_edges(self) -> list[tuple[int, int]]:
        return [(r[0], r[1]) for r in self._x("SELECT branch_id, prov_id FROM branch_provenance")]

    def delete_branch(self, branch_id: int) -> None:
        self._x("DELETE FROM branches WHERE id = ?", (branch_id,))

    # -- commits ----------------------------------------------------------------------------

    @staticmethod
    def _commit(row: tuple[Any, ...]) -> CommitRow:
        return CommitRow(*row)

    def insert_commit(
        self,
        *,
        repo_id: int,
        set_id: str,
        branch: str | None,
        parent_id: int | None,
        origin: int,
        description: str,
        started_us: int,
        diff_layer_id: int | None,
        finishing_us: int | None = None,
        finished_us: int | None = None,
        size_bytes: int = 0,
    ) -> CommitRow:
        cur = self._x(
            "INSERT INTO commits (repo_id, set_id, branch, parent_id, origin, description, started_us,"
            " finishing_us, finished_us, diff_layer_id, size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                repo_id,
                set_id,
                branch,
                parent_id,
                origin,
                description,
                started_us,
                finishing_us,
                finished_us,
                diff_layer_id,
                size_bytes,
            ),
        )
        assert cur.lastrowid is not None
        return CommitRow(
            cur.lastrowid,
            repo_id,
            set_id,
            branch,
            parent_id,
            origin,
            description,
            "",
            started_us,
            finishing_us,
            finished_us,
            diff_layer_id,
            size_bytes,
        )

    def get_commit(self, commit_id: int) -> CommitRow | None:
        row = self._x(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE id = ?", (commit_id,)).fetchone()
        return None if row is None else self._commit(row)

    def find_commit(self, repo_id: int, set_id: str) -> CommitRow | None:
        row = self._x(
            f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE repo_id = ? AND set_id = ?", (repo_id, set_id)
        ).fetchone()
        return None if row is None else self._commit(row)

    def commits_in_set(self, set_id: str) -> list[CommitRow]:
        rows = self._x(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE set_id = ? ORDER BY id", (set_id,))
        return [self._commit(r) for r in rows]

    def commit_children(self, commit_id: int) -> list[CommitRow]:
        rows = self._x(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE parent_id = ? ORDER BY id", (commit_id,))
        return [self._commit(r) for r in rows]

    def iter_commits(
        self,
        repo_id: int,
        *,
        newest_first: bool = True,
        origin: int | None = None,
        branch: str | None = None,
        after_id: int | None = None,
        started_before_us: int | None = None,
        started_after_us: int | None = None,
    ) -> Iterator[CommitRow]:
        sql = f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE repo_id = ?"
        params: list[Any] = [repo_id]
        if origin is not None:
            sql += " AND origin = ?"
            params.append(origin)
        if branch is not None:
            sql += " AND branch = ?"
            params.append(branch)
        if after_id is not None:
            sql += " AND id > ?"
            params.append(after_id)
        if started_before_us is not None:
            sql += " AND started_us < ?"
            params.append(started_before_us)
        if started_after_us is not None:
            sql += " AND started_us > ?"
            params.append(started_after_us)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        for row in self._x(sql, params):
            yield self._commit(row)

    def set_commit_finishing(self, commit_id: int, at_us: int, error: str, description: str | None) -> None:
        if description is None:
            self._x("UPDATE commits SET finishing_us = ?, error = ? WHERE id = ?", (at_us, error, commit_id))
        else:
            self._x(
                "UPDATE commits SET finishing_us = ?, error = ?, description = ? WHERE id = ?",
                (at_us, error, description, commit_id),
            )

    def set_commit_finished(self, commit_id: int, at_us: int, size_bytes: int) -> None:
        self._x("UPDATE commits SET finished_us = ?, size_bytes = ? WHERE id = ?", (at_us, size_bytes, commit_id))

    def set_commit_parent(self, commit_id: int, parent_id: int | None) -> None:
        self._x("UPDATE commits SET parent_id = ? WHERE id = ?", (parent_id, commit_id))

    def delete_commit(self, commit_id: int) -> None:
        self._x("DELETE FROM commits WHERE id = ?", (commit_id,))

    def add_commit_provenance(self, commit_id: int, prov_id: int) -> None:
        self._x("INSERT OR IGNORE INTO commit_provenance (commit_id, prov_id) VALUES (?, ?)", (commit_id, prov_id))

    def commit_provenance(self, commit_id: int) -> list[int]:
        rows = self._x("SELECT prov_id FROM commit_provenance WHERE commit_id = ? ORDER BY prov_id", (commit_id,))
        return [r[0] for r in rows]

    def commit_subvenance(self, commit_id: int) -> list[int]:
        rows = self._x("SELECT commit_id FROM commit_provenance WHERE prov_id = ? ORDER BY commit_id", (commit_id,))
        return [r[0] for r in rows]

    def commit_set_ids(self, project: str | None = None) -> list[str]:
        if project is None:
            rows = self._x("SELECT set_id, MAX(id) AS newest FROM commits GROUP BY set_id ORDER BY newest DESC")
        else:
            rows = self._x(
                "SELECT c.set_id, MAX(c.id) AS newest FROM commits c JOIN repos r ON r.id = c.repo_id"
                " WHERE r.project = ? GROUP BY c.set_id ORDER BY newest DESC",
                (project,),
            )
        return [r[0] for r in rows]

    # -- file layers ------------------------------------------------------------------------

    def create_layer(self, repo_id: int) -> int:
        cur = self._x("INSERT INTO layers (repo_id, entries) VALUES (?, 0)", (repo_id,))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def layer_size(self, layer_id: int) -> int:
        return int(self._one("SELECT entries FROM layers WHERE id = ?", (layer_id,)) or 0)

    def put_layer_entries(self, layer_id: int, entries: Iterable[LayerEntry]) -> None:
        self._check()
        self._conn.executemany(
            "INSERT OR REPLACE INTO layer_entries (layer_id, path, blob, size) VALUES (?, ?, ?, ?)",
            ((layer_id, e.path, e.blob, e.size) for e in entries),
        )

    def delete_layer_entries(self, layer_id: int, paths: Iterable[str]) -> None:
        self._check()
        self._conn.executemany(
            "DELETE FROM layer_entries WHERE layer_id = ? AND path = ?", ((layer_id, p) for p in paths)
        )

    def refresh_layer_size(self, layer_id: int) -> int:
        count = int(self._one("SELECT COUNT(*) FROM layer_entries WHERE layer_id = ?", (layer_id,)))
        self._x("UPDATE layers SET entries = ? WHERE id = ?", (count, layer_id))
        return count

    def scan_layer(self, layer_id: int, lower: str = "", upper: str | None = None) -> Iterator[LayerEntry]:
        sql = "SELECT path, blob, size FROM layer_entries WHERE layer_id = ? AND path >= ?"
        params: list[Any] = [layer_id, lower]
        if upper is not None:
            sql += " AND path < ?"
            params.append(upper)
        for row in self._x(sql + " ORDER BY path", params):
            yield LayerEntry(*row)

    def get_layer_entry(self, layer_id: int, path: str) -> LayerEntry | None:
        row = self._x(
            "SELECT path, blob, size FROM layer_entries WHERE layer_id = ? AND path = ?", (layer_id, path)
        ).fetchone()
        return None if row is None else LayerEntry(*row)

    def copy_missing_entries(self, src_layer_id: int, dst_layer_id: int) -> int:
        """Copy into ``dst`` every entry of ``src`` whose path ``dst`` does not have; returns how many."""
        self._x(
            "INSERT OR IGNORE INTO layer_entries (layer_id, path, blob, size)"
            " SELECT ?, path, blob, size FROM layer_entries WHERE layer_id = ?",
            (dst_layer_id, src_layer_id),
        )
        copied = int(self._one("SELECT changes()"))
        self.refresh_layer_size(dst_layer_id)
        return copied

    def commit_stack(self, commit_id: int) -> list[int]:
        rows = self._x("SELECT layer_id FROM commit_layers WHERE commit_id = ? ORDER BY position", (commit_id,))
        return [r[0] for r in rows]

    def set_commit_stack(self, commit_id: int, layer_ids: Sequence[int]) -> None:
        self._x("DELETE FROM commit_layers WHERE commit_id = ?", (commit_id,))
        self._conn.executemany(
            "INSERT INTO commit_layers (commit_id, position, layer_id) VALUES (?, ?, ?)",
            [(commit_id, pos, layer_id) for pos, layer_id in enumerate(layer_ids)],
        )

    def merge_layers(self, repo_id: int, layer_ids: Sequence[int], drop_tombstones: bool) -> int:
        """A new layer holding the top-most entry of each path across ``layer_ids`` (bottom first)."""
        new_id = self.create_layer(repo_id)
        cte, params = _stack_cte(layer_ids)
        # SQLite takes bare columns from the row that holds the MAX(): the top-most layer.
        sql = (
            cte + "INSERT INTO layer_entries (layer_id, path, blob, size) "
            "SELECT ?, path, blob, size FROM ("
            " SELECT e.path AS path, e.blob AS blob, e.size AS size, MAX(s.pos) AS top"
            " FROM s JOIN layer_entries e ON e.layer_id = s.layer_id GROUP BY e.path)"
        )
        if drop_tombstones:
            sql += " WHERE blob IS NOT NULL"
        self._x(sql, [*params, new_id])
        # Cursor.rowcount is not reliable for INSERT ... SELECT under a WITH clause; changes() is.
        self._x("UPDATE layers SET entries = changes() WHERE id = ?", (new_id,))
        return new_id

    def tree_get(self, stack: Sequence[int], path: str) -> FileEntry | None:
        if not stack:
            return None
        if len(stack) == 1:
            row = self._x(
                "SELECT blob, size FROM layer_entries WHERE layer_id = ? AND path = ?", (stack[0], path)
            ).fetchone()
        else:
            cte, params = _stack_cte(stack)
            row = self._x(
                cte + "SELECT e.blob, e.size FROM s JOIN layer_entries e"
                " ON e.layer_id = s.layer_id AND e.path = ? ORDER BY s.pos DESC LIMIT 1",
                [*params, path],
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return FileEntry(path, row[0], row[1])

    def tree_scan(self, stack: Sequence[int], lower: str = "", upper: str | None = None) -> Iterator[FileEntry]:
        """Live files with ``lower <= path < upper`` in path order, the top-most layer winning."""
        if not stack:
            return
        bound = "" if upper is None else " AND e.path < ?"
        tail: list[Any] = [lower] if upper is None else [lower, upper]
        if len(stack) == 1:
            cur = self._x(
                f"SELECT e.path, e.blob, e.size FROM layer_entries e WHERE e.layer_id = ? AND e.path >= ?{bound}"
                " AND e.blob IS NOT NULL ORDER BY e.path",
                [stack[0], *tail],
            )
            for path, blob, size in cur:
                yield FileEntry(path, blob, size)
            return
        cte, params = _stack_cte(stack)
        cur = self._x(
            cte + "SELECT path, blob, size FROM ("
            " SELECT e.path AS path, e.blob AS blob, e.size AS size, MAX(s.pos) AS top"
            f" FROM s JOIN layer_entries e ON e.layer_id = s.layer_id WHERE e.path >= ?{bound}"
            " GROUP BY e.path) WHERE blob IS NOT NULL ORDER BY path",
            [*params, *tail],
        )
        for path, blob, size in cur:
            yield FileEntry(path, blob, size)

    def tree_size_delta(self, parent_stack: Sequence[int], layer_id: int) -> int:
        """Bytes the tree gains when ``layer_id`` is applied on top of ``parent_stack``."""
        added = int(
            self._one(
                "SELECT COALESCE(SUM(size), 0) FROM layer_entries WHERE layer_id = ? AND blob IS NOT NULL",
                (layer_id,),
            )
        )
        if not parent_stack:
            return added
        cte, params = _stack_cte(parent_stack)
        replaced = int(
            self._one(
                cte + "SELECT COALESCE(SUM(("
                " SELECT CASE WHEN p.blob IS NULL THEN 0 ELSE p.size END FROM s JOIN layer_entries p"
                " ON p.layer_id = s.layer_id AND p.path = d.path ORDER BY s.pos DESC LIMIT 1)), 0)"
                " FROM layer_entries d WHERE d.layer_id = ?",
                [*params, layer_id],
            )
        )
        return added - replaced

    def gc_layers(self, repo_id: int) -> int:
        """Delete the repo's layers that no commit uses any more; returns how many."""
        cur = self._x(
            "DELETE FROM layers WHERE repo_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM commit_layers cl WHERE cl.layer_id = layers.id)"
            " AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.diff_layer_id = layers.id)",
            (repo_id,),
        )
        return max(cur.rowcount, 0)
