"""The store contract, PFS part: transactions, repos, branches, commits and layered trees.

Every test runs on SQLite and on PostgreSQL (tests/contract/conftest.py) and asserts what the
services rely on: atomicity and nesting, snapshot reads, serialised writers, constraint errors,
and identical orderings of ids and paths (byte order: C collation on PostgreSQL).
"""

from __future__ import annotations

import threading

import pytest

from tuskd.domain.pfs import FileEntry, RepoKey
from tuskd.store.base import LayerEntry, PfsTx, Store

from .conftest import Backend

REPO = RepoKey("default", "images", "user")
OTHER = RepoKey("default", "other", "user")


def new_commit(tx: PfsTx, repo_id: int, set_id: str, **kw: object) -> int:
    fields: dict[str, object] = {
        "branch": "master", "parent_id": None, "origin": 1, "description": "", "started_us": 1, "diff_layer_id": None,
    }  # fmt: skip
    fields.update(kw)
    return tx.insert_commit(repo_id=repo_id, set_id=set_id, **fields).id  # type: ignore[arg-type]


# -- transactions -------------------------------------------------------------------------------


def test_write_commits_and_runs_after_commit_callbacks(store: Store) -> None:
    seen: list[str] = []
    with store.write() as tx:
        assert tx.writable
        tx.insert_repo(REPO, "d", 1)
        tx.after_commit(lambda: seen.append("done"))
        assert seen == []
    assert seen == ["done"]
    with store.read() as tx:
        assert not tx.writable
        row = tx.get_repo(REPO)
        assert row is not None and row.description == "d"


def test_exception_rolls_back_and_skips_callbacks(store: Store) -> None:
    seen: list[str] = []
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.insert_repo(REPO, "", 1)
        tx.after_commit(lambda: seen.append("no"))
        raise RuntimeError("boom")
    assert seen == []
    with store.read() as tx:
        assert tx.get_repo(REPO) is None


def test_nested_write_joins_and_rolls_back_only_itself(store: Store) -> None:
    seen: list[str] = []
    with store.write() as outer:
        outer.insert_repo(REPO, "", 1)
        with pytest.raises(ValueError), store.write(join=outer) as inner:
            assert inner is outer
            inner.insert_repo(OTHER, "", 2)
            inner.after_commit(lambda: seen.append("inner"))
            raise ValueError("veto")
        with store.write(join=outer) as inner2:
            inner2.after_commit(lambda: seen.append("kept"))
        assert outer.get_repo(REPO) is not None  # reads in the write see its changes
        assert outer.get_repo(OTHER) is None
    assert seen == ["kept"]
    with store.read() as tx:
        assert tx.get_repo(REPO) is not None
        assert tx.get_repo(OTHER) is None


def test_a_failed_statement_in_a_nested_write_leaves_the_outer_one_usable(backend: Backend) -> None:
    with backend.store.write() as outer:
        outer.insert_repo(REPO, "", 1)
        with pytest.raises(backend.integrity_error), backend.store.write(join=outer) as inner:
            inner.insert_repo(REPO, "duplicate", 2)
        outer.insert_repo(OTHER, "", 3)
    with backend.store.read() as tx:
        assert [r.key.name for r in tx.list_repos()] == ["other", "images"]


def test_tx_cannot_be_used_after_its_block(backend: Backend) -> None:
    with backend.store.read() as tx:
        pass
    with pytest.raises(backend.tx_closed):
        tx.get_repo(REPO)
    with backend.store.write() as wtx:
        pass
    with pytest.raises(backend.tx_closed):
        wtx.insert_repo(REPO, "", 1)


def test_readers_see_a_snapshot_and_are_not_blocked_by_a_writer(store: Store) -> None:
    with store.write() as tx:
        tx.insert_repo(REPO, "before", 1)
    in_write = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with store.write() as tx:
            row = tx.get_repo(REPO)
            assert row is not None
            tx.update_repo_description(row.id, "after")
            in_write.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert in_write.wait(10)
    results: list[str] = []

    def reader() -> None:
        with store.read() as tx:
            row = tx.get_repo(REPO)
            assert row is not None
            results.append(row.description)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(5)
    assert results == ["before"] * 4  # finished while the write was open, and saw the old state
    release.set()
    t.join(10)
    with store.read() as tx:
        row = tx.get_repo(REPO)
        assert row is not None and row.description == "after"


def test_a_read_snapshot_stays_stable_during_a_concurrent_commit(store: Store) -> None:
    with store.write() as tx:
        tx.insert_repo(REPO, "v1", 1)
    with store.read() as snapshot:
        assert len(snapshot.list_repos()) == 1

        def write() -> None:
            with store.write() as tx:
                tx.insert_repo(OTHER, "", 2)

        t = threading.Thread(target=write)
        t.start()
        t.join(10)
        assert len(snapshot.list_repos()) == 1
    with store.read(snapshot=False) as tx:
        assert len(tx.list_repos()) == 2


