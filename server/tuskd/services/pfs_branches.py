"""PFS branches: create or move (with provenance and propagation), inspect, list, delete."""

from __future__ import annotations

from collections.abc import Sequence

from tuskd.domain.errors import FailedPrecondition, InvalidArgument
from tuskd.domain.ids import new_global_id
from tuskd.domain.pfs import BranchInfo, BranchKey, CommitRef, OriginKind, RepoKey, check_branch_name
from tuskd.store.base import BranchRow, PfsTx

from .pfs_commits import CommitOps
from .pfs_shared import _closure, _Names, repo_topic


class BranchOps(CommitOps):
    """Branch use cases; moving a head opens commits through :class:`CommitOps`."""

    def create_branch(
        self,
        branch: BranchKey,
        head: CommitRef | None = None,
        provenance: Sequence[BranchKey] = (),
        new_commit_set: bool = False,
        *,
        tx: PfsTx | None = None,
    ) -> BranchInfo:
        """Create or update a branch: point it at ``head`` and/or set its direct provenance.

        Missing provenance branches are created with an empty commit. A branch that gets no head
        or new provenance gets a new AUTO commit (open if it has provenance), and moving a head
        propagates downstream in one new commit set. ``new_commit_set`` is accepted for
        compatibility: every CreateBranch already uses its own commit set.
        """
        check_branch_name(branch.name)
        for p in provenance:
            check_branch_name(p.name)
            if p.repo == branch.repo:
                raise InvalidArgument(f'repo "{branch.repo}" cannot be in the provenance of its own branch')
        del new_commit_set  # every CreateBranch already opens its own commit set
        with self._writing(tx) as tx:
            names = _Names(tx)
            repo = self._repo_row(tx, branch.repo)
            set_id = new_global_id()
            now = self._now()
            prov_rows: list[BranchRow] = []
            for p in dict.fromkeys(provenance):
                prepo = self._repo_row(tx, p.repo)
                prow = tx.get_branch(prepo.id, p.name)
                if prow is None:
                    empty = self._new_commit(tx, prepo, set_id, p.name, None, OriginKind.AUTO, "", (), names)
                    prow = tx.insert_branch(prepo.id, p.name, empty.id, now)
                    self._finish_tx(tx, empty, "", None, False, names)
                prov_rows.append(prow)
            existing = tx.get_branch(repo.id, branch.name)
            graph = self._branch_graph(tx)
            if existing is not None:
                for prow in prov_rows:
                    if prow.id == existing.id or existing.id in _closure(prow.id, graph[0]):
                        raise InvalidArgument(
                            f'branch "{branch}" cannot have "{names.branch(prow.id)}" in its provenance: '
                            "that would make a cycle"
                        )
            head_row = self._resolve(tx, head) if head is not None else None
            if head_row is not None and head_row.repo_id != repo.id:
                raise InvalidArgument(f'head commit {names.commit(head_row)} is not in repo "{repo.key}"')
            old_prov = graph[0].get(existing.id, set()) if existing is not None else set()
            new_prov = {p.id for p in prov_rows}
            if existing is None:
                row = tx.insert_branch(repo.id, branch.name, head_row.id if head_row else None, now)
            else:
                row = existing
                if head_row is not None:
                    tx.set_branch_head(row.id, head_row.id, now)
            tx.set_branch_provenance(row.id, sorted(new_prov))
            current_head = head_row.id if head_row is not None else row.head_id
            propagate = head_row is not None
            if current_head is None or (new_prov and new_prov != old_prov):
                prov_heads = [p.head_id for p in (tx.get_branch_by_id(i) for i in sorted(new_prov)) if p.head_id]
                fresh = self._new_commit(
                    tx, repo, set_id, branch.name, current_head, OriginKind.AUTO, "", prov_heads, names
                )
                tx.set_branch_head(row.id, fresh.id, now)
                if not new_prov:
                    self._finish_tx(tx, fresh, "", None, False, names)
                propagate = True
            if propagate:
                self._propagate(tx, [row.id], set_id, names)
            self._publish_after(tx, repo_topic(repo.key))
            return self._branch_info(tx, tx.get_branch_by_id(row.id), self._branch_graph(tx), names)

    def inspect_branch(self, branch: BranchKey, *, tx: PfsTx | None = None) -> BranchInfo:
        with self._reading(tx) as tx:
            repo = self._repo_row(tx, branch.repo)
            row = self._branch_row(tx, repo, branch.name)
            return self._branch_info(tx, row, self._branch_graph(tx), _Names(tx))

    def list_branches(self, repo: RepoKey | None = None, reverse: bool = False) -> list[BranchInfo]:
        """Branches of ``repo`` (or of every repo), newest first (``reverse``: oldest first)."""
        with self.store.read() as tx:
            repo_id = self._repo_row(tx, repo).id if repo is not None else None
            rows = tx.list_branches(repo_id)
            if reverse:
                rows.reverse()
            graph = self._branch_graph(tx)
            names = _Names(tx)
            return [self._branch_info(tx, r, graph, names) for r in rows]

    def delete_branch(self, branch: BranchKey, force: bool = False, *, tx: PfsTx | None = None) -> None:
        """Delete a branch (its commits stay). Refused while other branches have it in their
        provenance, unless ``force``, which also removes it from their provenance."""
        with self._writing(tx) as tx:
            names = _Names(tx)
            repo = self._repo_row(tx, branch.repo)
            row = self._branch_row(tx, repo, branch.name)
            prov, subv = self._branch_graph(tx)
            users = subv.get(row.id, set())
            if users and not force:
                shown = ", ".join(sorted(str(names.branch(u)) for u in users))
                raise FailedPrecondition(
                    f'cannot delete branch "{branch}": it is in the provenance of {shown}; use force',
                    reason="BRANCH_HAS_SUBVENANCE",
                )
            for user in users:
                tx.set_branch_provenance(user, sorted(prov.get(user, set()) - {row.id}))
            tx.delete_branch(row.id)
            self._publish_after(tx, repo_topic(repo.key))
