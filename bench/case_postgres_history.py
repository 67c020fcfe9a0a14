"""ListJob at scale with the metadata on PostgreSQL: first-page latency (50 jobs, newest first) at
a long job history against the same at a short one, on PostgreSQL (the issue's goal: flat, as
on SQLite), and against SQLite at the same long history, side by side in the same run.

The histories are made by case_history_scale's own machinery (its bulk insert through the
store's PPS interface, its copy at the short history, its alternating page measure): once on
SQLite, once on a PostgreSQL database, where the copy at the short history is a
``CREATE DATABASE ... TEMPLATE`` of the long one's database at that point (with a copy of the
data directory beside it). The four servers run as their own processes, up at once, and are
queried alternately. PostgreSQL is bench/postgres.py's (default durability).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import tusk
from bench.case_history_scale import PAGE, Place, alternate_pages, copy_sqlite, grow, set_up
from bench.common import median
from bench.harness import Row, Size, case
from bench.postgres import SETTINGS, fresh_store, postgres
from tests.pgserver import PgServer


def pg_copier(pg: PgServer) -> Callable[[Place, Path], Place]:
    """Copies a place on ``pg`` (its server stopped): the data directory, and its database as a template."""

    def copy(place: Place, to: Path) -> Place:
        assert place.store is not None
        shutil.copytree(place.data_dir, to)
        return Place(to, pg.url(pg.create_database(template=place.store.rsplit("/", 1)[1])))

    return copy


@case("postgres_history_scale")
def postgres_history_scale(size: Size) -> list[Row]:
    small, large = size.pick(1_000, 60), size.pick(100_000, 600)
    calls, rounds = size.pick(200, 10), size.pick(10, 2)
    with postgres() as pg, tempfile.TemporaryDirectory(prefix="tusk-bench-pg-history-") as tmp:
        lite, on_pg = Place(Path(tmp) / "lite"), Place(Path(tmp) / "pg", fresh_store(pg))
        inserts = {}
        smalls = {}
        for name, place, copy in (("sqlite", lite, copy_sqlite), ("postgresql", on_pg, pg_copier(pg))):
            set_up(place, [("hist_in", "hist")])
            smalls[name], inserts[name] = grow(place, small, large, copy, Path(tmp) / f"{name}-small")
        with (
            smalls["sqlite"].server() as lite_small,
            lite.server() as lite_large,
            smalls["postgresql"].server() as pg_small,
            on_pg.server() as pg_large,
        ):
            clients = [tusk.Client(sp.address) for sp in (lite_small, lite_large, pg_small, pg_large)]
            try:
                pages = [median(p) * 1000 for p in alternate_pages(clients, calls, rounds)]
            finally:
                for client in clients:
                    client.close()
    lite_small_ms, lite_large_ms, pg_small_ms, pg_large_ms = pages
    how = f"median of {calls // rounds * rounds} each, {rounds} alternating rounds over 4 servers"
    flat = pg_large_ms / pg_small_ms
    return [
        Row(f"PostgreSQL store: ListJob first page ({PAGE}) at {large:,} jobs vs {small:,}", pg_large_ms,
            pg_small_ms, "ms", flat, "<= 1.5", flat <= 1.5,
            f"{how}; {large:,} jobs bulk-inserted in {inserts['postgresql']:.0f} s; {SETTINGS}",
            against=f"tusk itself on PostgreSQL: a server on the same data at {small:,} jobs"),
        Row(f"PostgreSQL store: ListJob first page ({PAGE}) at {large:,} jobs, vs SQLite", pg_large_ms, lite_large_ms,
            "ms", pg_large_ms / lite_large_ms, "- (reported)", None,
            f"{how}; SQLite's own at {small:,}: {lite_small_ms:.1f} ms, inserted in {inserts['sqlite']:.0f} s",
            against=f"tusk itself on SQLite at {large:,} jobs, same run"),
    ]  # fmt: skip
