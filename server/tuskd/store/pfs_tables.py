"""The SQL of :class:`tuskd.store.base.PfsTx` (repos, branches, commits, provenance, file
layers), written once for both stores.

Statements use ``?`` placeholders and SQL that SQLite and PostgreSQL both speak (``ON CONFLICT``,
``excluded``, ``TRUE``); the store's transaction class mixes this in and supplies the few things
that differ (sqlite_pfs.py, postgres_pfs.py): how a statement runs (``_run``, ``_run_many``),
how a new row's id comes back (``_insert_id``), how many rows an ``INSERT ... SELECT`` wrote
(``_written``), how a column is matched against a list (``_in``), how a list of ids becomes rows
(``_ids``), and how the top-most entry of each path is picked from a layer stack
(``_top_entries``: SQLite takes bare columns beside ``MAX()``, PostgreSQL ``DISTINCT ON``).
Rows come back the same from both; paths sort the same because a PostgreSQL store uses C
collation (checked when it opens).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from tuskd.domain.pfs import FileEntry, RepoKey

from .base import BranchRow, CommitRow, LayerEntry, RepoRow
from .dialect import Rows

__all__ = ["PfsTables"]

_COMMIT_COLUMNS: Final = (
    "id, repo_id, set_id, branch, parent_id, origin, description, error, started_us, "
    "finishing_us, finished_us, diff_layer_id, size_bytes"
)
_BRANCH_COLUMNS: Final = "id, repo_id, name, head_id, created_us, updated_us"
_REPO_COLUMNS: Final = "id, project, name, type, description, created_us"


def _repo(row: Sequence[Any]) -> RepoRow:
    return RepoRow(row[0], RepoKey(row[1], row[2], row[3]), row[4], row[5])


class PfsTables(ABC):
    """Typed PFS table access inside the transaction this is mixed into."""

    # -- what the dialect supplies ----------------------------------------------------------

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one shared statement (``?`` placeholders) in this transaction."""

    @abstractmethod
    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one shared statement once per row of parameters."""

    @abstractmethod
    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT of one row; the id it was given."""

    @abstractmethod
    def _written(self, rows: Rows) -> int:
        """How many rows the ``INSERT ... SELECT`` that returned ``rows`` (just run) wrote."""

    @abstractmethod
    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` matches one of ``values`` (not empty): the condition and its parameters."""

    @abstractmethod
    def _ids(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        """``WITH s(id, pos) AS (...)`` holding ``ids`` (not empty) in order, ``pos`` counting up
        from 1, and its parameters; the statement follows it."""

    @abstractmethod
    def _top_entries(self, where: str) -> str:
        """A subquery of (path, blob, size): for each path of the entries of the layers in ``s``
        (``s.id`` a layer, ``e`` its entries, ``where`` a condition on them or empty), the entry
        of the highest ``s.pos``."""

    def _first(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._run(sql, params).fetchone()
        return None if row is None else row[0]

    # -- repos ------------------------------------------------------------------------------

    def insert_repo(self, key: RepoKey, description: str, created_us: int) -> RepoRow:
        new_id = self._insert_id(
            "INSERT INTO repos (project, name, type, description, created_us) VALUES (?, ?, ?, ?, ?)",
            (key.project, key.name, key.type, description, created_us),
        )
        return RepoRow(new_id, key, description, created_us)

    def get_repo(self, key: RepoKey) -> RepoRow | None:
        row = self._run(
            f"SELECT {_REPO_COLUMNS} FROM repos WHERE project = ? AND name = ? AND type = ?",
            (key.project, key.name, key.type),
        ).fetchone()
        return None if row is None else _repo(row)

    def get_repo_by_id(self, repo_id: int) -> RepoRow:
        row = self._run(f"SELECT {_REPO_COLUMNS} FROM repos WHERE id = ?", (repo_id,)).fetchone()
        if row is None:
            raise KeyError(f"repo id {repo_id}")
        return _repo(row)

    def update_repo_description(self, repo_id: int, description: str) -> None:
        self._run("UPDATE repos SET description = ? WHERE id = ?", (description, repo_id))

    def list_repos(self, type: str | None = None, projects: Sequence[str] = ()) -> list[RepoRow]:
        sql = f"SELECT {_REPO_COLUMNS} FROM repos WHERE TRUE"
        params: list[Any] = []
        if type:
            sql += " AND type = ?"
            params.append(type)
        if projects:
            condition, values = self._in("project", projects)
            sql += f" AND {condition}"
            params += values
        sql += " ORDER BY created_us DESC, id DESC"
        return [_repo(r) for r in self._run(sql, params)]

    def delete_repo(self, repo_id: int) -> None:
        # Explicit order keeps every foreign key satisfied at each step.
        self._run("UPDATE branches SET head_id = NULL WHERE repo_id = ?", (repo_id,))
        self._run("DELETE FROM branches WHERE repo_id = ?", (repo_id,))
        self._run("UPDATE commits SET parent_id = NULL WHERE repo_id = ?", (repo_id,))
        self._run("DELETE FROM commits WHERE repo_id = ?", (repo_id,))
        self._run("DELETE FROM layers WHERE repo_id = ?", (repo_id,))
        self._run("DELETE FROM repos WHERE id = ?", (repo_id,))

    # -- branches ---------------------------------------------------------------------------

    def insert_branch(self, repo_id: int, name: str, head_id: int | None, now_us: int) -> BranchRow:
        new_id = self._insert_id(
            "INSERT INTO branches (repo_id, name, head_id, created_us, updated_us) VALUES (?, ?, ?, ?, ?)",
            (repo_id, name, head_id, now_us, now_us),
        )
        return BranchRow(new_id, repo_id, name, head_id, now_us, now_us)

    def get_branch(self, repo_id: int, name: str) -> BranchRow | None:
        row = self._run(
            f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE repo_id = ? AND name = ?", (repo_id, name)
        ).fetchone()
        return None if row is None else BranchRow(*row)

    def get_branch_by_id(self, branch_id: int) -> BranchRow:
        row = self._run(f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE id = ?", (branch_id,)).fetchone()
        if row is None:
            raise KeyError(f"branch id {branch_id}")
        return BranchRow(*row)

    def list_branches(self, repo_id: int | None = None) -> list[BranchRow]:
        if repo_id is None:
            rows = self._run(f"SELECT {_BRANCH_COLUMNS} FROM branches ORDER BY created_us DESC, id DESC")
        else:
            rows = self._run(
                f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE repo_id = ? ORDER BY created_us DESC, id DESC",
                (repo_id,),
            )
        return [BranchRow(*r) for r in rows]

    def set_branch_head(self, branch_id: int, head_id: int | None, now_us: int) -> None:
        self._run("UPDATE branches SET head_id = ?, updated_us = ? WHERE id = ?", (head_id, now_us, branch_id))

    def branches_with_head(self, commit_id: int) -> list[BranchRow]:
        rows = self._run(f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE head_id = ? ORDER BY id", (commit_id,))
        return [BranchRow(*r) for r in rows]

    def set_branch_provenance(self, branch_id: int, prov_ids: Sequence[int]) -> None:
        self._run("DELETE FROM branch_provenance WHERE branch_id = ?", (branch_id,))
        if prov_ids:
            cte, params = self._ids(prov_ids)
            # WHERE TRUE: SQLite wants a WHERE before an INSERT ... SELECT's ON CONFLICT.
            self._run(
                cte + "INSERT INTO branch_provenance (branch_id, prov_id) SELECT ?, id FROM s WHERE TRUE"
                " ON CONFLICT DO NOTHING",
                [*params, branch_id],
            )

    def branch_provenance_edges(self) -> list[tuple[int, int]]:
        return [(r[0], r[1]) for r in self._run("SELECT branch_id, prov_id FROM branch_provenance")]

    def delete_branch(self, branch_id: int) -> None:
        self._run("DELETE FROM branches WHERE id = ?", (branch_id,))

    # -- commits ----------------------------------------------------------------------------

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
        new_id = self._insert_id(
            "INSERT INTO commits (repo_id, set_id, branch, parent_id, origin, description, started_us,"
            " finishing_us, finished_us, diff_layer_id, size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (repo_id, set_id, branch, parent_id, origin, description, started_us, finishing_us, finished_us,
             diff_layer_id, size_bytes),
        )  # fmt: skip
        return CommitRow(
            new_id, repo_id, set_id, branch, parent_id, origin, description, "", started_us, finishing_us,
            finished_us, diff_layer_id, size_bytes,
        )  # fmt: skip

    def get_commit(self, commit_id: int) -> CommitRow | None:
        row = self._run(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE id = ?", (commit_id,)).fetchone()
        return None if row is None else CommitRow(*row)

    def find_commit(self, repo_id: int, set_id: str) -> CommitRow | None:
        row = self._run(
            f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE repo_id = ? AND set_id = ?", (repo_id, set_id)
        ).fetchone()
        return None if row is None else CommitRow(*row)

    def commits_in_set(self, set_id: str) -> list[CommitRow]:
        rows = self._run(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE set_id = ? ORDER BY id", (set_id,))
        return [CommitRow(*r) for r in rows]

    def commit_children(self, commit_id: int) -> list[CommitRow]:
        rows = self._run(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE parent_id = ? ORDER BY id", (commit_id,))
        return [CommitRow(*r) for r in rows]

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
        for clause, value in (
            (" AND origin = ?", origin),
            (" AND branch = ?", branch),
            (" AND id > ?", after_id),
            (" AND started_us < ?", started_before_us),
            (" AND started_us > ?", started_after_us),
        ):
            if value is not None:
                sql += clause
                params.append(value)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        for row in self._run(sql, params):
            yield CommitRow(*row)

    def set_commit_finishing(self, commit_id: int, at_us: int, error: str, description: str | None) -> None:
        if description is None:
            self._run("UPDATE commits SET finishing_us = ?, error = ? WHERE id = ?", (at_us, error, commit_id))
        else:
            self._run(
                "UPDATE commits SET finishing_us = ?, error = ?, description = ? WHERE id = ?",
                (at_us, error, description, commit_id),
            )

    def set_commit_finished(self, commit_id: int, at_us: int, size_bytes: int) -> None:
        self._run("UPDATE commits SET finished_us = ?, size_bytes = ? WHERE id = ?", (at_us, size_bytes, commit_id))

    def set_commit_parent(self, commit_id: int, parent_id: int | None) -> None:
        self._run("UPDATE commits SET parent_id = ? WHERE id = ?", (parent_id, commit_id))

    def delete_commit(self, commit_id: int) -> None:
        self._run("DELETE FROM commits WHERE id = ?", (commit_id,))

    def add_commit_provenance(self, commit_id: int, prov_id: int) -> None:
        self._run(
            "INSERT INTO commit_provenance (commit_id, prov_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (commit_id, prov_id),
        )

    def commit_provenance(self, commit_id: int) -> list[int]:
        rows = self._run("SELECT prov_id FROM commit_provenance WHERE commit_id = ? ORDER BY prov_id", (commit_id,))
        return [r[0] for r in rows]

    def commit_subvenance(self, commit_id: int) -> list[int]:
        rows = self._run("SELECT commit_id FROM commit_provenance WHERE prov_id = ? ORDER BY commit_id", (commit_id,))
        return [r[0] for r in rows]

    def commit_set_ids(self, project: str | None = None) -> list[str]:
        """Commit set ids, the one with the newest commit first."""
        if project is None:
            rows = self._run("SELECT set_id FROM commits GROUP BY set_id ORDER BY MAX(id) DESC")
        else:
            rows = self._run(
                "SELECT c.set_id FROM commits c JOIN repos r ON r.id = c.repo_id"
                " WHERE r.project = ? GROUP BY c.set_id ORDER BY MAX(c.id) DESC",
                (project,),
            )
        return [r[0] for r in rows]

    # -- file layers ------------------------------------------------------------------------

    def create_layer(self, repo_id: int) -> int:
        return self._insert_id("INSERT INTO layers (repo_id, entries) VALUES (?, 0)", (repo_id,))

    def layer_size(self, layer_id: int) -> int:
        return int(self._first("SELECT entries FROM layers WHERE id = ?", (layer_id,)) or 0)

    def put_layer_entries(self, layer_id: int, entries: Iterable[LayerEntry]) -> None:
        self._run_many(
            "INSERT INTO layer_entries (layer_id, path, blob, size) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (layer_id, path) DO UPDATE SET blob = excluded.blob, size = excluded.size",
            ((layer_id, e.path, e.blob, e.size) for e in entries),
        )

    def delete_layer_entries(self, layer_id: int, paths: Iterable[str]) -> None:
        self._run_many("DELETE FROM layer_entries WHERE layer_id = ? AND path = ?", ((layer_id, p) for p in paths))

    def refresh_layer_size(self, layer_id: int) -> int:
        count = int(self._first("SELECT COUNT(*) FROM layer_entries WHERE layer_id = ?", (layer_id,)))
        self._run("UPDATE layers SET entries = ? WHERE id = ?", (count, layer_id))
        return count

    def scan_layer(self, layer_id: int, lower: str = "", upper: str | None = None) -> Iterator[LayerEntry]:
        sql = "SELECT path, blob, size FROM layer_entries WHERE layer_id = ? AND path >= ?"
        params: list[Any] = [layer_id, lower]
        if upper is not None:
            sql += " AND path < ?"
            params.append(upper)
        for row in self._run(sql + " ORDER BY path", params):
            yield LayerEntry(*row)

    def get_layer_entry(self, layer_id: int, path: str) -> LayerEntry | None:
        row = self._run(
            "SELECT path, blob, size FROM layer_entries WHERE layer_id = ? AND path = ?", (layer_id, path)
        ).fetchone()
        return None if row is None else LayerEntry(*row)

    def copy_missing_entries(self, src_layer_id: int, dst_layer_id: int) -> int:
        """Copy into ``dst`` every entry of ``src`` whose path ``dst`` does not have; returns how many."""
        copied = self._written(
            self._run(
                "INSERT INTO layer_entries (layer_id, path, blob, size)"
                " SELECT ?, path, blob, size FROM layer_entries WHERE layer_id = ? ON CONFLICT DO NOTHING",
                (dst_layer_id, src_layer_id),
            )
        )
        self.refresh_layer_size(dst_layer_id)
        return copied

    def commit_stack(self, commit_id: int) -> list[int]:
        rows = self._run("SELECT layer_id FROM commit_layers WHERE commit_id = ? ORDER BY position", (commit_id,))
        return [r[0] for r in rows]

    def set_commit_stack(self, commit_id: int, layer_ids: Sequence[int]) -> None:
        self._run("DELETE FROM commit_layers WHERE commit_id = ?", (commit_id,))
        if layer_ids:
            cte, params = self._ids(layer_ids)
            self._run(
                cte + "INSERT INTO commit_layers (commit_id, position, layer_id) SELECT ?, pos - 1, id FROM s",
                [*params, commit_id],
            )

    def merge_layers(self, repo_id: int, layer_ids: Sequence[int], drop_tombstones: bool) -> int:
        """A new layer holding the top-most entry of each path across ``layer_ids`` (bottom first)."""
        new_id = self.create_layer(repo_id)
        cte, params = self._ids(layer_ids)
        sql = (
            cte + "INSERT INTO layer_entries (layer_id, path, blob, size) SELECT ?, path, blob, size"
            f" FROM ({self._top_entries('')}) AS top"
        )
        if drop_tombstones:
            sql += " WHERE blob IS NOT NULL"
        written = self._written(self._run(sql, [*params, new_id]))
        self._run("UPDATE layers SET entries = ? WHERE id = ?", (written, new_id))
        return new_id

    def tree_get(self, stack: Sequence[int], path: str) -> FileEntry | None:
        if not stack:
            return None
        if len(stack) == 1:
            row = self._run(
                "SELECT blob, size FROM layer_entries WHERE layer_id = ? AND path = ?", (stack[0], path)
            ).fetchone()
        else:
            cte, params = self._ids(stack)
            row = self._run(
                cte + "SELECT e.blob, e.size FROM s JOIN layer_entries e"
                " ON e.layer_id = s.id AND e.path = ? ORDER BY s.pos DESC LIMIT 1",
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
            rows = self._run(
                f"SELECT e.path, e.blob, e.size FROM layer_entries e WHERE e.layer_id = ? AND e.path >= ?{bound}"
                " AND e.blob IS NOT NULL ORDER BY e.path",
                [stack[0], *tail],
            )
        else:
            cte, params = self._ids(stack)
            rows = self._run(
                cte + f"SELECT path, blob, size FROM ({self._top_entries(f' WHERE e.path >= ?{bound}')}) AS top"
                " WHERE blob IS NOT NULL ORDER BY path",
                [*params, *tail],
            )
        for path, blob, size in rows:
            yield FileEntry(path, blob, size)

    def tree_size_delta(self, parent_stack: Sequence[int], layer_id: int) -> int:
        """Bytes the tree gains when ``layer_id`` is applied on top of ``parent_stack``."""
        added = int(
            self._first(
                "SELECT COALESCE(SUM(size), 0) FROM layer_entries WHERE layer_id = ? AND blob IS NOT NULL",
                (layer_id,),
            )
        )
        if not parent_stack:
            return added
        cte, params = self._ids(parent_stack)
        replaced = int(
            self._first(
                cte + "SELECT COALESCE(SUM(("
                " SELECT CASE WHEN p.blob IS NULL THEN 0 ELSE p.size END FROM s JOIN layer_entries p"
                " ON p.layer_id = s.id AND p.path = d.path ORDER BY s.pos DESC LIMIT 1)), 0)"
                " FROM layer_entries d WHERE d.layer_id = ?",
                [*params, layer_id],
            )
        )
        return added - replaced

    def gc_layers(self, repo_id: int) -> int:
        """Delete the repo's layers that no commit uses any more; returns how many."""
        rows = self._run(
            "DELETE FROM layers WHERE repo_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM commit_layers cl WHERE cl.layer_id = layers.id)"
            " AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.diff_layer_id = layers.id)",
            (repo_id,),
        )
        return max(rows.rowcount, 0)
