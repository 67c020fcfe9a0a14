"""The outcome a restarted datum already counted (the datums table's ``counted`` column) carries
across a server restart: the resumed job runs the datum again and counts it right."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunningServer, stop_server
from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in, put, wait_for, wait_job
from tuskd.domain.jobs import JobKey
from tuskd.domain.states import DatumState, JobState

pytestmark = pytest.mark.timeout(120)

# "bad" fails until $MARK/bad exists; "block" holds the job RUNNING until $MARK/release exists.
SCRIPT = r"""
name=$(basename "$images")
case "$name" in
  bad) [ -e "$MARK/bad" ] || exit 3 ;;
  block) while [ ! -e "$MARK/release" ]; do sleep 0.05; done ;;
esac
cp "$images" /pfs/out/
"""


def _datum_states(server: RunningServer, key: JobKey) -> dict[str, tuple[DatumState, DatumState | None]]:
    with server.deps.store.read() as tx:
        t = server.deps.jobs.tables(tx)
        row = t.get_job(key)
        assert row is not None
        return {d.record.id: (d.record.state, d.record.counted) for d in t.list_datums(row.row)}


def test_a_restarted_datum_is_counted_once_after_a_server_restart(make_server: object, tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    mark.mkdir()
    first: RunningServer = make_server()  # type: ignore[operator]
    create_repo(first, "images")
    spec = make_spec("edges", SCRIPT, pfs_in("images"), env={"MARK": str(mark)}, datum_tries=1, parallelism=2)
    create_pipeline(first, spec)
    set_id = put(first, "images", {"/bad": b"b", "/block": b"k"})
    key = JobKey("default", "edges", set_id)
    wait_for(lambda: DatumState.FAILED in {s for s, _ in _datum_states(first, key).values()}, what="bad to fail")
    [bad] = [i for i, (s, _) in _datum_states(first, key).items() if s == DatumState.FAILED]
    assert first.deps.engine.restart_datums(key, [bad]) == [bad]  # type: ignore[attr-defined]
    assert _datum_states(first, key)[bad] == (DatumState.STARTING, DatumState.FAILED)
    stop_server(first)  # the job is left RUNNING, its restarted datum waiting in STARTING

    (mark / "bad").touch()
    (mark / "release").touch()
    again: RunningServer = make_server()  # type: ignore[operator]
    done = wait_job(again, "edges", set_id)
    assert done.state == JobState.JOB_SUCCESS, done.reason
    # The failure counted before the restart stays counted once; the rerun's success is added.
    assert (done.counts.processed, done.counts.failed, done.total) == (2, 1, 2)
    assert _datum_states(again, key)[bad] == (DatumState.SUCCESS, None)
