"""PFS commits: open (with propagation downstream), finish and materialise, inspect, wait, list, subscribe."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from tuskd.domain.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.ids import new_global_id
from tuskd.domain.pfs import (
    BranchKey,
    CommitEventKind,
    CommitInfo,
    CommitKey,
    CommitRef,
    CommitState,
    CommitStatus,
    OriginKind,
    RepoKey,
    check_branch_name,
    layers_to_merge,
)
from tuskd.store.base import CommitRow, PfsTx, RepoRow

from .events import CancelToken
from .pfs_base import PfsBase
from .pfs_shared import _closure, _Names, commit_set_topic, repo_topic

T = TypeVar("T")


class CommitOps(PfsBase):
    """Commit use cases, and the commit lifecycle the other writers (branches, sets, files) share."""

    def _new_commit(
        self,
        tx: PfsTx,
        repo: RepoRow,
        set_id: str,
        branch: str | None,
        parent_id: int | None,
        origin: OriginKind,
        description: str,
        provenance: Sequence[int],
        names: _Names,
    ) -> CommitRow:
        if tx.find_commit(repo.id, set_id) is not None:
            raise FailedPrecondition(
                f'repo "{repo.key}" already has a commit in commit set {set_id}: '
                "two branches of one repo cannot both follow the same commit"
            )
        layer = tx.create_layer(repo.id)
        row = tx.insert_commit(
            repo_id=repo.id,
            set_id=set_id,
            branch=branch,
            parent_id=parent_id,
            origin=int(origin),
            description=description,
            started_us=self._now(),
            diff_layer_id=layer,
        )
        for prov_id in dict.fromkeys(provenance):
            tx.add_commit_provenance(row.id, prov_id)
        self._emit_commit(tx, CommitEventKind.STARTED, row, names)
        self._publish_after(tx, repo_topic(repo.key), commit_set_topic(set_id))
        return row

    def _propagate(self, tx: PfsTx, branch_ids: Sequence[int], set_id: str, names: _Names) -> None:
        """Open an AUTO commit in ``set_id`` on every branch downstream of ``branch_ids``."""
        prov, subv = self._branch_graph(tx)
        targets: set[int] = set()
        for branch_id in branch_ids:
            targets |= _closure(branch_id, subv)
        targets -= set(branch_ids)
        in_set: dict[int, int] = {}
        for branch_id in branch_ids:
            head_id = tx.get_branch_by_id(branch_id).head_id
            if head_id is not None:
                in_set[branch_id] = head_id
        for target in sorted(targets, key=lambda t: (len(_closure(t, prov)), t)):
            branch = tx.get_branch_by_id(target)
            if branch.head_id is not None:
                head = tx.get_commit(branch.head_id)
                if head is not None and head.set_id == set_id:
                    in_set[target] = head.id
                    continue
            prov_commits: list[int] = []
            for p in sorted(prov.get(target, ())):
                if p in in_set:
                    prov_commits.append(in_set[p])
                else:
                    p_head = tx.get_branch_by_id(p).head_id
                    if p_head is not None:
                        prov_commits.append(p_head)
            repo = tx.get_repo_by_id(branch.repo_id)
            row = self._new_commit(
                tx, repo, set_id, branch.name, branch.head_id, OriginKind.AUTO, "", prov_commits, names
            )
            tx.set_branch_head(target, row.id, self._now())
            in_set[target] = row.id

    def start_commit(
        self,
        branch: BranchKey,
        parent: CommitRef | None = None,
        description: str = "",
        set_id: str | None = None,
        *,
        tx: PfsTx | None = None,
    ) -> CommitInfo:
        """Open a USER commit on ``branch`` (created if missing) in a new commit set, or in
        ``set_id`` (a transaction's commits share its set)."""
        check_branch_name(branch.name)
        with self._writing(tx) as tx:
            names = _Names(tx)
            row = self._start_tx(tx, branch, parent, description, names, set_id)
            return self._commit_info(tx, row, names)

    def _start_tx(
        self,
        tx: PfsTx,
        branch: BranchKey,
        parent: CommitRef | None,
        description: str,
        names: _Names,
        set_id: str | None = None,
    ) -> CommitRow:
        repo = self._repo_row(tx, branch.repo)
        row = tx.get_branch(repo.id, branch.name)
        if row is not None and self._branch_graph(tx)[0].get(row.id):
            raise FailedPrecondition(
                f'cannot start a commit on branch "{branch}": it has provenance (it is an output branch)',
                reason="COMMIT_ON_OUTPUT_BRANCH",
            )
        if parent is not None:
            parent_row: CommitRow | None = self._resolve(tx, parent)
            assert parent_row is not None
            if parent_row.repo_id != repo.id:
                raise InvalidArgument(f'parent commit {parent} is not in repo "{repo.key}"')
        elif row is not None and row.head_id is not None:
            parent_row = tx.get_commit(row.head_id)
        else:
            parent_row = None
        if parent_row is not None and parent_row.finishing_us is None:
            raise FailedPrecondition(
                f"parent commit {names.commit(parent_row)} has not been finished",
                reason="PARENT_NOT_FINISHED",
                commit=parent_row.set_id,
            )
        set_id = set_id or new_global_id()
        commit = self._new_commit(
            tx,
            repo,
            set_id,
            branch.name,
            parent_row.id if parent_row is not None else None,
            OriginKind.USER,
            description,
            (),
            names,
        )
        now = self._now()
        if row is None:
            row = tx.insert_branch(repo.id, branch.name, commit.id, now)
        else:
            tx.set_branch_head(row.id, commit.id, now)
        self._propagate(tx, [row.id], set_id, names)
        return commit

    def finish_commit(
        self,
        commit: CommitRef,
        description: str = "",
        error: str = "",
        force: bool = False,
        *,
        tx: PfsTx | None = None,
    ) -> None:
        """Finish a commit; a non-empty ``error`` marks it failed (visible in CommitInfo.error).

        An empty ``description`` keeps the current one. ``force`` is passed to observers (the
        job engine refuses to let users finish pipeline output commits without it). ``tx``: do
        it in the caller's unit of work (else in a write of its own).
        """
        with self._writing(tx) as tx:
            names = _Names(tx)
            row = self._resolve(tx, commit)
            if row.finishing_us is not None:
                raise FailedPrecondition(
                    f"commit {names.commit(row)} is already finished", reason="COMMIT_FINISHED", commit=row.set_id
                )
            self._finish_tx(tx, row, error, description or None, force, names)

    def _finish_tx(
        self,
        tx: PfsTx,
        row: CommitRow,
        error: str,
        description: str | None,
        force: bool,
        names: _Names,
    ) -> None:
        tx.set_commit_finishing(row.id, self._now(), error, description)
        current = tx.get_commit(row.id)
        assert current is not None
        self._emit_commit(tx, CommitEventKind.FINISHING, current, names, force)
        self._complete(tx, current, names)

    def _complete(self, tx: PfsTx, row: CommitRow, names: _Names) -> None:
        """FINISHING -> FINISHED once the parent is finished; children waiting on it follow."""
        pending = [row]
        while pending:
            commit = pending.pop()
            parent = tx.get_commit(commit.parent_id) if commit.parent_id is not None else None
            if parent is not None and parent.finished_us is None:
                continue
            self._materialise(tx, commit, parent)
            done = tx.get_commit(commit.id)
            assert done is not None
            self._emit_commit(tx, CommitEventKind.FINISHED, done, names)
            self._publish_after(tx, repo_topic(names.repo(done.repo_id)), commit_set_topic(done.set_id))
            for child in tx.commit_children(commit.id):
                if child.finishing_us is not None and child.finished_us is None:
                    pending.append(child)

    def _materialise(self, tx: PfsTx, commit: CommitRow, parent: CommitRow | None) -> None:
        """Freeze a commit's tree: parent stack + its diff, compacted; record its size."""
        stack = tx.commit_stack(parent.id) if parent is not None else []
        size = parent.size_bytes if parent is not None else 0
        diff = commit.diff_layer_id
        if diff is not None and tx.refresh_layer_size(diff) > 0:
            size += tx.tree_size_delta(stack, diff)
            stack = [*stack, diff]
            merge = layers_to_merge([tx.layer_size(layer) for layer in stack])
            if merge:
                merged = tx.merge_layers(commit.repo_id, stack[-merge:], drop_tombstones=merge == len(stack))
                stack = stack[:-merge]
                if tx.layer_size(merged) > 0:
                    stack.append(merged)
        tx.set_commit_stack(commit.id, stack)
        tx.set_commit_finished(commit.id, self._now(), max(size, 0))

    def inspect_commit(
        self,
        commit: CommitRef,
        wait: CommitState = CommitState.UNKNOWN,
        *,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
        tx: PfsTx | None = None,
    ) -> CommitInfo:
        """A commit's info; with ``wait``, block until it reaches that state (READY: every direct
        provenance commit is finished). A branch reference is resolved once, before waiting.
        ``tx``: read through the caller's transaction (only without ``wait``)."""
        if tx is not None and wait > CommitState.STARTED:
            raise ValueError("a wait cannot run inside a transaction")
        with self._reading(tx) as tx:
            row = self._resolve(tx, commit)
            names = _Names(tx)
            key = names.commit(row)
            if wait <= CommitState.STARTED:
                return self._commit_info(tx, row, names)
        return self._wait_commit(row.id, key, wait, timeout, cancel, self._commit_info)

    def commit_status(
        self, commit: CommitRef, wait: CommitState = CommitState.UNKNOWN, *, cancel: CancelToken | None = None
    ) -> CommitStatus:
        """``inspect_commit`` for the engine: the same resolution and wait, a smaller answer."""
        with self._reading(None) as tx:
            row = self._resolve(tx, commit)
            if wait <= CommitState.STARTED:
                return self._commit_status(tx, row)
            key = _Names(tx).commit(row)
        return self._wait_commit(row.id, key, wait, None, cancel, self._commit_status)

    def _commit_status(self, tx: PfsTx, row: CommitRow) -> CommitStatus:
        names = _Names(tx)
        parent = tx.get_commit(row.parent_id) if row.parent_id is not None else None
        provenance = [tx.get_commit(i) for i in tx.commit_provenance(row.id)]
        return CommitStatus(
            commit=names.commit(row),
            parent=None if parent is None else names.commit(parent),
            direct_provenance=tuple(names.commit(p) for p in provenance if p is not None),
            finishing=row.finishing_us is not None,
            finished=row.finished_us is not None,
            error=row.error,
        )

    def _reached(self, tx: PfsTx, row: CommitRow, state: CommitState) -> tuple[bool, set[RepoKey]]:
        """Whether ``row`` is in ``state``; plus the repos whose changes could change the answer."""
        if state <= CommitState.STARTED:
            return True, set()
        if state == CommitState.READY:
            if row.finished_us is not None:
                return True, set()
            names = _Names(tx)
            repos: set[RepoKey] = set()
            ready = True
            for prov_id in tx.commit_provenance(row.id):
                prov = tx.get_commit(prov_id)
                if prov is not None and prov.finished_us is None:
                    ready = False
                    repos.add(names.repo(prov.repo_id))
            return ready, repos
        if state == CommitState.FINISHING:
            return row.finishing_us is not None, set()
        return row.finished_us is not None, set()

    def _wait_commit(
        self,
        commit_id: int,
        key: CommitKey,
        state: CommitState,
        timeout: float | None,
        cancel: CancelToken | None,
        answer: Callable[[PfsTx, CommitRow], T],
    ) -> T:
        """Wait until the commit reaches ``state``, then ``answer`` what it is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.events.subscribe(repo_topic(key.repo), cancel=cancel) as sub:
            while True:
                with self.store.read() as tx:
                    row = tx.get_commit(commit_id)
                    if row is None:
                        raise NotFound(f"commit {key} was deleted while waiting for it", reason="COMMIT_DELETED")
                    reached, watch = self._reached(tx, row, state)
                    if reached:
                        return answer(tx, row)
                topics = [repo_topic(r) for r in watch]
                if any(t not in sub.topics for t in topics):
                    self.events.add_topics(sub, topics)
                    continue  # re-read: a change may have landed before those topics were watched
                sub.check()
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not sub.wait(remaining):
                    raise DeadlineExceeded(f"commit {key} did not reach {state.name} in time")
                sub.check()

    def list_commits(
        self,
        repo: RepoKey,
        from_: CommitRef | None = None,
        to: CommitRef | None = None,
        number: int = 0,
        reverse: bool = False,
        all: bool = False,
        origin_kind: OriginKind = OriginKind.UNKNOWN,
        started_time: datetime | None = None,
        *,
        tx: PfsTx | None = None,
    ) -> Iterator[CommitInfo]:
        """Commits of a repo, newest first (``reverse``: oldest first), at most ``number`` (0: all).

        With ``to`` (and optionally ``from_``), the ancestry of ``to`` back to (excluding)
        ``from_``. ``started_time`` keeps commits started before it (after it when reversed).
        ``all`` disables the ``origin_kind`` filter.
        """
        if number < 0:
            raise InvalidArgument(f"number must not be negative (got {number})")
        if from_ is not None and to is None:
            raise InvalidArgument("cannot use a 'from' commit without a 'to' commit")
        if reverse and to is not None:
            raise InvalidArgument("cannot list commits in reverse while using 'from' or 'to'")
        with self._reading(tx) as rtx:
            repo_id = self._repo_row(rtx, repo).id
            to_id = self._resolve(rtx, to).id if to is not None else None
            from_id = self._resolve(rtx, from_).id if from_ is not None else None
        origin = None if all or origin_kind == OriginKind.UNKNOWN else int(origin_kind)
        return self._list_commits(repo_id, to_id, from_id, number, reverse, origin, started_time, tx)

    def _list_commits(
        self,
        repo_id: int,
        to_id: int | None,
        from_id: int | None,
        number: int,
        reverse: bool,
        origin: int | None,
        started_time: datetime | None,
        tx: PfsTx | None = None,
    ) -> Iterator[CommitInfo]:
        remaining = number or -1
        with self._reading(tx) as tx:
            names = _Names(tx)
            if to_id is None:
                bound = None if started_time is None else int(started_time.timestamp() * 1_000_000)
                rows = tx.iter_commits(
                    repo_id,
                    newest_first=not reverse,
                    origin=origin,
                    started_before_us=bound if not reverse else None,
                    started_after_us=bound if reverse else None,
                )
                for row in rows:
                    if remaining == 0:
                        return
                    remaining -= 1
                    yield self._commit_info(tx, row, names)
                return
            cursor = tx.get_commit(to_id)
            while cursor is not None and cursor.id != from_id and remaining != 0:
                if origin is None or cursor.origin == origin:
                    remaining -= 1
                    yield self._commit_info(tx, cursor, names)
                cursor = tx.get_commit(cursor.parent_id) if cursor.parent_id is not None else None

    def subscribe_commits(
        self,
        repo: RepoKey,
        branch: str = "",
        from_: CommitRef | None = None,
        state: CommitState = CommitState.STARTED,
        all: bool = False,
        origin_kind: OriginKind = OriginKind.UNKNOWN,
        *,
        cancel: CancelToken | None = None,
    ) -> Iterator[CommitInfo]:
        """Every commit of ``repo`` (on ``branch`` if given) in creation order, each once it has
        reached ``state``: first the existing ones after ``from_`` (all, without it), then new
        ones as they come. Runs until cancelled, or the repo is deleted (NOT_FOUND)."""
        if branch:
            check_branch_name(branch)
        with self.store.read() as tx:
            repo_id = self._repo_row(tx, repo).id
            cursor = self._resolve(tx, from_).id if from_ is not None else 0
        origin = None if all or origin_kind == OriginKind.UNKNOWN else int(origin_kind)
        return self._subscribe(repo, repo_id, branch or None, cursor, state, origin, cancel)

    def _subscribe(
        self,
        repo: RepoKey,
        repo_id: int,
        branch: str | None,
        cursor: int,
        state: CommitState,
        origin: int | None,
        cancel: CancelToken | None,
    ) -> Iterator[CommitInfo]:
        with self.events.subscribe(repo_topic(repo), cancel=cancel) as sub:
            while True:
                info: CommitInfo | None = None
                with self.store.read() as tx:
                    current = tx.get_repo(repo)
                    if current is None or current.id != repo_id:
                        raise NotFound(f'repo "{repo}" was deleted', reason="REPO_NOT_FOUND")
                    row = next(
                        tx.iter_commits(repo_id, newest_first=False, origin=origin, branch=branch, after_id=cursor),
                        None,
                    )
                    if row is not None:
                        reached, watch = self._reached(tx, row, state)
                        if reached:
                            info = self._commit_info(tx, row)
                            cursor = row.id
                        else:
                            topics = [repo_topic(r) for r in watch]
                            if any(t not in sub.topics for t in topics):
                                self.events.add_topics(sub, topics)
                                continue
                if info is not None:
                    yield info
                    continue
                sub.check()
                sub.wait()
                sub.check()