def test_writers_are_serialised_read_modify_write_loses_nothing(store: Store) -> None:
    # Each write reads the counter and writes it back plus one: only serialised writers
    # (SQLite's single writer, the advisory lock on PostgreSQL) make the total exact.
    with store.write() as tx:
        repo_id = tx.insert_repo(REPO, "0", 1).id

    def work() -> None:
        for _ in range(10):
            with store.write() as tx:
                n = int(tx.get_repo_by_id(repo_id).description)
                tx.update_repo_description(repo_id, str(n + 1))

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with store.read() as tx:
        assert tx.get_repo_by_id(repo_id).description == "50"


def test_uniqueness_and_foreign_keys_are_enforced_and_roll_back(backend: Backend) -> None:
    with backend.store.write() as tx:
        repo = tx.insert_repo(REPO, "", 1)
        tx.insert_branch(repo.id, "master", None, 1)
    for attempt in (
        lambda tx: tx.insert_repo(REPO, "again", 2),
        lambda tx: tx.insert_branch(repo.id, "master", None, 2),
        lambda tx: tx.insert_branch(12345, "dev", None, 2),
        lambda tx: new_commit(tx, repo.id, "a" * 32) + new_commit(tx, repo.id, "a" * 32),
    ):
        with pytest.raises(backend.integrity_error), backend.store.write() as tx:
            tx.insert_repo(OTHER, "", 3)
            attempt(tx)
    with backend.store.read() as tx:
        assert [r.key for r in tx.list_repos()] == [REPO]  # every failed write left nothing behind
        assert tx.find_commit(repo.id, "a" * 32) is None


# -- repos and branches -------------------------------------------------------------------------


def test_repos_insert_get_list_update_delete(store: Store) -> None:
    with store.write() as tx:
        a = tx.insert_repo(RepoKey("default", "a", "user"), "first", 10)
        b = tx.insert_repo(RepoKey("lab", "b", "user"), "", 10)
        spec = tx.insert_repo(RepoKey("default", "a", "spec"), "", 5)
        assert b.id > a.id  # ids grow with creation
        tx.update_repo_description(a.id, "changed")
    with store.read() as tx:
        assert tx.get_repo(RepoKey("default", "a", "user")) == a.__class__(a.id, a.key, "changed", 10)
        assert tx.get_repo(RepoKey("default", "nope", "user")) is None
        assert tx.get_repo_by_id(spec.id).key == RepoKey("default", "a", "spec")
        with pytest.raises(KeyError):
            tx.get_repo_by_id(99999)
        # Newest first; equal times fall back to the id, newest first.
        assert [r.id for r in tx.list_repos()] == [b.id, a.id, spec.id]
        assert [r.id for r in tx.list_repos(type="user")] == [b.id, a.id]
        assert [r.id for r in tx.list_repos(projects=["lab"])] == [b.id]
        assert [r.id for r in tx.list_repos(type="user", projects=["default", "x"])] == [a.id]
    with store.write() as tx:
        layer = tx.create_layer(a.id)
        commit = new_commit(tx, a.id, "1" * 32, diff_layer_id=layer)
        branch = tx.insert_branch(a.id, "master", commit, 1)
        tx.set_commit_stack(commit, [layer])
        tx.delete_repo(a.id)
        assert tx.get_repo(a.key) is None
        assert tx.get_commit(commit) is None
        with pytest.raises(KeyError):
            tx.get_branch_by_id(branch.id)
        assert tx.layer_size(layer) == 0


def test_branches(store: Store) -> None:
    with store.write() as tx:
        repo = tx.insert_repo(REPO, "", 1)
        other = tx.insert_repo(OTHER, "", 1)
        c1 = new_commit(tx, repo.id, "1" * 32)
        master = tx.insert_branch(repo.id, "master", c1, 5)
        dev = tx.insert_branch(repo.id, "dev", c1, 5)
        upstream = tx.insert_branch(other.id, "master", None, 7)
        assert master.created_us == master.updated_us == 5
        tx.set_branch_head(dev.id, None, 9)
        tx.set_branch_provenance(master.id, [upstream.id, upstream.id])
        tx.set_branch_provenance(dev.id, [upstream.id])
        tx.set_branch_provenance(dev.id, [])
    with store.read() as tx:
        assert tx.get_branch(repo.id, "master") == master
        assert tx.get_branch(repo.id, "nope") is None
        assert tx.get_branch_by_id(dev.id).head_id is None
        assert tx.get_branch_by_id(dev.id).updated_us == 9
        assert [b.id for b in tx.list_branches(repo.id)] == [dev.id, master.id]
        assert [b.id for b in tx.list_branches()] == [upstream.id, dev.id, master.id]
        assert [b.id for b in tx.branches_with_head(c1)] == [master.id]
        assert tx.branch_provenance_edges() == [(master.id, upstream.id)]
    with store.write() as tx:
        tx.delete_branch(upstream.id)  # its provenance edges go with it
        assert tx.branch_provenance_edges() == []
        assert tx.get_branch(other.id, "master") is None


