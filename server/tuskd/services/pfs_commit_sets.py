"""PFS commit sets: inspect (and wait), list, squash, drop, and removing commits for pfs_history."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence

from tuskd.domain.errors import DeadlineExceeded, FailedPrecondition, NotFound
from tuskd.domain.ids import check_global_id, new_global_id
from tuskd.domain.pfs import CommitEvent, CommitEventKind, CommitInfo, CommitRef, CommitSetInfo, OriginKind
from tuskd.store.base import CommitRow, PfsTx

from .events import CancelToken
from .pfs_commits import CommitOps
from .pfs_shared import _Names, commit_set_topic, repo_topic


class CommitSetOps(CommitOps):
    """Commit set use cases."""

    def _set_rows(self, tx: PfsTx, set_id: str) -> list[CommitRow]:
        rows = tx.commits_in_set(set_id)
        if not rows:
            raise NotFound(f"commit set {set_id} not found", reason="COMMIT_SET_NOT_FOUND", commit_set=set_id)
        return rows

    def _set_with_provenance(self, tx: PfsTx, set_id: str) -> list[CommitRow]:
        """The set's commits plus the commits they depend on from other sets, upstream first."""
        rows = {r.id: r for r in self._set_rows(tx, set_id)}
        for row in list(rows.values()):
            for prov_id in tx.commit_provenance(row.id):
                if prov_id not in rows:
                    prov = tx.get_commit(prov_id)
                    if prov is not None:
                        rows[prov_id] = prov
        order: list[CommitRow] = []
        seen: set[int] = set()

        def visit(row: CommitRow) -> None:
            if row.id in seen:
                return
            seen.add(row.id)
            for prov_id in tx.commit_provenance(row.id):
                if prov_id in rows:
                    visit(rows[prov_id])
            order.append(row)

        for commit_id in sorted(rows):
            visit(rows[commit_id])
        return order

    def inspect_commit_set(
        self,
        set_id: str,
        wait: bool = False,
        *,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
    ) -> list[CommitInfo]:
        """The commits of a commit set (with the commits they depend on from other sets, as
        Pachyderm does), upstream first; with ``wait``, once all of them are finished."""
        check_global_id(set_id, "commit set")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.events.subscribe(commit_set_topic(set_id), cancel=cancel) as sub:
            while True:
                with self.store.read() as tx:
                    names = _Names(tx)
                    rows = self._set_with_provenance(tx, set_id)
                    pending = [r for r in rows if r.finished_us is None]
                    if not wait or not pending:
                        return [self._commit_info(tx, r, names) for r in rows]
                    topics = [repo_topic(names.repo(r.repo_id)) for r in pending]
                if any(t not in sub.topics for t in topics):
                    self.events.add_topics(sub, topics)
                    continue
                sub.check()
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not sub.wait(remaining):
                    raise DeadlineExceeded(f"commit set {set_id} did not finish in time")
                sub.check()

    def list_commit_sets(self, project: str = "") -> Iterator[CommitSetInfo]:
        """Commit sets, newest first (by their newest commit), optionally of one project."""
        with self.store.read() as tx:
            ids = tx.commit_set_ids(project or None)
        for set_id in ids:
            with self.store.read() as tx:
                if not tx.commits_in_set(set_id):
                    continue
                names = _Names(tx)
                rows = self._set_with_provenance(tx, set_id)
                commits = tuple(self._commit_info(tx, r, names) for r in rows)
            yield CommitSetInfo(set_id, commits)

    def _check_no_subvenant_sets(self, tx: PfsTx, set_id: str, rows: Sequence[CommitRow], verb: str) -> None:
        others: set[str] = set()
        for row in rows:
            for sub_id in tx.commit_subvenance(row.id):
                sub = tx.get_commit(sub_id)
                if sub is not None and sub.set_id != set_id:
                    others.add(sub.set_id)
        if others:
            raise FailedPrecondition(
                f"cannot {verb} commit set {set_id}: commit sets {', '.join(sorted(others))} depend on it; "
                f"{verb} those first",
                reason="COMMIT_SET_HAS_SUBVENANCE",
                commit_set=set_id,
            )

    def squash_commit_set(self, set_id: str, *, tx: PfsTx | None = None) -> None:
        """Remove a commit set's commits, folding each one's changes into its children.

        Every commit must have children (squashing a head would lose data: drop it instead),
        and no other commit set may depend on this one.
        """
        check_global_id(set_id, "commit set")
        with self._writing(tx) as tx:
            names = _Names(tx)
            rows = self._set_rows(tx, set_id)
            self._check_no_subvenant_sets(tx, set_id, rows, "squash")
            for row in rows:
                if not tx.commit_children(row.id):
                    raise FailedPrecondition(
                        f"cannot squash commit {names.commit(row)}: it has no children; drop its commit set instead",
                        reason="SQUASH_WITHOUT_CHILDREN",
                    )
            self.remove_commits(tx, rows, squash=True, cause=f"commit set {set_id} was squashed")

    def drop_commit_set(self, set_id: str) -> None:
        """Remove a commit set whose commits are all heads (no children); branch heads move back
        to the parents, and no other commit set may depend on this one."""
        check_global_id(set_id, "commit set")
        with self.store.write() as tx:
            names = _Names(tx)
            rows = self._set_rows(tx, set_id)
            self._check_no_subvenant_sets(tx, set_id, rows, "drop")
            for row in rows:
                if tx.commit_children(row.id):
                    raise FailedPrecondition(
                        f"cannot drop commit {names.commit(row)}: it has children; "
                        "drop the commit sets of its descendants first",
                        reason="DROP_WITH_CHILDREN",
                    )
            self.remove_commits(tx, rows, squash=False, cause=f"commit set {set_id} was dropped")

    def remove_commits(self, tx: PfsTx, rows: Sequence[CommitRow], *, squash: bool, cause: str) -> None:
        """Delete commits the caller has checked; with ``squash`` each one's changes move into
        its children first (they become children of its parent). ``cause`` ends the unfinished jobs
        of removed output commits (KILLED, with it as their reason). Used by services/pfs_history.py."""
        names = _Names(tx)
        for stale in rows:
            row = tx.get_commit(stale.id) or stale  # an earlier removal may have re-parented it
            if squash:
                for child in tx.commit_children(row.id):
                    if row.diff_layer_id is not None and child.diff_layer_id is not None:
                        tx.copy_missing_entries(row.diff_layer_id, child.diff_layer_id)
                    tx.set_commit_parent(child.id, row.parent_id)
            self._remove_commit(tx, row, names, cause)
        self._gc(tx, rows)

    def resolve_commit(self, tx: PfsTx, ref: CommitRef) -> CommitRow:
        """The row ``ref`` names inside ``tx`` (NotFound as every lookup here)."""
        return self._resolve(tx, ref)

    def commit_info_of(self, tx: PfsTx, row: CommitRow) -> CommitInfo:
        """The API's view of a commit row read inside ``tx``."""
        return self._commit_info(tx, row)

    def _remove_commit(self, tx: PfsTx, row: CommitRow, names: _Names, cause: str) -> None:
        info = self._commit_info(tx, row, names)
        now = self._now()
        for branch in tx.branches_with_head(row.id):
            if row.parent_id is not None:
                tx.set_branch_head(branch.id, row.parent_id, now)
            else:
                # Every branch keeps a head: an empty one, as Pachyderm does.
                tx.set_branch_head(branch.id, None, now)
                repo = tx.get_repo_by_id(branch.repo_id)
                empty = self._new_commit(tx, repo, new_global_id(), branch.name, None, OriginKind.AUTO, "", (), names)
                tx.set_branch_head(branch.id, empty.id, now)
                self._finish_tx(tx, empty, "", None, False, names)
        tx.delete_commit(row.id)
        self._emit(tx, CommitEvent(CommitEventKind.DELETED, info, cause=cause))
        self._publish_after(tx, repo_topic(info.commit.repo), commit_set_topic(row.set_id))

    def _gc(self, tx: PfsTx, rows: Iterable[CommitRow]) -> None:
        for repo_id in {r.repo_id for r in rows}:
            tx.gc_layers(repo_id)
