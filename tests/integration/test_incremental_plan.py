"""The incremental datum plan (engine/job_plan.py) against the full plan, on a real server.

Each test runs two pipelines over the same repo and commits: ``inc`` reads the input as given
(planned incrementally where it may be), ``full`` reads the same input inside a one-child union
(the same datums, IDs and skipping, always planned in full). Every job of ``inc`` must match
``full``'s: state, counters, the datum rows (ID, state, attempts, reason, inputs) and the output
files. The engine's log line says how many datums were carried in SQL, so each test also shows
which path ``inc`` took.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import (
    create_pipeline,
    create_repo,
    datums,
    files,
    make_spec,
    put,
    wait_all,
    wait_job,
)
from tuskd.domain.inputs import Input, PfsInput
from tuskd.domain.jobs import Job
from tuskd.domain.pipelines import PipelineKey
from tuskd.domain.states import DatumState, JobState

pytestmark = pytest.mark.timeout(90)

# One output file per input file the datum holds, named after its path, holding its content.
COPY = 'find /pfs/data -type f | sort | while read -r f; do cp "$f" "/pfs/out/$(echo "$f" | tr / _)"; done'


def pfs(repo: str = "data", glob: str = "/*", name: str = "") -> Input:
    return Input(pfs=PfsInput(repo=repo, glob=glob, name=name or repo))


def both(server: RunningServer, input: Input, cmd: str = COPY) -> None:
    create_repo(server, "data")
    create_pipeline(server, make_spec("inc", cmd, input))
    create_pipeline(server, make_spec("full", cmd, Input(union=(input,))))


def carried(caplog: pytest.LogCaptureFixture, pipeline: str, job_id: str) -> int:
    """How many datums the job carried in SQL (from the engine's log line)."""
    found = [
        r.args[3]
        for r in caplog.records
        if "carried in SQL" in r.msg and isinstance(r.args, tuple) and str(r.args[0]).endswith(f"{pipeline}@{job_id}")
    ]
    assert len(found) == 1, f"no plan logged for {pipeline}@{job_id}"
    return int(found[0])


def same_job(server: RunningServer, commit: str, full_id: str = "") -> Job:
    """``inc``'s job ``commit`` and ``full``'s job ``full_id`` (default: the same) agree in every
    visible way; ``inc``'s job."""
    full_id = full_id or commit
    inc, full = wait_job(server, "inc", commit), wait_job(server, "full", full_id)
    assert (inc.state, inc.counts, inc.total) == (full.state, full.counts, full.total)

    def rows(pipeline: str, job_id: str) -> dict[str, tuple[DatumState, int, str, str]]:
        return {
            d.record.id: (d.record.state, d.record.attempts, d.record.reason, d.inputs_json)
            for d in datums(server, pipeline, job_id)
        }

    assert rows("inc", commit) == rows("full", full_id)
    if inc.state == JobState.JOB_SUCCESS:
        assert files(server, "inc", commit) == files(server, "full", full_id)
    return inc


def paths(server: RunningServer, commit: str, state: DatumState) -> list[str]:
    """The input paths of ``inc``'s datums in ``state`` for ``commit``."""
    out = []
    for d in datums(server, "inc", commit):
        if d.record.state == state:
            out += [inp["path"] for inp in json.loads(d.inputs_json)]
    return sorted(out)


def step(server: RunningServer, write: dict[str, bytes], delete: Sequence[str] = ()) -> str:
    return put(server, "data", write, delete)


def after(
    server: RunningServer, first: dict[str, bytes], write: dict[str, bytes], delete: Sequence[str] = ()
) -> tuple[str, Job]:
    """Commit ``first`` (both jobs checked), then the change; the change's commit and job."""
    same_job(server, step(server, first))
    commit = step(server, write, delete)
    return commit, same_job(server, commit)


def rerun(server: RunningServer, reprocess: bool) -> tuple[str, Job]:
    """Rerun both pipelines (each a job of its own commit set); ``inc``'s new job ID and job."""
    for name in ("inc", "full"):
        server.deps.pipelines.rerun(PipelineKey("default", name), reprocess=reprocess)
    inc, full = wait_all(server, "inc", 3)[0], wait_all(server, "full", 3)[0]
    return inc.key.id, same_job(server, inc.key.id, full.key.id)


@pytest.fixture(autouse=True)
def _engine_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="tuskd.engine.job_runner")


def test_changed_file(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs())
    c2, j = after(server, {"/a": b"1", "/b": b"2", "/c": b"3"}, {"/b": b"two"})
    assert (j.counts.processed, j.counts.skipped, j.total) == (1, 2, 3)
    assert paths(server, c2, DatumState.SUCCESS) == ["/b"]
    assert carried(caplog, "inc", c2) == 2
    assert files(server, "inc", c2)["/_pfs_data_b"] == b"two"
    # Carried rows name the commit this job read, as rows planned in Python do.
    commits = {inp["commit"] for d in datums(server, "inc", c2) for inp in json.loads(d.inputs_json)}
    assert commits == {c2}


def test_added_file(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs())
    c2, j = after(server, {"/a": b"1", "/b": b"2"}, {"/d": b"4"})
    assert (j.counts.processed, j.counts.skipped, j.total) == (1, 2, 3)
    assert carried(caplog, "inc", c2) == 2


