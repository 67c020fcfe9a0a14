"""The job verbs of the ``tusk`` CLI end to end against a real server: the seed's ``list job``
table to the letter, the job-set table, raw JSON/YAML, inspect, wait (progress and exit codes),
stop, delete, datums and logs, and one-line errors with documented exit codes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT, RunningServer, free_port
from tests.integration.test_job_api import FINISH, RUN, add_job, add_pipeline, drive, failed_run, name, succeed
from tusk.cli.jobs import ProgressView, parse_duration
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.jobs import Counts, JobKey, Stats
from tuskd.domain.states import JobState

__all__ = ["failed_run"]  # a fixture shared with test_job_api

SEED = Path("/work/shared/seeds/job.txt")
SEED_TABLE = """\
ID                               PIPELINE STARTED      DURATION           RESTART PROGRESS  DL       UL       STATE
fd9454d06d8e4fa38a75c8cd20b39538 edges    20 hours ago 5 seconds          0       2 + 1 / 3 181.1KiB 111.4KiB success
5a78358d4b53494cbba4550428f2fe98 edges    20 hours ago 2 seconds          0       1 + 0 / 1 57.27KiB 22.22KiB success
7dcd77a2f7f34ff384a6096d1139e922 edges    20 hours ago Less than a second 0       0 + 0 / 0 0B       0B       success"""

Run = Callable[..., tuple[int, str, str]]


def _seed_job(
    server: RunningServer, job_id: str, counts: Counts, total: int, dl: int, ul: int, duration: float
) -> JobKey:
    key = add_job(server, "edges", job_id)
    drive(server, key, *RUN)
    server.deps.jobs.set_total(key, total)
    server.deps.jobs.record_progress(key, counts, Stats(download_bytes=dl, upload_bytes=ul))
    drive(server, key, *FINISH)
    started = time.time() - 20 * 3600 - 30
    # History as the seed shows it: started 20 hours ago, taking ``duration``.
    server.deps.jobs.change(key, lambda j: replace(j, started=started, finished=started + duration))
    return key


def test_list_job_reproduces_the_seed_table(server: RunningServer, tusk_cli: Run) -> None:
    if SEED.exists():  # the table below is the seed's own, copied verbatim
        seed_lines = [line.strip() for line in SEED.read_text().splitlines() if "edges    20 hours" in line]
        assert seed_lines == SEED_TABLE.splitlines()[1:]
    add_pipeline(server, "edges")
    _seed_job(server, "7dcd77a2f7f34ff384a6096d1139e922", Counts(), 0, 0, 0, 0.4)
    _seed_job(server, "5a78358d4b53494cbba4550428f2fe98", Counts(processed=1), 1, 58645, 22753, 2.4)
    _seed_job(server, "fd9454d06d8e4fa38a75c8cd20b39538", Counts(processed=2, skipped=1), 3, 185424, 114041, 5.3)
    code, out, err = tusk_cli("list", "job", "-p", "edges")
    assert (code, err) == (0, "")
    assert out == SEED_TABLE + "\n"
    # The same jobs through -x and a state filter; none through another state.
    assert tusk_cli("list", "job", "-x")[1] == SEED_TABLE + "\n"
    assert tusk_cli("list", "job", "-p", "edges", "--state", "success")[1] == SEED_TABLE + "\n"
    assert (
        tusk_cli("list", "job", "-p", "edges", "--state", "running")[1]
        == " ".join(SEED_TABLE.split("\n")[0].split()) + "\n"
    )
    # Full timestamps replace the relative ones.
    full = tusk_cli("list", "job", "-p", "edges", "--full-timestamps")[1].splitlines()
    assert full[1].split()[2].endswith("Z") and full[1].split()[2][:2] == "20"


def test_list_job_states_reasons_recovered_and_a_job_set(server: RunningServer, tusk_cli: Run) -> None:
    set_id = uuid.uuid4().hex
    a, b = add_job(server, "a", set_id), add_job(server, "b", set_id)
    drive(server, a, *RUN)
    server.deps.jobs.set_total(a, 4)
    server.deps.jobs.record_progress(a, Counts(processed=2, skipped=1, recovered=1), Stats())
    drive(server, b, JobState.JOB_STARTING, JobState.JOB_UNRUNNABLE, reason="upstream job a@x failed with an error")
    code, out, _ = tusk_cli("list", "job", set_id)
    assert code == 0
    rows = [line.split(None, 5) for line in out.splitlines()[1:]]
    assert [r[1] for r in rows] == ["a", "b"]  # DAG/creation order within a set
    assert "2 + 1 + 1 / 4" in out
    assert out.splitlines()[1].endswith(" running")
    assert out.splitlines()[2].endswith(" unrunnable: upstream job a@x failed w...")  # reasons cut at 25


def test_list_job_alone_prints_job_sets(server: RunningServer, tusk_cli: Run) -> None:
    s1, s2 = uuid.uuid4().hex, uuid.uuid4().hex
    succeed(server, add_job(server, "a", s1))
    add_job(server, "b", s1)
    add_job(server, "a", s2)
    code, out, _ = tusk_cli("list", "job")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["ID", "SUBJOBS", "PROGRESS", "CREATED", "MODIFIED"]
    assert [line.split()[:2] for line in lines[1:]] == [[s2, "1"], [s1, "2"]]
    assert "\u2587\u2587\u2587\u2587" in lines[2] and "ago" in lines[2]
    raw = tusk_cli("list", "job", "--raw")[1]
    assert raw.count('"job_set"') == 2


def test_raw_json_and_yaml(server: RunningServer, tusk_cli: Run) -> None:
    key = add_job(server, "edges")
    succeed(server, key)
    code, out, _ = tusk_cli("inspect", "job", name(key), "--raw")
    assert code == 0 and out.startswith('{\n  "job": {\n    "pipeline": {\n      "name": "edges"\n    },')
    data = json.loads(out)
    assert data["state"] == "JOB_SUCCESS" and data["pipeline_version"] == "1" and "details" in data
    docs = list(yaml.safe_load_all(tusk_cli("inspect", "job", name(key), "-o", "yaml")[1]))
    assert docs[-1]["job"]["id"] == key.id
    listed = tusk_cli("list", "job", "-p", "edges", "-o", "json")[1]
    assert json.loads(listed)["job"]["id"] == key.id
    text = tusk_cli("inspect", "job", name(key))[1]
    assert f"ID: {key.id}" in text and "State: success" in text and f"Output Commit: edges@{key.id}" in text


def test_wait_job_exit_codes_and_plain_lines(server: RunningServer, tusk_cli: Run) -> None:
    ok = add_job(server, "edges")
    threading.Timer(0.2, lambda: (drive(server, ok, *RUN), drive(server, ok, *FINISH))).start()
    code, out, err = tusk_cli("wait", "job", name(ok), "--heartbeat", "50ms")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith(f"edges@{ok.id}: success (")
    assert any(": running (" in line for line in out.splitlines())

    bad = add_job(server, "edges")
    threading.Timer(0.1, lambda: drive(server, bad, *RUN, JobState.JOB_FAILURE, reason="datum 1f failed")).start()
    code, _, err = tusk_cli("wait", "job", name(bad))
    assert code == 5
    assert f"job edges@{bad.id} ended failure: datum 1f failed" in err

    killed = uuid.uuid4().hex
    k1, k2 = add_job(server, "a", killed), add_job(server, "b", killed)
    succeed(server, k1)
    drive(server, k2, JobState.JOB_KILLED, reason="job stopped")
    code, out, err = tusk_cli("wait", "job", killed)
    assert code == 5 and "b@" in err and "killed" in err and "a@" not in err

    code, _, err = tusk_cli("wait", "job", f"edges@{uuid.uuid4().hex}")
    assert code == 4 and err.startswith("error: jobs default/edges@") and "not found" in err


def test_wait_job_progress_view_on_a_terminal() -> None:
    out = io.StringIO()
    clock = iter([0.0, 1.0, 2.0, 2.0, 3.0, 3.0]).__next__
    view = ProgressView(out, tty=True, clock=clock)
    info = pps_pb2.JobInfo(job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="edges"), id="a" * 32))
    info.state = pps_pb2.JOB_RUNNING
    info.data_total = 10
    view.update(info)
    info.data_processed, info.data_failed, info.data_recovered = 3, 1, 1
    view.update(info)
    text = out.getvalue()
    assert "\x1b[1F" in text  # the bar is redrawn in place
    last = text.rsplit("\x1b[2K", 1)[-1]
    assert "[############............]" in last
    assert "3 processed, 0 skipped, 1 failed, 1 recovered / 10" in last
    assert "2.5/s" in last and "ETA 2s" in last and last.rstrip().endswith("running")


def test_stop_and_delete_job(server: RunningServer, tusk_cli: Run) -> None:
    key = add_job(server, "edges")
    drive(server, key, *RUN)
    assert tusk_cli("stop", "job", name(key), "--grace", "1s")[0] == 0
    info = server.deps.jobs.get(key).job
    assert (info.state, info.reason) == (JobState.JOB_KILLED, "job stopped")
    assert tusk_cli("delete", "job", name(key))[0] == 0
    assert tusk_cli("inspect", "job", name(key))[0] == 4
    running = add_job(server, "edges")
    drive(server, running, *RUN)
    assert tusk_cli("delete", "job", name(running))[0] == 0  # stopped, then deleted, as pachd
    assert tusk_cli("inspect", "job", name(running))[0] == 4
    set_id = uuid.uuid4().hex
    a = add_job(server, "a", set_id)
    assert tusk_cli("stop", "job", set_id, "--reason", "enough")[0] == 0
    assert server.deps.jobs.get(a).job.reason == "enough"
    code, _, err = tusk_cli("stop", "job", "edges@xyz")
    assert code == 1 and "not a valid ID" in err


def test_datum_verbs_and_logs(failed_run: pps_pb2.JobInfo, tusk_cli: Run) -> None:
    job = f"edges@{failed_run.job.id}"
    code, out, _ = tusk_cli("list", "datum", job)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ID", "FILES", "STATUS", "TIME"]
    assert len(lines) == 4 and sum(" failed " in line for line in lines) == 1
    assert re.search(r" images@[0-9a-f]{32}:/a\.txt ", out)
    failed = next(line.split()[0] for line in lines[1:] if " failed " in line)
    assert tusk_cli("list", "datum", job, "--state", "failed")[1].splitlines()[1].startswith(failed)
    code, out, _ = tusk_cli("inspect", "datum", job, failed)
    assert code == 0 and "State: failed" in out and "Attempts: 1" in out and "/bad.txt" in out
    code, _, err = tusk_cli("restart", "datum", job, failed)
    assert code == 1 and "rerun" in err
    code, out, _ = tusk_cli("logs", "--job", job)
    # As pachctl: user output between pachd's worker lines around each datum's user code.
    user = sorted(line for line in out.splitlines() if line.startswith("saw "))
    assert code == 0 and user == ["saw /pfs/images/a.txt", "saw /pfs/images/b.txt", "saw /pfs/images/bad.txt"]
    assert out.count("beginning to run user code") == 3 and out.count("finished running user code after ") == 2
    lines = tusk_cli("logs", "-p", "edges", "--job", failed_run.job.id, "--datum", failed)[1].splitlines()
    assert lines[:2] == ["beginning to run user code", "saw /pfs/images/bad.txt"]
    assert lines[2].startswith("errored running user code after ") and lines[2].endswith("exit code 3 (attempt 1 of 1)")
    assert tusk_cli("logs", "-p", "edges", "--tail", "1")[1].count("\n") == 1
    assert tusk_cli("logs")[0] == 2


def test_errors_are_one_line_with_exit_codes(server: RunningServer, tusk_cli: Run) -> None:
    code, out, err = tusk_cli("inspect", "job", f"edges@{uuid.uuid4().hex}")
    assert code == 4 and out == "" and err.count("\n") == 1 and "not found" in err
    code, _, err = tusk_cli("inspect", "job", "justanid")
    assert code == 2 and "<pipeline>@<job id>" in err
    code, _, err = tusk_cli("list", "job", "--state", "bogus")
    assert code == 2
    code, _, err = tusk_cli("list", "job", "-p", "nope")
    assert code == 4 and 'pipeline "default/nope" not found' in err
    code, _, err = tusk_cli("list", "job", address=f"127.0.0.1:{free_port()}")
    assert code == 3 and "Traceback" not in err
    assert parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5 and parse_duration("2") == 2


def test_wait_job_exit_code_from_a_real_process(server: RunningServer) -> None:
    key = add_job(server, "edges")
    drive(server, key, *RUN, JobState.JOB_KILLED, reason="job stopped")
    proc = subprocess.run(
        [sys.executable, "-m", "tusk", "--address", server.address, "wait", "job", name(key)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 5, proc.stderr
    assert f"edges@{key.id}: killed: job stopped" in proc.stdout
    assert proc.stderr.strip() == f"Error: job edges@{key.id} ended killed: job stopped"
