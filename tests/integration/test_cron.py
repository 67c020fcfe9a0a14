"""Cron inputs through a real server: the ticker, RunCron, overwrite, the cron repo's life, and
the specs refused. Waits are deadlines for something to happen, never assertions on speed."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

import tusk
from tests.conftest import RunningServer, start_server, stop_server
from tusk import errors
from tuskd.domain.cron import tick_name, tick_time
from tuskd.domain.jobs import Job
from tuskd.domain.pfs import BranchKey, CommitRef, RepoKey
from tuskd.domain.states import JobState
from tuskd.store.pps import JobQuery

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")


def cron_spec(name: str, schedule: str, *, overwrite: bool = False, **cron: Any) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "transform": {"cmd": ["sh", "-c", "ls /pfs/tick > /pfs/out/seen"]},
        "input": {"cron": {"name": "tick", "spec": schedule, "overwrite": overwrite, **cron}},
    }


def wait_for(what: str, probe: Callable[[], T | None], deadline: float = 15.0) -> T:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def at_least(n: int, probe: Callable[[], list[T]]) -> Callable[[], list[T] | None]:
    def check() -> list[T] | None:
        found = probe()
        return found if len(found) >= n else None

    return check


def tick_files(server: RunningServer, repo: str) -> list[str]:
    ref = CommitRef(RepoKey.of(repo), branch="master")
    return [info.path for info in server.deps.pfs.list_files(ref)]


def jobs_of(server: RunningServer, pipeline: str) -> list[Job]:
    return [r.job for r in server.deps.jobs.list(JobQuery(pipeline=pipeline, newest_first=False))]


def done(server: RunningServer, pipeline: str) -> list[Job]:
    return [j for j in jobs_of(server, pipeline) if j.state == JobState.JOB_SUCCESS]


def test_every_second_ticks_and_each_tick_gets_a_job(server: RunningServer, client: tusk.Client) -> None:
    client.pps.create_pipeline(cron_spec("clock", "@every 1s"))
    # The cron repo is the pipeline's, in its project, with a master branch and no tick yet.
    repo = client.pfs.inspect_repo("clock_tick")
    assert repo.description == "Cron tick repo for pipeline default/clock."
    # The creation job, then one job per tick: wait for three tick jobs, then stop the ticks.
    wait_for("jobs of three ticks", at_least(4, lambda: done(server, "clock")))
    client.pps.stop_pipeline("clock")
    files = tick_files(server, "clock_tick")
    times = [t for t in map(tick_time, files) if t is not None]
    assert len(times) == len(files) >= 3 and all(t.microsecond == 0 for t in times)
    # Without overwrite the files accumulate, one second apart (each named by its scheduled time).
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(seconds=1)}
    last = done(server, "clock")[-1]
    seen = b"".join(server.deps.pfs.get_file(CommitRef(RepoKey.of("clock"), id=last.key.id), "/seen")).split()
    assert len(seen) >= 3 and all(tick_time(name.decode()) for name in seen)


def test_run_cron_ticks_now_and_the_tick_gets_a_job(server: RunningServer, client: tusk.Client) -> None:
    client.pps.create_pipeline(cron_spec("manual", "@never"))
    wait_for("the creation job", lambda: done(server, "manual"))
    assert tick_files(server, "manual_tick") == []  # no tick at creation
    before = datetime.now(UTC).replace(microsecond=0)
    client.pps.run_cron("manual")
    after = datetime.now(UTC)
    files = tick_files(server, "manual_tick")
    assert len(files) == 1
    when = tick_time(files[0])
    assert when is not None and before <= when <= after
    assert files[0] == "/" + tick_name(when)  # /2026-01-02T03:04:05Z
    job = wait_for("the tick's job", lambda: [j for j in done(server, "manual")][1:])[0]
    seen = b"".join(server.deps.pfs.get_file(CommitRef(RepoKey.of("manual"), id=job.key.id), "/seen"))
    assert seen.decode().split() == [files[0].lstrip("/")]


def test_never_is_followed_but_has_no_next_tick(server: RunningServer, client: tusk.Client) -> None:
    client.pps.create_pipeline(cron_spec("never", "@never"))
    client.pps.create_pipeline(cron_spec("hourly", "@hourly"))
    ticker = server.deps.cron
    scheduled = wait_for("both cron inputs followed", lambda: ticker.scheduled() if len(ticker.scheduled()) == 2 else None)
    assert scheduled[("default/never", "tick")] is None
    hourly = scheduled[("default/hourly", "tick")]
    assert hourly is not None and (hourly.minute, hourly.second) == (0, 0) and hourly > datetime.now(UTC)
    # A stopped pipeline is not followed (it does not tick); started again, it is.
    client.pps.stop_pipeline("hourly")
    wait_for("the stopped pipeline dropped", lambda: ("default/hourly", "tick") not in ticker.scheduled())
    client.pps.start_pipeline("hourly")
    wait_for("the started pipeline followed", lambda: ("default/hourly", "tick") in ticker.scheduled())


def test_overwrite_keeps_only_the_newest_tick(server: RunningServer, client: tusk.Client) -> None:
    client.pps.create_pipeline(cron_spec("latest", "@every 1s", overwrite=True))
    repo = RepoKey.of("latest_tick")

    def tick_commits() -> int:
        return sum(1 for c in server.deps.pfs.list_commits(repo) if c.finishing is not None)

    wait_for("three tick commits", lambda: tick_commits() >= 4)  # the empty first commit + 3 ticks
    client.pps.stop_pipeline("latest")
    files = tick_files(server, "latest_tick")
    assert len(files) == 1
    newest = server.deps.pfs.inspect_branch(BranchKey(repo, "master")).head
    assert newest is not None


def test_start_in_the_past_catches_up_scheduled_ticks(server: RunningServer, client: tusk.Client) -> None:
    start = (datetime.now(UTC) - timedelta(hours=2, minutes=30)).replace(microsecond=0)
    client.pps.create_pipeline(cron_spec("behind", "@every 1h", start=start.isoformat().replace("+00:00", "Z")))
    files = wait_for("the missed ticks", at_least(2, lambda: tick_files(server, "behind_tick")))
    assert files == ["/" + tick_name(start + timedelta(hours=1)), "/" + tick_name(start + timedelta(hours=2))]
    assert server.deps.cron.scheduled()[("default/behind", "tick")] == start + timedelta(hours=3)


def test_after_a_restart_ticks_resume_from_the_newest_tick(server: RunningServer, client: tusk.Client) -> None:
    start = (datetime.now(UTC) - timedelta(hours=1, minutes=30)).replace(microsecond=0)
    client.pps.create_pipeline(cron_spec("resumed", "@every 1h", start=start.isoformat().replace("+00:00", "Z")))
    wait_for("the missed tick", lambda: tick_files(server, "resumed_tick"))
    repo = RepoKey.of("resumed_tick")
    commits = len(list(server.deps.pfs.list_commits(repo)))
    stop_server(server)
    again = start_server(server.config)
    try:
        due = wait_for("the input followed again", lambda: again.deps.cron.scheduled().get(("default/resumed", "tick")))
        # The next tick follows the tick file (start + 1h), not the start again: nothing re-ticked.
        assert due == start + timedelta(hours=2)
        assert len(list(again.deps.pfs.list_commits(repo))) == commits
        assert tick_files(again, "resumed_tick") == ["/" + tick_name(start + timedelta(hours=1))]
    finally:
        stop_server(again)


def test_deleting_the_pipeline_deletes_its_cron_repo(server: RunningServer, client: tusk.Client) -> None:
    server.deps.projects.create("lab")
    client.pps.create_pipeline({**cron_spec("p", "@never"), "pipeline": {"name": "p", "project": {"name": "lab"}}})
    assert client.pfs.inspect_repo("lab/p_tick").repo.name == "p_tick"
    client.pps.run_cron("p", project="lab")
    client.pps.delete_pipeline("p", project="lab", keep_repo=True)  # even with keep_repo, as pachd
    with pytest.raises(errors.NotFound):
        client.pfs.inspect_repo("lab/p_tick")
    assert client.pfs.inspect_repo("lab/p").repo.name == "p"
    wait_for("the ticker forgets it", lambda: server.deps.cron.scheduled() == {})


def test_cron_input_in_a_cross_with_a_custom_repo(server: RunningServer, client: tusk.Client) -> None:
    server.deps.pfs.create_repo(RepoKey.of("data"))
    server.deps.pfs.put_file(CommitRef(RepoKey.of("data"), branch="master"), "/a", [b"1"])
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "mix"},
            "transform": {"cmd": ["sh", "-c", "ls /pfs/tick /pfs/data > /pfs/out/seen"]},
            "input": {
                "cross": [
                    {"pfs": {"repo": "data", "glob": "/*"}},
                    {"cron": {"name": "tick", "spec": "@never", "repo": "ticks"}},
                ]
            },
        }
    )
    info = client.pps.inspect_pipeline("mix", details=True)
    cron = info.details.input.cross[1].cron
    assert (cron.repo, cron.project, cron.spec) == ("ticks", "default", "@never")
    assert cron.HasField("start")  # pachd fills it in with the creation time
    client.pps.run_cron("mix")
    job = wait_for("the tick's job", lambda: done(server, "mix")[1:])[0]
    assert (job.total, job.counts.processed) == (1, 1)  # data/a x the tick file


def test_run_cron_errors(server: RunningServer, client: tusk.Client) -> None:
    with pytest.raises(errors.NotFound):
        client.pps.run_cron("missing")
    server.deps.pfs.create_repo(RepoKey.of("images"))
    client.pps.create_pipeline(
        {"pipeline": {"name": "plain"}, "transform": {"cmd": ["true"]}, "input": {"pfs": {"repo": "images", "glob": "/*"}}}
    )
    with pytest.raises(errors.FailedPrecondition, match="pipeline doesn't have a cron input"):
        client.pps.run_cron("plain")


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ({"name": "tick", "spec": "every minute"}, "error parsing cron-spec: expected exactly 5 fields, found 2"),
        ({"name": "tick", "spec": "61 * * * *"}, "error parsing cron-spec: minute: end of range (61) above maximum"),
        ({"name": "tick", "spec": "@every soon"}, "error parsing cron-spec: failed to parse duration @every soon"),
        ({"name": "tick", "spec": "@fortnightly"}, "error parsing cron-spec: unrecognized descriptor: @fortnightly"),
        ({"name": "tick", "spec": ""}, "error parsing cron-spec: empty spec string"),
        ({"spec": "@daily"}, "input must specify a name"),
        ({"name": "out", "spec": "@daily"}, 'input name "out" is reserved'),
    ],
)
def test_bad_cron_inputs_are_refused(client: tusk.Client, cron: dict[str, Any], message: str) -> None:
    spec = {"pipeline": {"name": "bad"}, "transform": {"cmd": ["true"]}, "input": {"cron": cron}}
    with pytest.raises(errors.InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.pps.create_pipeline(spec)
    with pytest.raises(errors.NotFound):
        client.pfs.inspect_repo("bad_tick")  # nothing was made


def test_a_cron_name_used_twice_is_refused(client: tusk.Client) -> None:
    two = {"cron": {"name": "tick", "spec": "@daily"}}
    spec = {"pipeline": {"name": "twice"}, "transform": {"cmd": ["true"]}, "input": {"cross": [two, two]}}
    with pytest.raises(errors.InvalidArgument, match='name "tick" was used more than once'):
        client.pps.create_pipeline(spec)


def test_cli_creates_lists_and_runs_a_cron_pipeline(server: RunningServer) -> None:
    def tusk_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tusk", "--address", server.address, *args]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)

    spec = "pipeline: {name: report}\ntransform: {cmd: [\"true\"]}\ninput: {cron: {name: tick, spec: \"@daily\"}}\n"
    assert tusk_cli("create", "pipeline", "-f", "-", stdin=spec).returncode == 0
    listed = tusk_cli("list", "pipeline")
    assert "tick:@daily" in listed.stdout, listed.stdout
    ran = tusk_cli("run", "cron", "report")
    assert ran.returncode == 0, ran.stderr
    assert len(tick_files(server, "report_tick")) == 1
    refused = tusk_cli("run", "cron", "missing")
    assert refused.returncode != 0 and "not found" in refused.stderr