# -- commits ------------------------------------------------------------------------------------


def test_commits_rows_links_and_listing(store: Store) -> None:
    with store.write() as tx:
        repo = tx.insert_repo(REPO, "", 1)
        up = tx.insert_repo(OTHER, "", 1)
        c1 = new_commit(tx, repo.id, "1" * 32, started_us=10)
        c2 = new_commit(tx, repo.id, "2" * 32, parent_id=c1, started_us=20, origin=2, branch=None)
        c3 = new_commit(tx, repo.id, "3" * 32, parent_id=c1, started_us=30)
        u2 = new_commit(tx, up.id, "2" * 32, started_us=20, finishing_us=21, finished_us=22, size_bytes=7)
        tx.add_commit_provenance(c2, u2)
        tx.add_commit_provenance(c2, u2)  # a second time is a no-op
        tx.add_commit_provenance(c3, u2)
        tx.set_commit_finishing(c1, 11, "", None)
        tx.set_commit_finishing(c2, 21, "broke", "described")
        tx.set_commit_finished(c1, 12, 100)
    with store.read() as tx:
        row1 = tx.get_commit(c1)
        assert row1 is not None
        assert (row1.finishing_us, row1.finished_us, row1.size_bytes, row1.error) == (11, 12, 100, "")
        row2 = tx.get_commit(c2)
        assert row2 is not None
        assert (row2.error, row2.description, row2.branch, row2.origin) == ("broke", "described", None, 2)
        assert tx.get_commit(99999) is None
        assert tx.find_commit(up.id, "2" * 32) == tx.get_commit(u2)
        assert tx.find_commit(up.id, "1" * 32) is None
        assert [c.id for c in tx.commits_in_set("2" * 32)] == [c2, u2]
        assert [c.id for c in tx.commit_children(c1)] == [c2, c3]
        assert tx.commit_provenance(c2) == [u2]
        assert tx.commit_subvenance(u2) == [c2, c3]
        assert [c.id for c in tx.iter_commits(repo.id)] == [c3, c2, c1]
        assert [c.id for c in tx.iter_commits(repo.id, newest_first=False)] == [c1, c2, c3]
        assert [c.id for c in tx.iter_commits(repo.id, origin=1)] == [c3, c1]
        assert [c.id for c in tx.iter_commits(repo.id, branch="master", after_id=c1)] == [c3]
        assert [c.id for c in tx.iter_commits(repo.id, started_before_us=30, started_after_us=10)] == [c2]
        # Newest first by the set's newest commit: set 2's commit in the other repo came last.
        assert tx.commit_set_ids() == ["2" * 32, "3" * 32, "1" * 32]
        assert tx.commit_set_ids("default") == ["2" * 32, "3" * 32, "1" * 32]
        assert tx.commit_set_ids("lab") == []
    with store.write() as tx:
        tx.set_commit_parent(c3, None)
        tx.delete_commit(c3)
        assert tx.commit_subvenance(u2) == [c2]
        tx.set_commit_parent(c2, None)
        assert tx.commit_children(c1) == []
        c4 = new_commit(tx, repo.id, "4" * 32)
        assert c4 > c3  # ids are never reused, even after the newest commit went
        assert tx.commit_set_ids() == ["4" * 32, "2" * 32, "1" * 32]


# -- layers and trees ---------------------------------------------------------------------------

# Paths whose order differs between byte order and a linguistic collation.
PATHS = ["/a", "/a-b", "/a.b", "/a/b", "/B", "/b", "/Z", "/_x", "/é", "/ä", "/\u4e2d", "/a b", "/a~"]


