"""tusk on a real PostgreSQL: a server runs a pipeline end to end, the store refuses a database
it cannot keep its orderings in, a password on the command line, and a schema from the future;
a lost database connection is UNAVAILABLE, never INTERNAL; the default install never imports
the driver."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import psycopg
import pytest

from tests.conftest import RunningServer, start_server, stop_server
from tests.integration.test_engine_grpc import create_repo, head_id, put_files
from tests.pg import PgServer
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2
from tuskd.config import ServerConfig, store_location
from tuskd.domain.errors import FailedPrecondition, InvalidArgument, Unavailable
from tuskd.domain.pfs import RepoKey
from tuskd.store.migrations import MIGRATIONS, SchemaTooNew
from tuskd.store.postgres import PostgresStore
from tuskd.wiring import open_deps

pytestmark = pytest.mark.timeout(120)


def test_a_server_on_postgresql_runs_a_pipeline_to_success(make_server: object, pg_url: str) -> None:
    server: RunningServer = make_server(store=pg_url)  # type: ignore[operator]
    assert not (server.config.data_dir / "metadata.db").exists()  # the metadata is in PostgreSQL
    with server.client() as client:
        create_repo(client, "images")
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "edges"},
                "transform": {"cmd": ["sh", "-c", 'cp "$images" /pfs/out/']},
                "input": {"pfs": {"repo": "images", "glob": "/*"}},
            }
        )
        put_files(client, "images", {"/a.png": b"alpha", "/b.png": b"bravo"})
        commit = head_id(client, "images")
        [done] = client.pps.wait_job_done(f"edges@{commit}")
        assert (done.state, done.data_processed, done.data_total) == (pps_pb2.JOB_SUCCESS, 2, 2)
        assert client.pfs.get_file_bytes(f"edges@{commit}", "/b.png") == b"bravo"
    with psycopg.connect(pg_url) as conn:  # the rows are really there
        row = conn.execute("SELECT state FROM jobs WHERE pipeline = 'edges' AND job_id = %s", (commit,)).fetchone()
        assert row == (pps_pb2.JOB_SUCCESS,)


def test_store_urls_are_parsed_and_a_password_is_refused(tmp_path: Path) -> None:
    assert store_location(None, tmp_path).path == tmp_path / "metadata.db"
    assert store_location("sqlite:///var/lib/tusk/meta.db", tmp_path).path == Path("/var/lib/tusk/meta.db")
    url = "postgresql://tusk@db.example:5433/tusk"
    assert store_location(url, tmp_path).conninfo == url
    for bad, words in (
        ("postgresql://tusk:secret@db.example/tusk", "PGPASSWORD"),
        ("postgresql://tusk@db.example/tusk?password=secret", "PGPASSWORD"),
        ("postgresql://tusk@db.example", "name the database"),
        ("sqlite://relative/meta.db", "sqlite:///absolute"),
        ("mysql://x/y", "expected sqlite:///path or postgresql://"),
    ):
        with pytest.raises(InvalidArgument, match=words):
            store_location(bad, tmp_path)


def test_serve_refuses_a_password_in_the_url_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tusk", "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
         "--store", "postgresql://tusk:hunter2@127.0.0.1:1/tusk"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "PGPASSWORD" in done.stderr and "Traceback" not in done.stderr


def test_a_database_without_c_collation_is_refused_with_the_command_to_make_one(pg_server: PgServer) -> None:
    for name, sql in (
        ("utf8_collation", "ENCODING 'UTF8' LOCALE 'C.utf8'"),
        ("ascii_encoding", "ENCODING 'SQL_ASCII' LOCALE 'C'"),
    ):
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 {sql}")  # type: ignore[arg-type]
        try:
            with pytest.raises(FailedPrecondition) as caught:
                PostgresStore(pg_server.url(name))
            assert f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" in caught.value.message
            with psycopg.connect(pg_server.url(name)) as conn:  # nothing was created in it
                assert conn.execute("SELECT to_regclass('repos')").fetchone() == (None,)
        finally:
            pg_server.drop_database(name)


def test_migrations_run_once_and_a_newer_schema_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()  # the template was migrated already: nothing to do
    with psycopg.connect(pg_url, autocommit=True) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == [m.version for m in MIGRATIONS] == [1, 2, 3, 4, 5]  # the SQLite schema's numbers
        conn.execute("INSERT INTO schema_version (version, name, applied_us) VALUES (99, 'future', 0)")
    with pytest.raises(SchemaTooNew, match="version 99"):
        PostgresStore(pg_url)


def test_an_unreachable_database_is_unavailable_at_start(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ServerConfig(address="127.0.0.1:0", data_dir=tmp_path / "d", store=f"postgresql://tusk@127.0.0.1:{port}/x")
    with pytest.raises(Unavailable, match=f"127.0.0.1:{port}/x is unreachable"):
        open_deps(config)


def test_a_lost_connection_is_unavailable_and_the_next_call_works(pg_url: str) -> None:
    store = PostgresStore(pg_url, max_connections=2)
    try:
        with store.write() as tx:
            tx.insert_repo(RepoKey.of("images"), "", 1)
        with pytest.raises(Unavailable, match="unreachable"), store.read() as tx:
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            tx.get_repo(RepoKey.of("images"))
        for _ in range(3):  # the pool replaces the dead connections
            with store.read() as tx:
                assert tx.get_repo(RepoKey.of("images")) is not None
    finally:
        store.close()


def test_a_lost_connection_reaches_the_client_as_unavailable(make_server: object, pg_url: str) -> None:
    server: RunningServer = make_server(store=pg_url)  # type: ignore[operator]
    base, name = pg_url.rsplit("/", 1)

    def allow_connections(allow: bool) -> None:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {str(allow).lower()}")  # type: ignore[arg-type]
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )

    with server.client() as client:
        create_repo(client, "images")
        allow_connections(False)  # every connection dropped, and no new one let in
        with pytest.raises(grpc.RpcError) as caught:
            create_repo(client, "second")
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "metadata database" in caught.value.details() and "unreachable" in caught.value.details()
        allow_connections(True)
        create_repo(client, "second")  # back: the next call works
        assert {r.repo.name for r in client.pfs.list_repo()} == {"images", "second"}


def test_the_default_install_never_imports_the_postgresql_driver(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from tuskd.app import build_server
        from tuskd.config import ServerConfig
        from tuskd.wiring import open_deps
        deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=Path({str(tmp_path / "d")!r})))
        build_server(deps.config, deps)
        deps.close()
        loaded = sorted(m for m in sys.modules if m.startswith(("psycopg", "tuskd.store.postgres")))
        assert not loaded, loaded
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_second_server_on_the_same_database_is_refused_naming_the_first(pg_url: str, tmp_path: Path) -> None:
    first = start_server(ServerConfig(address="127.0.0.1:0", data_dir=tmp_path / "first", store=pg_url))
    config = ServerConfig(address="127.0.0.1:0", data_dir=tmp_path / "second", store=pg_url)
    try:
        with pytest.raises(FailedPrecondition, match=r"in use by tusk server pid \d+ on .*: run one tusk server per"):
            open_deps(config)
    finally:
        stop_server(first)
    deps = open_deps(config)  # the first one's lock went with it
    deps.close()


def test_text_with_a_nul_character_is_invalid_argument_not_internal(make_server: object, pg_url: str) -> None:
    server: RunningServer = make_server(store=pg_url)  # type: ignore[operator]
    with server.client() as client:
        create_repo(client, "images")
        stub = pfs_pb2_grpc.APIStub(client.channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.CreateRepo(
                pfs_pb2.CreateRepoRequest(
                    repo=pfs_pb2.Repo(name="images", type="user"), description="a\x00b", update=True
                )
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "NUL character" in caught.value.details()
        info = stub.InspectRepo(pfs_pb2.InspectRepoRequest(repo=pfs_pb2.Repo(name="images", type="user")))
        assert info.description == ""  # nothing was written


def test_a_write_waiting_too_long_for_another_is_unavailable_busy(pg_url: str) -> None:
    from tuskd.store.postgres_tx import WRITE_LOCK

    store = PostgresStore(pg_url, lock_timeout=0.2)
    try:
        with psycopg.connect(pg_url) as other:  # another writer, stuck mid-transaction
            other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            with pytest.raises(Unavailable, match="is busy: another write held it") as caught, store.write() as tx:
                tx.insert_repo(RepoKey.of("images"), "", 1)
            assert caught.value.reason == "STORE_BUSY"
        with store.write() as tx:  # the other one ended: writes go through again
            tx.insert_repo(RepoKey.of("images"), "", 1)
    finally:
        store.close()
