"""RestartDatum end to end: a real server, the real client and CLI, real user processes.

A running datum restarted by ID is cancelled and runs again from attempt 1; a FAILED datum
restarted by input path runs again before the job ends; unknown IDs and finished jobs are
refused without restarting anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tusk
from tests.conftest import RunningServer
from tests.integration.test_engine import wait_for
from tests.integration.test_engine_grpc import create_repo, head_id, put_files
from tusk import errors
from tusk.cli import main
from tusk.proto.pps_v2 import pps_pb2

pytestmark = pytest.mark.timeout(90)

# Each datum appends a line to $RUNS/<file> per run and writes its datum ID to $RUNS/<file>.id.
# "slow" blocks until $MARK/slow exists; "bad" fails until $MARK/bad exists; "block" holds the
# job RUNNING until $MARK/release exists. Every datum that succeeds copies its input to /pfs/out.
SCRIPT = r"""
name=$(basename "$images")
echo run >> "$RUNS/$name"
echo "$PACH_DATUM_ID" > "$RUNS/$name.id"
case "$name" in
  slow) [ -e "$MARK/slow" ] || sleep 60 ;;
  bad) [ -e "$MARK/bad" ] || exit 3 ;;
  block) while [ ! -e "$MARK/release" ]; do sleep 0.05; done ;;
esac
cp "$images" /pfs/out/
"""


def _pipeline(client: tusk.Client, tmp_path: Path) -> tuple[Path, Path]:
    runs, mark = tmp_path / "runs", tmp_path / "mark"
    runs.mkdir()
    mark.mkdir()
    create_repo(client, "images")
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "p"},
            "transform": {"cmd": ["sh", "-c", SCRIPT], "env": {"RUNS": str(runs), "MARK": str(mark)}},
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
            "parallelism_spec": {"constant": 2},
            "datum_tries": 1,
            "datum_timeout": "80s",
        }
    )
    return runs, mark


def _runs(runs: Path, name: str) -> int:
    path = runs / name
    return len(path.read_text().split()) if path.exists() else 0


def test_restart_a_running_datum_by_id_with_the_cli(
    server: RunningServer, client: tusk.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs, mark = _pipeline(client, tmp_path)
    put_files(client, "images", {"/slow": b"slow data", "/a": b"alpha"})
    commit = head_id(client, "images")
    job = f"p@{commit}"
    wait_for(lambda: _runs(runs, "slow") == 1 and (runs / "slow.id").read_text().strip(), what="slow to start")
    datum_id = (runs / "slow.id").read_text().strip()
    # The first run blocks; with the marker a fresh run succeeds.
    (mark / "slow").touch()
    try:
        main(["--address", server.address, "restart", "datum", job, datum_id])
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr()
    info = client.pps.wait_job_done(job)[0]
    assert info.state == pps_pb2.JOB_SUCCESS, info.reason
    assert (info.data_processed, info.data_failed, info.data_total) == (2, 0, 2)
    assert _runs(runs, "slow") == 2
    datum = client.pps.inspect_datum(job, datum_id)
    assert (datum.state, datum.attempts) == (pps_pb2.SUCCESS, 1)
    assert client.pfs.get_file_bytes(job, "/slow") == b"slow data"
    assert client.pfs.get_file_bytes(job, "/a") == b"alpha"


def test_restart_a_failed_datum_by_input_path(client: tusk.Client, tmp_path: Path) -> None:
    runs, mark = _pipeline(client, tmp_path)
    put_files(client, "images", {"/bad": b"bad data", "/block": b"blocker"})
    commit = head_id(client, "images")
    job = f"p@{commit}"
    wait_for(lambda: list(client.pps.list_datum(job, states=[pps_pb2.FAILED])), what="bad to fail")
    [failed] = client.pps.list_datum(job, states=[pps_pb2.FAILED])
    assert client.pps.inspect_job(job).state == pps_pb2.JOB_RUNNING  # "block" holds it
    # An ID that is not a datum of the job fails the whole call: nothing is restarted.
    with pytest.raises(errors.NotFound, match="0000"):
        client.pps.restart_datum(job, datum_ids=[failed.datum.id, "0" * 64])
    assert client.pps.inspect_datum(job, failed.datum.id).state == pps_pb2.FAILED
    assert _runs(runs, "bad") == 1
    # By input path, while the job still runs.
    (mark / "bad").touch()
    client.pps.restart_datum(job, data_filters=["/bad"])
    assert client.pps.inspect_datum(job, failed.datum.id).state in (pps_pb2.STARTING, pps_pb2.SUCCESS)
    (mark / "release").touch()
    info = client.pps.wait_job_done(job)[0]
    assert info.state == pps_pb2.JOB_SUCCESS, info.reason
    # Counters never go backwards: the earlier failure stays counted, the success is added.
    assert (info.data_processed, info.data_failed, info.data_total) == (2, 1, 2)
    assert _runs(runs, "bad") == 2
    assert client.pps.inspect_datum(job, failed.datum.id).state == pps_pb2.SUCCESS
    assert client.pfs.get_file_bytes(job, "/bad") == b"bad data"
    assert client.pfs.get_file_bytes(job, "/block") == b"blocker"


def test_restart_refused_for_a_finished_job(client: tusk.Client, tmp_path: Path) -> None:
    runs, _ = _pipeline(client, tmp_path)
    put_files(client, "images", {"/bad": b"bad data"})
    commit = head_id(client, "images")
    job = f"p@{commit}"
    info = client.pps.wait_job_done(job)[0]
    assert info.state == pps_pb2.JOB_FAILURE
    [failed] = client.pps.list_datum(job, states=[pps_pb2.FAILED])
    with pytest.raises(errors.FailedPrecondition, match=r"finished.*tusk rerun pipeline p"):
        client.pps.restart_datum(job, datum_ids=[failed.datum.id])
    with pytest.raises(errors.FailedPrecondition):
        client.pps.restart_datum(job, data_filters=["/bad"])
    assert _runs(runs, "bad") == 1