def test_layer_entries_scan_in_byte_order(store: Store) -> None:
    with store.write() as tx:
        repo = tx.insert_repo(REPO, "", 1)
        layer = tx.create_layer(repo.id)
        tx.put_layer_entries(layer, [LayerEntry(p, f"h{i}", i) for i, p in enumerate(PATHS)])
        tx.put_layer_entries(layer, [LayerEntry("/a", "new", 99)])  # replaces
        tx.delete_layer_entries(layer, ["/a~", "/missing"])
        assert tx.layer_size(layer) == 0  # counted only when refreshed
        assert tx.refresh_layer_size(layer) == len(PATHS) - 1
    expected = sorted((p for p in PATHS if p != "/a~"), key=lambda p: p.encode())
    with store.read() as tx:
        assert tx.layer_size(layer) == len(PATHS) - 1
        assert [e.path for e in tx.scan_layer(layer)] == expected
        assert [e.path for e in tx.scan_layer(layer, "/a", "/a0")] == [p for p in expected if "/a" <= p < "/a0"]
        assert [e.path for e in tx.scan_layer(layer, "/b")] == [p for p in expected if p >= "/b"]
        assert tx.get_layer_entry(layer, "/a") == LayerEntry("/a", "new", 99)
        assert tx.get_layer_entry(layer, "/a~") is None
        assert [e.path for e in tx.tree_scan([layer])] == expected


def make_layers(store: Store) -> tuple[int, int, int]:
    with store.write() as tx:
        repo = tx.insert_repo(REPO, "", 1)
        base = tx.create_layer(repo.id)
        tx.put_layer_entries(base, [LayerEntry("/a", "aa", 1), LayerEntry("/b/x", "bx", 2), LayerEntry("/c", "cc", 3)])
        tx.refresh_layer_size(base)
        top = tx.create_layer(repo.id)
        tx.put_layer_entries(top, [LayerEntry("/a", None, 0), LayerEntry("/b/y", "by", 4), LayerEntry("/c", "c2", 5)])
        tx.refresh_layer_size(top)
        return repo.id, base, top


def test_tree_reads_take_the_topmost_entry(store: Store) -> None:
    _, base, top = make_layers(store)
    with store.read() as tx:
        stack = [base, top]
        assert tx.tree_get(stack, "/a") is None  # tombstoned
        assert tx.tree_get(stack, "/c") == FileEntry("/c", "c2", 5)
        assert tx.tree_get(stack, "/b/x") == FileEntry("/b/x", "bx", 2)
        assert tx.tree_get([base], "/a") == FileEntry("/a", "aa", 1)
        assert tx.tree_get([], "/a") is None
        assert [e.path for e in tx.tree_scan(stack)] == ["/b/x", "/b/y", "/c"]
        assert [e.path for e in tx.tree_scan(stack, "/b/", "/b0")] == ["/b/x", "/b/y"]
        assert [e.path for e in tx.tree_scan([base])] == ["/a", "/b/x", "/c"]
        assert list(tx.tree_scan([])) == []
        assert tx.tree_size_delta([base], top) == (4 + 5) - (1 + 3)
        assert tx.tree_size_delta([], top) == 4 + 5


def test_merge_and_copy_layers(store: Store) -> None:
    repo_id, base, top = make_layers(store)
    with store.write() as tx:
        kept = tx.merge_layers(repo_id, [base, top], drop_tombstones=False)
        dropped = tx.merge_layers(repo_id, [base, top], drop_tombstones=True)
        assert tx.layer_size(kept) == 4
        assert tx.layer_size(dropped) == 3
        assert list(tx.scan_layer(dropped)) == [
            LayerEntry("/b/x", "bx", 2), LayerEntry("/b/y", "by", 4), LayerEntry("/c", "c2", 5),
        ]  # fmt: skip
        assert tx.get_layer_entry(kept, "/a") == LayerEntry("/a", None, 0)
        dst = tx.create_layer(repo_id)
        tx.put_layer_entries(dst, [LayerEntry("/c", "mine", 1)])
        assert tx.copy_missing_entries(base, dst) == 2  # /a and /b/x; /c is dst's own
        assert tx.layer_size(dst) == 3
        assert tx.get_layer_entry(dst, "/c") == LayerEntry("/c", "mine", 1)
        assert tx.copy_missing_entries(base, dst) == 0


def test_commit_stacks_and_layer_gc(store: Store) -> None:
    repo_id, base, top = make_layers(store)
    with store.write() as tx:
        commit = new_commit(tx, repo_id, "0" * 32, diff_layer_id=top)
        tx.set_commit_stack(commit, [base, top])
        assert tx.commit_stack(commit) == [base, top]
        tx.set_commit_stack(commit, [base])
        assert tx.commit_stack(commit) == [base]
        orphan = tx.create_layer(repo_id)
        tx.put_layer_entries(orphan, [LayerEntry("/o", "o", 1)])
        tx.refresh_layer_size(orphan)
        assert tx.gc_layers(repo_id) == 1
        assert tx.layer_size(orphan) == 0
        assert tx.get_layer_entry(orphan, "/o") is None
        assert list(tx.scan_layer(base))  # still there: in the stack
        assert list(tx.scan_layer(top))  # still there: the commit's diff
        tx.set_commit_stack(commit, [])
        assert tx.commit_stack(commit) == []
