"""The PFS tables on PostgreSQL: :class:`tuskd.store.base.PfsTx` on one transaction.

A port of store/sqlite.py's queries: ``RETURNING id`` for new rows, ``ON CONFLICT`` for the
inserts SQLite spells ``OR IGNORE``/``OR REPLACE``, ``DISTINCT ON`` where SQLite takes bare
columns beside ``MAX()``, and a layer stack passed as one array (``unnest ... WITH ORDINALITY``,
bottom first). Paths sort the same as in SQLite because the database uses C collation (checked
when the store opens).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from tuskd.domain.pfs import FileEntry, RepoKey

from .base import BranchRow, CommitRow, LayerEntry, RepoRow
from .postgres_tx import PgTx

__all__ = ["PostgresTx"]

_COMMIT_COLUMNS: Final = (
    "id, repo_id, set_id, branch, parent_id, origin, description, error, started_us, "
    "finishing_us, finished_us, diff_layer_id, size_bytes"
)
_BRANCH_COLUMNS: Final = "id, repo_id, name, head_id, created_us, updated_us"
_REPO_COLUMNS: Final = "id, project, name, type, description, created_us"
# The stack as rows (layer_id, pos), pos growing upwards; the one parameter is the id array.
_STACK: Final = "WITH s(layer_id, pos) AS (SELECT * FROM unnest(%s::bigint[]) WITH ORDINALITY) "


class PostgresTx(PgTx):
    """PFS tables inside one PostgreSQL transaction."""

    # -- repos ------------------------------------------------------------------------------

    @staticmethod
    def _repo(row: Sequence[Any]) -> RepoRow:
        return RepoRow(row[0], RepoKey(row[1], row[2], row[3]), row[4], row[5])

    def insert_repo(self, key: RepoKey, description: str, created_us: int) -> RepoRow:
        new_id = self._one(
            "INSERT INTO repos (project, name, type, description, created_us) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (key.project, key.name, key.type, description, created_us),
        )
        return RepoRow(new_id, key, description, created_us)

    def get_repo(self, key: RepoKey) -> RepoRow | None:
        row = self._x(
            f"SELECT {_REPO_COLUMNS} FROM repos WHERE project = %s AND name = %s AND type = %s",
            (key.project, key.name, key.type),
        ).fetchone()
        return None if row is None else self._repo(row)

    def get_repo_by_id(self, repo_id: int) -> RepoRow:
        row = self._x(f"SELECT {_REPO_COLUMNS} FROM repos WHERE id = %s", (repo_id,)).fetchone()
        if row is None:
            raise KeyError(f"repo id {repo_id}")
        return self._repo(row)

    def update_repo_description(self, repo_id: int, description: str) -> None:
        self._x("UPDATE repos SET description = %s WHERE id = %s", (description, repo_id))

    def list_repos(self, type: str | None = None, projects: Sequence[str] = ()) -> list[RepoRow]:
        sql = f"SELECT {_REPO_COLUMNS} FROM repos WHERE TRUE"
        params: list[Any] = []
        if type:
            sql += " AND type = %s"
            params.append(type)
        if projects:
            sql += " AND project = ANY(%s)"
            params.append(list(projects))
        sql += " ORDER BY created_us DESC, id DESC"
        return [self._repo(r) for r in self._x(sql, params)]

    def delete_repo(self, repo_id: int) -> None:
        # Explicit order keeps every foreign key satisfied at each step.
        self._x("UPDATE branches SET head_id = NULL WHERE repo_id = %s", (repo_id,))
        self._x("DELETE FROM branches WHERE repo_id = %s", (repo_id,))
        self._x("UPDATE commits SET parent_id = NULL WHERE repo_id = %s", (repo_id,))
        self._x("DELETE FROM commits WHERE repo_id = %s", (repo_id,))
        self._x("DELETE FROM layers WHERE repo_id = %s", (repo_id,))
        self._x("DELETE FROM repos WHERE id = %s", (repo_id,))

    # -- branches ---------------------------------------------------------------------------

    def insert_branch(self, repo_id: int, name: str, head_id: int | None, now_us: int) -> BranchRow:
        new_id = self._one(
            "INSERT INTO branches (repo_id, name, head_id, created_us, updated_us) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (repo_id, name, head_id, now_us, now_us),
        )
        return BranchRow(new_id, repo_id, name, head_id, now_us, now_us)

    def get_branch(self, repo_id: int, name: str) -> BranchRow | None:
        row = self._x(
            f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE repo_id = %s AND name = %s", (repo_id, name)
        ).fetchone()
        return None if row is None else BranchRow(*row)

    def get_branch_by_id(self, branch_id: int) -> BranchRow:
        row = self._x(f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE id = %s", (branch_id,)).fetchone()
        if row is None:
            raise KeyError(f"branch id {branch_id}")
        return BranchRow(*row)

    def list_branches(self, repo_id: int | None = None) -> list[BranchRow]:
        if repo_id is None:
            rows = self._x(f"SELECT {_BRANCH_COLUMNS} FROM branches ORDER BY created_us DESC, id DESC")
        else:
            rows = self._x(
                f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE repo_id = %s ORDER BY created_us DESC, id DESC",
                (repo_id,),
            )
        return [BranchRow(*r) for r in rows]

    def set_branch_head(self, branch_id: int, head_id: int | None, now_us: int) -> None:
        self._x("UPDATE branches SET head_id = %s, updated_us = %s WHERE id = %s", (head_id, now_us, branch_id))

    def branches_with_head(self, commit_id: int) -> list[BranchRow]:
        rows = self._x(f"SELECT {_BRANCH_COLUMNS} FROM branches WHERE head_id = %s ORDER BY id", (commit_id,))
        return [BranchRow(*r) for r in rows]

    def set_branch_provenance(self, branch_id: int, prov_ids: Sequence[int]) -> None:
        self._x("DELETE FROM branch_provenance WHERE branch_id = %s", (branch_id,))
        if prov_ids:
            self._x(
                "INSERT INTO branch_provenance (branch_id, prov_id) SELECT %s, p FROM unnest(%s::bigint[]) AS p"
                " ON CONFLICT DO NOTHING",
                (branch_id, list(prov_ids)),
            )

    def branch_provenance_edges(self) -> list[tuple[int, int]]:
        return [(r[0], r[1]) for r in self._x("SELECT branch_id, prov_id FROM branch_provenance")]

    def delete_branch(self, branch_id: int) -> None:
        self._x("DELETE FROM branches WHERE id = %s", (branch_id,))

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
        new_id = self._one(
            "INSERT INTO commits (repo_id, set_id, branch, parent_id, origin, description, started_us,"
            " finishing_us, finished_us, diff_layer_id, size_bytes)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (repo_id, set_id, branch, parent_id, origin, description, started_us, finishing_us, finished_us,
             diff_layer_id, size_bytes),
        )  # fmt: skip
        return CommitRow(
            new_id, repo_id, set_id, branch, parent_id, origin, description, "", started_us, finishing_us,
            finished_us, diff_layer_id, size_bytes,
        )  # fmt: skip

    def get_commit(self, commit_id: int) -> CommitRow | None:
        row = self._x(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE id = %s", (commit_id,)).fetchone()
        return None if row is None else CommitRow(*row)

    def find_commit(self, repo_id: int, set_id: str) -> CommitRow | None:
        row = self._x(
            f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE repo_id = %s AND set_id = %s", (repo_id, set_id)
        ).fetchone()
        return None if row is None else CommitRow(*row)

    def commits_in_set(self, set_id: str) -> list[CommitRow]:
        rows = self._x(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE set_id = %s ORDER BY id", (set_id,))
        return [CommitRow(*r) for r in rows]

    def commit_children(self, commit_id: int) -> list[CommitRow]:
        rows = self._x(f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE parent_id = %s ORDER BY id", (commit_id,))
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
        sql = f"SELECT {_COMMIT_COLUMNS} FROM commits WHERE repo_id = %s"
        params: list[Any] = [repo_id]
        for clause, value in (
            (" AND origin = %s", origin),
            (" AND branch = %s", branch),
            (" AND id > %s", after_id),
            (" AND started_us < %s", started_before_us),
            (" AND started_us > %s", started_after_us),
        ):
            if value is not None:
                sql += clause
                params.append(value)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        for row in self._x(sql, params):
            yield CommitRow(*row)

    def set_commit_finishing(self, commit_id: int, at_us: int, error: str, description: str | None) -> None:
        if description is None:
            self._x("UPDATE commits SET finishing_us = %s, error = %s WHERE id = %s", (at_us, error, commit_id))
        else:
            self._x(
                "UPDATE commits SET finishing_us = %s, error = %s, description = %s WHERE id = %s",
                (at_us, error, description, commit_id),
            )

    def set_commit_finished(self, commit_id: int, at_us: int, size_bytes: int) -> None:
        self._x("UPDATE commits SET finished_us = %s, size_bytes = %s WHERE id = %s", (at_us, size_bytes, commit_id))

    def set_commit_parent(self, commit_id: int, parent_id: int | None) -> None:
        self._x("UPDATE commits SET parent_id = %s WHERE id = %s", (parent_id, commit_id))

    def delete_commit(self, commit_id: int) -> None:
        self._x("DELETE FROM commits WHERE id = %s", (commit_id,))

    def add_commit_provenance(self, commit_id: int, prov_id: int) -> None:
        self._x(
            "INSERT INTO commit_provenance (commit_id, prov_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (commit_id, prov_id),
        )

    def commit_provenance(self, commit_id: int) -> list[int]:
        rows = self._x("SELECT prov_id FROM commit_provenance WHERE commit_id = %s ORDER BY prov_id", (commit_id,))
        return [r[0] for r in rows]

    def commit_subvenance(self, commit_id: int) -> list[int]:
        rows = self._x("SELECT commit_id FROM commit_provenance WHERE prov_id = %s ORDER BY commit_id", (commit_id,))
        return [r[0] for r in rows]

    def commit_set_ids(self, project: str | None = None) -> list[str]:
        if project is None:
            rows = self._x("SELECT set_id FROM commits GROUP BY set_id ORDER BY MAX(id) DESC")
        else:
            rows = self._x(
                "SELECT c.set_id FROM commits c JOIN repos r ON r.id = c.repo_id"
                " WHERE r.project = %s GROUP BY c.set_id ORDER BY MAX(c.id) DESC",
                (project,),
            )
        return [r[0] for r in rows]

    # -- file layers ------------------------------------------------------------------------

    def create_layer(self, repo_id: int) -> int:
        return int(self._one("INSERT INTO layers (repo_id, entries) VALUES (%s, 0) RETURNING id", (repo_id,)))

    def layer_size(self, layer_id: int) -> int:
        return int(self._one("SELECT entries FROM layers WHERE id = %s", (layer_id,)) or 0)

    def put_layer_entries(self, layer_id: int, entries: Iterable[LayerEntry]) -> None:
        self._many(
            "INSERT INTO layer_entries (layer_id, path, blob, size) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (layer_id, path) DO UPDATE SET blob = EXCLUDED.blob, size = EXCLUDED.size",
            ((layer_id, e.path, e.blob, e.size) for e in entries),
        )

    def delete_layer_entries(self, layer_id: int, paths: Iterable[str]) -> None:
        self._many("DELETE FROM layer_entries WHERE layer_id = %s AND path = %s", ((layer_id, p) for p in paths))

    def refresh_layer_size(self, layer_id: int) -> int:
        count = int(self._one("SELECT COUNT(*) FROM layer_entries WHERE layer_id = %s", (layer_id,)))
        self._x("UPDATE layers SET entries = %s WHERE id = %s", (count, layer_id))
        return count

    def scan_layer(self, layer_id: int, lower: str = "", upper: str | None = None) -> Iterator[LayerEntry]:
        sql = "SELECT path, blob, size FROM layer_entries WHERE layer_id = %s AND path >= %s"
        params: list[Any] = [layer_id, lower]
        if upper is not None:
            sql += " AND path < %s"
            params.append(upper)
        for row in self._x(sql + " ORDER BY path", params):
            yield LayerEntry(*row)

    def get_layer_entry(self, layer_id: int, path: str) -> LayerEntry | None:
        row = self._x(
            "SELECT path, blob, size FROM layer_entries WHERE layer_id = %s AND path = %s", (layer_id, path)
        ).fetchone()
        return None if row is None else LayerEntry(*row)

    def copy_missing_entries(self, src_layer_id: int, dst_layer_id: int) -> int:
        """Copy into ``dst`` every entry of ``src`` whose path ``dst`` does not have; returns how many."""
        copied = self._x(
            "INSERT INTO layer_entries (layer_id, path, blob, size)"
            " SELECT %s, path, blob, size FROM layer_entries WHERE layer_id = %s ON CONFLICT DO NOTHING",
            (dst_layer_id, src_layer_id),
        ).rowcount
        self.refresh_layer_size(dst_layer_id)
        return max(copied, 0)

    def commit_stack(self, commit_id: int) -> list[int]:
        rows = self._x("SELECT layer_id FROM commit_layers WHERE commit_id = %s ORDER BY position", (commit_id,))
        return [r[0] for r in rows]

    def set_commit_stack(self, commit_id: int, layer_ids: Sequence[int]) -> None:
        self._x("DELETE FROM commit_layers WHERE commit_id = %s", (commit_id,))
        if layer_ids:
            self._x(
                "INSERT INTO commit_layers (commit_id, position, layer_id)"
                " SELECT %s, pos - 1, layer_id FROM unnest(%s::bigint[]) WITH ORDINALITY AS s(layer_id, pos)",
                (commit_id, list(layer_ids)),
            )

    def merge_layers(self, repo_id: int, layer_ids: Sequence[int], drop_tombstones: bool) -> int:
        """A new layer holding the top-most entry of each path across ``layer_ids`` (bottom first)."""
        new_id = self.create_layer(repo_id)
        sql = (
            _STACK + "INSERT INTO layer_entries (layer_id, path, blob, size) SELECT %s, path, blob, size FROM ("
            " SELECT DISTINCT ON (e.path) e.path, e.blob, e.size FROM s JOIN layer_entries e ON e.layer_id = s.layer_id"
            " ORDER BY e.path, s.pos DESC) AS top"
        )
        if drop_tombstones:
            sql += " WHERE blob IS NOT NULL"
        written = self._x(sql, (list(layer_ids), new_id)).rowcount
        self._x("UPDATE layers SET entries = %s WHERE id = %s", (max(written, 0), new_id))
        return new_id

    def tree_get(self, stack: Sequence[int], path: str) -> FileEntry | None:
        if not stack:
            return None
        if len(stack) == 1:
            row = self._x(
                "SELECT blob, size FROM layer_entries WHERE layer_id = %s AND path = %s", (stack[0], path)
            ).fetchone()
        else:
            row = self._x(
                _STACK + "SELECT e.blob, e.size FROM s JOIN layer_entries e"
                " ON e.layer_id = s.layer_id AND e.path = %s ORDER BY s.pos DESC LIMIT 1",
                (list(stack), path),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return FileEntry(path, row[0], row[1])

    def tree_scan(self, stack: Sequence[int], lower: str = "", upper: str | None = None) -> Iterator[FileEntry]:
        """Live files with ``lower <= path < upper`` in path order, the top-most layer winning."""
        if not stack:
            return
        bound = "" if upper is None else " AND e.path < %s"
        tail: list[Any] = [lower] if upper is None else [lower, upper]
        if len(stack) == 1:
            cur = self._x(
                f"SELECT e.path, e.blob, e.size FROM layer_entries e WHERE e.layer_id = %s AND e.path >= %s{bound}"
                " AND e.blob IS NOT NULL ORDER BY e.path",
                [stack[0], *tail],
            )
        else:
            cur = self._x(
                _STACK + "SELECT path, blob, size FROM ("
                " SELECT DISTINCT ON (e.path) e.path, e.blob, e.size FROM s JOIN layer_entries e"
                f" ON e.layer_id = s.layer_id WHERE e.path >= %s{bound} ORDER BY e.path, s.pos DESC) AS top"
                " WHERE blob IS NOT NULL ORDER BY path",
                [list(stack), *tail],
            )
        for path, blob, size in cur:
            yield FileEntry(path, blob, size)

    def tree_size_delta(self, parent_stack: Sequence[int], layer_id: int) -> int:
        """Bytes the tree gains when ``layer_id`` is applied on top of ``parent_stack``."""
        added = int(
            self._one(
                "SELECT COALESCE(SUM(size), 0) FROM layer_entries WHERE layer_id = %s AND blob IS NOT NULL",
                (layer_id,),
            )
        )
        if not parent_stack:
            return added
        replaced = int(
            self._one(
                _STACK + "SELECT COALESCE(SUM(("
                " SELECT CASE WHEN p.blob IS NULL THEN 0 ELSE p.size END FROM s JOIN layer_entries p"
                " ON p.layer_id = s.layer_id AND p.path = d.path ORDER BY s.pos DESC LIMIT 1)), 0)"
                " FROM layer_entries d WHERE d.layer_id = %s",
                (list(parent_stack), layer_id),
            )
        )
        return added - replaced

    def gc_layers(self, repo_id: int) -> int:
        """Delete the repo's layers that no commit uses any more; returns how many."""
        cur = self._x(
            "DELETE FROM layers WHERE repo_id = %s"
            " AND NOT EXISTS (SELECT 1 FROM commit_layers cl WHERE cl.layer_id = layers.id)"
            " AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.diff_layer_id = layers.id)",
            (repo_id,),
        )
        return max(cur.rowcount, 0)
