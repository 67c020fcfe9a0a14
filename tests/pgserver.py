"""Starts and stops a real PostgreSQL 15 server on loopback: shared by the tests and the benchmarks.

The server runs as the ``postgres`` user (``initdb`` refuses root) in a 0700 directory under
/tmp owned by that user (pytest's tmp dirs are 0700 root, out of its reach), and listens on a
free loopback port and on a unix socket inside that directory. A template database
(:data:`TEMPLATE`) is migrated once; callers copy it with ``CREATE DATABASE ... TEMPLATE``.

Two settings profiles: ``durable=False`` (the tests) turns durability off (``fsync``,
``synchronous_commit``, ``full_page_writes``): a crashed test server loses nothing we keep.
``durable=True`` (the benchmarks) keeps PostgreSQL's defaults, as a user runs it: every commit
is flushed to the WAL before it returns, as SQLite's ``synchronous=FULL`` does. Both allow 300
connections (the default 100 is too few for several servers' pools on one PostgreSQL).
No pytest here: tests/pg.py wraps this in fixtures.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
TEMPLATE = "tusk_template"
MAX_CONNECTIONS = 300
FAST_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in PG_BIN_DIRS:
        candidate = Path(d) / name
        if candidate.exists():
            return str(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why a PostgreSQL cannot be started here, or None when it can."""
    if os.geteuid() != 0:
        return "PostgreSQL is started with initdb as the postgres user, which needs root"
    for name in ("initdb", "pg_ctl", "postgres"):
        if _binary(name) is None:
            return f"PostgreSQL 15 binary {name!r} is not installed (apt-get install postgresql-15)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no 'postgres' user to run initdb as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'tusk[postgres]')"
    return None


@dataclass
class PgServer:
    root: Path
    port: int
    start_seconds: float = 0.0
    settings: str = ""  # the server's -c options beyond port and sockets, as passed to pg_ctl
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str) -> str:
        """The same database through the server's unix socket (in ``root``, reachable by root)."""
        return f"postgresql://postgres@/{database}?host={self.root}&port={self.port}"

    def _admin(self) -> object:
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_database(self, template: str = TEMPLATE) -> str:
        """A new database copied from ``template`` (the migrated one by default); its name.
        ``template`` must have no open connection."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def create_empty_database(self, name: str, locale: str = "C") -> str:
        with self._admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE '{locale}'")
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_postgres(*args: str, log: Path | None = None) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        check=True,
        stdout=subprocess.DEVNULL if log is None else None,
        stderr=subprocess.PIPE,
        timeout=120,
    )


def start_postgres(durable: bool = False) -> PgServer:
    """initdb + pg_ctl start in a fresh directory; raises if the server does not come up.
    ``durable``: PostgreSQL's default durability settings rather than the tests' fast ones."""
    from tests.conftest import free_port  # conftest imports tests/pg.py, which imports this module

    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="tusk-pg-", dir="/tmp"))
    os.chmod(root, 0o700)
    user = pwd.getpwnam("postgres")
    os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    _as_postgres(
        _binary("initdb") or "initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
        "--locale=C", "--encoding=UTF8", "--no-sync",
    )  # fmt: skip
    settings = ("" if durable else FAST_SETTINGS + " ") + f"-c max_connections={MAX_CONNECTIONS}"
    last_error = ""
    for _ in range(3):  # a port picked free can be taken before the server binds it
        port = free_port()
        options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} {settings}"
        try:
            _as_postgres(
                _binary("pg_ctl") or "pg_ctl", "-D", str(data), "-l", str(root / "server.log"),
                "-o", options, "-w", "-t", "60", "start",
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            last_error = (root / "server.log").read_text(errors="replace") + exc.stderr.decode(errors="replace")
            continue
        server = PgServer(root, port, settings=settings)
        _migrate_template(server)
        server.start_seconds = time.monotonic() - started
        return server
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")


def _migrate_template(server: PgServer) -> None:
    from tuskd.store.postgres import PostgresStore

    server.create_empty_database(TEMPLATE)
    PostgresStore(server.url(TEMPLATE)).close()  # every connection closed: CREATE ... TEMPLATE needs that


def stop_postgres(server: PgServer) -> None:
    try:
        _as_postgres(_binary("pg_ctl") or "pg_ctl", "-D", str(server.root / "data"), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(server.root, ignore_errors=True)
