"""The SQLite metadata store on real database files: migrations, transactions, layered trees."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tuskd.domain.pfs import FileEntry, RepoKey
from tuskd.store.base import LayerEntry, Store
from tuskd.store.migrations import MIGRATIONS, Migration, SchemaTooNew, apply_migrations, current_version
from tuskd.store.sqlite import SqliteStore, SqliteTx, TxClosed

REPO = RepoKey("default", "images", "user")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "meta.db")
    yield s
    s.close()


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# -- opening and migrations --------------------------------------------------------------------


def test_read_and_write_transactions(store: SqliteStore) -> None:
    as_protocol: Store = store  # the SQLite store satisfies the interface the services use
    with as_protocol.read() as tx:
        assert isinstance(tx, SqliteTx)
        assert not tx.writable
    with as_protocol.write() as tx:
        assert tx.writable


def test_opening_applies_migrations_once(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    SqliteStore(path).close()
    SqliteStore(path).close()
    conn = raw(path)
    rows = conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    assert [v for v, _ in rows] == [m.version for m in MIGRATIONS]
    assert current_version(conn) == MIGRATIONS[-1].version
    assert apply_migrations(conn) == []  # idempotent
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"repos", "branches", "commits", "layers", "layer_entries", "commit_layers"} <= tables


def test_appended_migration_runs_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    SqliteStore(path).close()
    extra = [
        *MIGRATIONS,
        Migration(MIGRATIONS[-1].version + 1, "extra table", ("CREATE TABLE test_extra (id INTEGER PRIMARY KEY)",)),
    ]
    calls: list[int] = []

    def later(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("CREATE TABLE test_extra_events (id INTEGER PRIMARY KEY)")

    extra.append(Migration(extra[-1].version + 1, "extra events", later))
    SqliteStore(path, migrations=extra).close()
    SqliteStore(path, migrations=extra).close()
    assert calls == [1]
    conn = raw(path)
    assert current_version(conn) == extra[-1].version
    assert conn.execute("SELECT COUNT(*) FROM test_extra_events").fetchone() == (0,)


def test_failed_migration_rolls_back_and_leaves_version(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    SqliteStore(path).close()
    bad = [
        *MIGRATIONS,
        Migration(MIGRATIONS[-1].version + 1, "broken", ("CREATE TABLE half (id INTEGER)", "NOT SQL AT ALL")),
    ]
    with pytest.raises(sqlite3.OperationalError):
        SqliteStore(path, migrations=bad)
    conn = raw(path)
    assert current_version(conn) == MIGRATIONS[-1].version
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    SqliteStore(path).close()
    raw(path).execute("INSERT INTO schema_version VALUES (999, 'future', 0)")
    with pytest.raises(SchemaTooNew):
        SqliteStore(path)


def test_migration_versions_must_increase(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SqliteStore(tmp_path / "x.db", migrations=[MIGRATIONS[0], MIGRATIONS[0]])


def test_connection_settings(store: SqliteStore) -> None:
    with store.read() as tx:
        conn = tx.connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


# -- transactions --------------------------------------------------------------------------------


def test_write_commits_and_runs_after_commit_callbacks(store: SqliteStore) -> None:
    seen: list[str] = []
    with store.write() as tx:
        tx.insert_repo(REPO, "d", 1)
        tx.after_commit(lambda: seen.append("done"))
        assert seen == []
    assert seen == ["done"]
    with store.read() as tx:
        row = tx.get_repo(REPO)
        assert row is not None and row.description == "d"


def test_exception_rolls_back_and_skips_callbacks(store: SqliteStore) -> None:
    seen: list[str] = []
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.insert_repo(REPO, "", 1)
        tx.after_commit(lambda: seen.append("no"))
        raise RuntimeError("boom")
    assert seen == []
    with store.read() as tx:
        assert tx.get_repo(REPO) is None


def test_nested_write_joins_and_rolls_back_only_itself(store: SqliteStore) -> None:
    seen: list[str] = []
    other = RepoKey("default", "other", "user")
    with store.write() as outer:
        outer.insert_repo(REPO, "", 1)
        with pytest.raises(ValueError), store.write(join=outer) as inner:
            assert inner is outer
            inner.insert_repo(other, "", 2)
            inner.after_commit(lambda: seen.append("inner"))
            raise ValueError("veto")
        with store.write(join=outer) as inner2:
            inner2.after_commit(lambda: seen.append("kept"))
        assert outer.get_repo(REPO) is not None  # reads in the write see its changes
        assert outer.get_repo(other) is None
    assert seen == ["kept"]
    with store.read() as tx:
        assert tx.get_repo(REPO) is not None
        assert tx.get_repo(other) is None


def test_tx_cannot_be_used_after_its_block(store: SqliteStore) -> None:
    with store.read() as tx:
        pass
    with pytest.raises(TxClosed):
        tx.get_repo(REPO)


def test_readers_see_a_snapshot_and_are_not_blocked_by_a_writer(store: SqliteStore) -> None:
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
    # Readers finished while the write transaction was still open, and saw the old state.
    assert results == ["before"] * 4
    release.set()
    t.join(10)
    with store.read() as tx:
        row = tx.get_repo(REPO)
        assert row is not None and row.description == "after"


def test_a_read_snapshot_stays_stable_during_a_concurrent_commit(store: SqliteStore) -> None:
    with store.write() as tx:
        tx.insert_repo(REPO, "v1", 1)
    with store.read() as snapshot:
        assert len(snapshot.list_repos()) == 1

        def write() -> None:
            with store.write() as tx:
                tx.insert_repo(RepoKey("default", "second", "user"), "", 2)

        t = threading.Thread(target=write)
        t.start()
        t.join(10)
        assert len(snapshot.list_repos()) == 1
    with store.read() as tx:
        assert len(tx.list_repos()) == 2


def test_writes_from_many_threads_serialise(store: SqliteStore) -> None:
    def work(i: int) -> None:
        for j in range(10):
            with store.write() as tx:
                tx.insert_repo(RepoKey("default", f"r{i}_{j}", "user"), "", i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with store.read() as tx:
        assert len(tx.list_repos()) == 60


def test_foreign_keys_are_enforced(store: SqliteStore) -> None:
    with pytest.raises(sqlite3.IntegrityError), store.write() as tx:
        tx.insert_branch(repo_id=12345, name="master", head_id=None, now_us=1)


def test_rows_written_counts_committed_changes(store: SqliteStore) -> None:
    before = store.rows_written
    with store.write() as tx:
        tx.insert_repo(REPO, "", 1)
    assert store.rows_written == before + 1


# -- layered trees -------------------------------------------------------------------------------


def make_layers(store: SqliteStore) -> tuple[int, int, int]:
    with store.write() as tx:
        repo = tx.insert_repo(REPO, "", 1)
        base = tx.create_layer(repo.id)
        tx.put_layer_entries(
            base,
            [LayerEntry("/a", "aa", 1), LayerEntry("/b/x", "bx", 2), LayerEntry("/c", "cc", 3)],
        )
        tx.refresh_layer_size(base)
        top = tx.create_layer(repo.id)
        tx.put_layer_entries(top, [LayerEntry("/a", None, 0), LayerEntry("/b/y", "by", 4), LayerEntry("/c", "c2", 5)])
        tx.refresh_layer_size(top)
        return repo.id, base, top


def test_tree_reads_take_the_topmost_entry(store: SqliteStore) -> None:
    _, base, top = make_layers(store)
    with store.read() as tx:
        stack = [base, top]
        assert tx.tree_get(stack, "/a") is None  # tombstoned
        assert tx.tree_get(stack, "/c") == FileEntry("/c", "c2", 5)
        assert tx.tree_get(stack, "/b/x") == FileEntry("/b/x", "bx", 2)
        assert [e.path for e in tx.tree_scan(stack)] == ["/b/x", "/b/y", "/c"]
        assert [e.path for e in tx.tree_scan(stack, "/b/", "/b0")] == ["/b/x", "/b/y"]
        assert [e.path for e in tx.tree_scan([base])] == ["/a", "/b/x", "/c"]
        assert tx.tree_size_delta([base], top) == (4 + 5) - (1 + 3)


def test_merge_layers_keeps_or_drops_tombstones(store: SqliteStore) -> None:
    repo_id, base, top = make_layers(store)
    with store.write() as tx:
        kept = tx.merge_layers(repo_id, [base, top], drop_tombstones=False)
        dropped = tx.merge_layers(repo_id, [base, top], drop_tombstones=True)
        assert tx.layer_size(kept) == 4
        assert tx.layer_size(dropped) == 3
        assert list(tx.scan_layer(dropped)) == [
            LayerEntry("/b/x", "bx", 2),
            LayerEntry("/b/y", "by", 4),
            LayerEntry("/c", "c2", 5),
        ]
        assert tx.get_layer_entry(kept, "/a") == LayerEntry("/a", None, 0)


def test_gc_removes_only_unreferenced_layers(store: SqliteStore) -> None:
    repo_id, base, top = make_layers(store)
    with store.write() as tx:
        commit = tx.insert_commit(
            repo_id=repo_id,
            set_id="0" * 32,
            branch="master",
            parent_id=None,
            origin=1,
            description="",
            started_us=1,
            diff_layer_id=top,
        )
        tx.set_commit_stack(commit.id, [base])
        orphan = tx.create_layer(repo_id)
        assert tx.gc_layers(repo_id) == 1
        assert tx.layer_size(orphan) == 0
        assert list(tx.scan_layer(base))  # still there
        assert tx.commit_stack(commit.id) == [base]


def test_single_statement_reads_without_a_snapshot(store: SqliteStore) -> None:
    with store.write() as tx:
        tx.insert_repo(RepoKey.of("images"), "d", 1)
    with store.read(snapshot=False) as tx:
        assert tx.get_repo(RepoKey.of("images")) is not None
        assert not tx.connection.in_transaction  # no BEGIN around the statement
    with store.read() as tx:
        assert tx.connection.in_transaction  # the default read is a consistent snapshot
        assert tx.get_repo(RepoKey.of("images")) is not None


def test_projects_migration_keeps_every_project_already_in_use(tmp_path: Path) -> None:
    # A data directory written before projects had a table (schema 2): its repos' and
    # pipelines' projects, and "default", exist after the upgrade.
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    apply_migrations(conn, MIGRATIONS[:2])
    conn.execute("INSERT INTO repos (project, name, type, description, created_us) VALUES ('lab', 'r', 'user', '', 5)")
    conn.execute(
        "INSERT INTO pipelines (project, name, version, state, stopped, reason, created_us, updated_us)"
        " VALUES ('ml', 'p', 1, 0, 0, '', 7, 7)"
    )
    assert apply_migrations(conn) == [m.version for m in MIGRATIONS[2:]]
    names = [row[0] for row in conn.execute("SELECT name FROM projects ORDER BY name")]
    assert names == ["default", "lab", "ml"]
    conn.close()