def test_deleted_file(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs())
    c2, j = after(server, {"/a": b"1", "/b": b"2", "/c": b"3"}, {}, delete=["/c"])
    assert (j.counts.processed, j.counts.skipped, j.total) == (0, 2, 2)
    assert carried(caplog, "inc", c2) == 2
    assert sorted(files(server, "inc", c2)) == ["/_pfs_data_a", "/_pfs_data_b"]


def test_renamed_file(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs())
    c2, j = after(server, {"/a": b"1", "/b": b"2"}, {"/z": b"1"}, delete=["/a"])
    assert (j.counts.processed, j.counts.skipped, j.total) == (1, 1, 2)
    assert paths(server, c2, DatumState.SUCCESS) == ["/z"]
    assert carried(caplog, "inc", c2) == 1


def test_directory_glob(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs(glob="/*"))
    c1 = step(server, {"/x/1": b"x1", "/x/2": b"x2", "/y/1": b"y1", "/z/1": b"z1", "/top": b"t"})
    same_job(server, c1)
    # A file changed inside /x, a new directory /w, the last file of /y deleted (so is /y).
    c2 = step(server, {"/x/2": b"x2!", "/w/1": b"w1"}, delete=["/y/1"])
    j = same_job(server, c2)
    assert (j.counts.processed, j.counts.skipped, j.total) == (2, 2, 4)
    assert paths(server, c2, DatumState.SUCCESS) == ["/w", "/x"]
    assert carried(caplog, "inc", c2) == 2


def test_recursive_glob(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs(glob="/**"))
    c1 = step(server, {"/x/a/1": b"1", "/x/b/2": b"2", "/y/3": b"3", "/top": b"t"})
    first = same_job(server, c1)
    assert first.total == 8  # /top, /x, /x/a, /x/a/1, /x/b, /x/b/2, /y, /y/3
    c2 = step(server, {"/x/a/1": b"one"})
    j = same_job(server, c2)
    # /x/a/1 and the directories above it run again; /x is planned again whole (its other
    # datums are skipped as before), the rest is carried.
    assert paths(server, c2, DatumState.SUCCESS) == ["/x", "/x/a", "/x/a/1"]
    assert j.counts.skipped == 5
    assert carried(caplog, "inc", c2) == 3


def test_rerun_over_the_same_commit_carries_everything(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs())
    same_job(server, step(server, {"/a": b"1", "/b": b"2"}))
    inc, j = rerun(server, reprocess=False)
    assert (j.counts.processed, j.counts.skipped, j.total) == (0, 2, 2)
    assert carried(caplog, "inc", inc) == 2


def test_cross_input_is_planned_in_full(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    create_repo(server, "other")
    put(server, "other", {"/o1": b"o1", "/o2": b"o2"})
    both(server, Input(cross=(pfs(), pfs("other"))))
    c2, j = after(server, {"/a": b"1", "/b": b"2"}, {"/b": b"two"})
    assert (j.counts.processed, j.counts.skipped, j.total) == (2, 2, 4)
    assert carried(caplog, "inc", c2) == 0


def test_salt_change_is_planned_in_full(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    both(server, pfs())
    same_job(server, step(server, {"/a": b"1", "/b": b"2"}))
    inc, j = rerun(server, reprocess=True)
    assert (j.counts.processed, j.counts.skipped, j.total) == (2, 0, 2)
    assert carried(caplog, "inc", inc) == 0
    # The job after it compares with the new salt's job again, incrementally.
    c2 = step(server, {"/b": b"two"})
    j2 = same_job(server, c2)
    assert (j2.counts.processed, j2.counts.skipped) == (1, 1)
    assert carried(caplog, "inc", c2) == 1


def test_job_after_a_failed_job(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    fails_on_bad = "if [ -e /pfs/data/bad ]; then exit 3; fi; " + COPY
    both(server, pfs(), fails_on_bad)
    c1 = step(server, {"/a": b"1", "/b": b"2", "/c": b"3"})
    same_job(server, c1)
    c2 = step(server, {"/bad": b"x", "/a": b"one"})
    assert same_job(server, c2).state == JobState.JOB_FAILURE
    # Compared with the last successful job (over c1): the change spans two commits.
    c3 = step(server, {"/c": b"three"}, delete=["/bad"])
    j = same_job(server, c3)
    assert (j.state, j.counts.processed, j.counts.skipped, j.total) == (JobState.JOB_SUCCESS, 2, 1, 3)
    assert paths(server, c3, DatumState.SUCCESS) == ["/a", "/c"]
    assert carried(caplog, "inc", c3) == 1


def test_recovered_datum_runs_again_in_full(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    create_repo(server, "data")
    fails_on_r = "if [ -e /pfs/data/r ]; then exit 1; fi; " + COPY
    for name, input in (("inc", pfs()), ("full", Input(union=(pfs(),)))):
        create_pipeline(server, make_spec(name, fails_on_r, input, err_cmd=["true"], datum_tries=1))
    c2, j = after(server, {"/a": b"1", "/r": b"2"}, {"/a": b"one"})
    # The RECOVERED datum of the last successful job is not skipped: it runs (and recovers) again.
    assert (j.state, j.counts.processed, j.counts.recovered, j.counts.skipped) == (JobState.JOB_SUCCESS, 1, 1, 0)
    assert carried(caplog, "inc", c2) == 0
