"""Crash consistency: a real ``tusk serve`` SIGKILLed at random moments, round after round.

Each of ``ROUNDS`` rounds starts a server on the same data directory, checks what every earlier
round was told had succeeded, then runs a random mix of writes (uploads that start jobs, file
deletes, pipeline updates, repo and pipeline deletes and re-creations) until a timer SIGKILLs
the server at a random moment. A client-side ledger keeps every acknowledged write: the sha256
of each file an acknowledged commit wrote, acknowledged deletes, pipeline versions. After each
restart (and once more after the last kill):

* every acknowledged commit is finished and its files are byte-identical; an acknowledged
  delete stayed deleted; each pipeline is at its acknowledged version (or one more, when an
  update was cut off by the kill);
* once the engine has caught up, no job is left non-terminal, none failed (the user code never
  fails), and each SUCCESS job's counters add up (processed + skipped + failed + recovered ==
  total);
* a SUCCESS job's output commit holds exactly the outputs of its recorded datums, which are
  exactly the files of their input commit;
* no process of the killed server (user code, sandbox helpers) outlives the restart.

The seed is random per run and named in every failure; ``TUSK_CRASH_SEED=<n>`` replays one.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

import tusk
from tests.conftest import ServerProcess
from tests.reliability.common import (
    alive,
    crash,
    head,
    marked_processes,
    pipeline_spec,
    process_tree,
    put_files,
    tree,
)
from tusk import errors
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

ROUNDS = 20
NAMES = [f"/f{i}" for i in range(8)]  # the input repo stays small: uploads rewrite these
TERMINAL = (pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE, pps_pb2.JOB_KILLED, pps_pb2.JOB_UNRUNNABLE)
# Upper-cases one input file into /pfs/out; NAP makes datums last long enough to be cut off.
UPPER = 'sleep "$NAP"; tr a-z A-Z < "$data" > "/pfs/out/$(basename "$data")"'
COUNT = 'ls /pfs/data | wc -l | tr -d " " > /pfs/out/count'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upper_spec(marker: str, nap: float) -> dict[str, object]:
    env = {"NAP": f"{nap:.2f}", "MARK": marker}
    return pipeline_spec("upper", "data", UPPER, env, parallelism_spec={"constant": 2})


def count_spec(marker: str) -> dict[str, object]:
    return {**pipeline_spec("count", "data", COUNT, {"MARK": marker}), "input": {"pfs": {"repo": "data", "glob": "/"}}}


@dataclass
class Ledger:
    """What the server acknowledged, and which call (if any) the kill cut off."""

    commits: dict[tuple[str, str], dict[str, str | None]] = field(default_factory=dict)  # path -> sha / deleted
    scratch: list[str] = field(default_factory=list)  # repos created and not deleted
    deleted: set[str] = field(default_factory=set)  # repos whose delete was acknowledged
    dropped: set[str] = field(default_factory=set)  # commit sets dropped
    versions: dict[str, int] = field(default_factory=dict)  # pipeline -> acknowledged version
    count_exists: bool = True  # the "count" pipeline
    in_flight: tuple[str, str] | None = None  # (what, name) of the call the kill cut off
    next_scratch: int = 0
    verified_jobs: set[str] = field(default_factory=set)


class Round:
    """One round's writes against one server, recorded in the ledger as they are acknowledged."""

    def __init__(
        self, client: tusk.Client, ledger: Ledger, rng: random.Random, marker: str, killed: threading.Event
    ) -> None:
        self.c, self.ledger, self.rng, self.marker, self.killed = client, ledger, rng, marker, killed

    def _call(self, what: str, name: str, fn: Callable[[], object]) -> object:
        self.ledger.in_flight = (what, name)
        result = fn()
        self.ledger.in_flight = None
        return result

    def upload(self) -> None:
        files = {p: os.urandom(self.rng.randint(1, 64)).hex().encode() for p in self.rng.sample(NAMES, 3)}
        commit = self._call("upload", "data", lambda: put_files(self.c, "data", files))
        self.ledger.commits[("data", str(commit))] = {p: sha(d) for p, d in files.items()}

    def delete_file(self) -> None:
        path, mark = self.rng.choice(NAMES), uuid.uuid4().hex.encode()

        def write() -> str:
            with self.c.pfs.modify_file("data@master") as mf:
                mf.delete_file(path)
                mf.put_file("/marker", mark)
            return head(self.c, "data")

        commit = self._call("upload", "data", write)
        self.ledger.commits[("data", str(commit))] = {path: None, "/marker": sha(mark)}

    def update_upper(self) -> None:
        self._call(
            "update", "upper", lambda: self.c.pps.update_pipeline(upper_spec(self.marker, self.rng.uniform(0, 0.15)))
        )
        self.ledger.versions["upper"] += 1

    def scratch(self) -> None:
        name = f"scratch{self.ledger.next_scratch}"
        self.ledger.next_scratch += 1
        self._call("create repo", name, lambda: self.c.pfs.create_repo(name))
        self.ledger.scratch.append(name)
        content = {"/s": os.urandom(self.rng.choice((16, 200_000)))}
        commit = self._call("upload", name, lambda: put_files(self.c, name, content))
        self.ledger.commits[(name, str(commit))] = {"/s": sha(content["/s"])}

    def delete_scratch(self) -> None:
        if not self.ledger.scratch:
            return
        name = self.rng.choice(self.ledger.scratch)
        self._call("delete repo", name, lambda: self.c.pfs.delete_repo(name))
        self.forget(name)

    def forget(self, repo: str) -> None:
        self.ledger.scratch.remove(repo)
        self.ledger.deleted.add(repo)
        for key in [k for k in self.ledger.commits if k[0] == repo]:
            del self.ledger.commits[key]

    def drop_head(self) -> None:
        """Drop the newest commit set of ``data`` (refused when a later set, e.g. from a pipeline
        update, builds on it)."""
        commit = head(self.c, "data")
        try:
            self._call("drop", commit, lambda: self.c.pfs.drop_commit_set(commit))
        except errors.FailedPrecondition:
            self.ledger.in_flight = None
            return
        self.ledger.commits.pop(("data", commit), None)
        self.ledger.dropped.add(commit)

    def toggle_count(self) -> None:
        if self.ledger.count_exists:
            self._call("delete pipeline", "count", lambda: self.c.pps.delete_pipeline("count"))
            self.ledger.count_exists = False
        else:
            self._call("create pipeline", "count", lambda: self.c.pps.create_pipeline(count_spec(self.marker)))
            self.ledger.count_exists = True

    def run_until_killed(self) -> None:
        ops = [self.upload] * 5 + [
            self.delete_file,
            self.update_upper,
            self.scratch,
            self.delete_scratch,
            self.toggle_count,
            self.drop_head,
        ]
        try:
            while True:
                self.rng.choice(ops)()
                time.sleep(self.rng.uniform(0, 0.05))  # a pace the checks can follow
        except (tusk.TuskError, grpc.RpcError):
            if not self.killed.is_set():
                raise  # a real error, not the kill
            # The server is gone: the call in flight is not acknowledged.


class Checker:
    """The checks after a restart (see the module docstring)."""

    def __init__(self, client: tusk.Client, ledger: Ledger, seed: int) -> None:
        self.c, self.ledger, self.seed = client, ledger, seed

    def fail(self, what: str) -> str:
        return f"{what} (TUSK_CRASH_SEED={self.seed})"

    def settle_in_flight(self) -> None:
        """Adopt the outcome of the call the kill cut off (it may or may not have happened)."""
        ledger, flight = self.ledger, self.ledger.in_flight
        ledger.in_flight = None
        if flight is None:
            return
        what, name = flight
        repos = {r.repo.name for r in self.c.pfs.list_repo()}
        if what == "drop":
            if name not in {str(i.commit.id) for i in self.c.pfs.list_commit("data", all=True)}:
                ledger.commits.pop(("data", name), None)
                ledger.dropped.add(name)
        elif what == "delete repo" and name not in repos:
            Round(self.c, ledger, random.Random(), "", threading.Event()).forget(name)
        elif what == "create repo" and name in repos:
            ledger.scratch.append(name)
        elif what in ("delete pipeline", "create pipeline"):
            ledger.count_exists = "count" in {p.pipeline.name for p in self.c.pps.list_pipeline()}
        elif what == "update":
            actual = self.c.pps.inspect_pipeline("upper").version
            assert actual in (ledger.versions["upper"], ledger.versions["upper"] + 1), self.fail(f"upper at {actual}")
            ledger.versions["upper"] = actual

    def acknowledged_writes(self) -> None:
        repos = {r.repo.name for r in self.c.pfs.list_repo()}
        assert not repos & self.ledger.deleted, self.fail(f"deleted repos came back: {repos & self.ledger.deleted}")
        assert set(self.ledger.scratch) <= repos, self.fail(f"repos lost: {set(self.ledger.scratch) - repos}")
        finished = {
            (repo, str(info.commit.id))
            for repo in {r for r, _ in self.ledger.commits}
            for info in self.c.pfs.list_commit(repo, all=True)
            if info.finished.seconds > 0
        }
        for (repo, commit), files in self.ledger.commits.items():
            assert (repo, commit) in finished, self.fail(f"acknowledged commit {repo}@{commit} is gone or not finished")
            present = {
                i.file.path for i in self.c.pfs.walk_file(f"{repo}@{commit}", "/") if i.file_type == pfs_pb2.FILE
            }
            for path, digest in files.items():
                if digest is None:
                    assert path not in present, self.fail(f"{repo}@{commit}:{path} was deleted but is there")
                else:
                    data = self.c.pfs.get_file_bytes(f"{repo}@{commit}", path)
                    assert sha(data) == digest, self.fail(f"{repo}@{commit}:{path} is not what was written")
        pipelines = {p.pipeline.name: p for p in self.c.pps.list_pipeline()}
        assert pipelines["upper"].version == self.ledger.versions["upper"], self.fail("upper lost an update")
        assert ("count" in pipelines) == self.ledger.count_exists, self.fail(
            "the count pipeline is not as acknowledged"
        )

    def jobs(self) -> None:
        for info in self.c.pps.list_job():
            if info.state not in TERMINAL:
                name = f"{info.job.pipeline.name}@{info.job.id}"
                try:
                    self.c.pps.inspect_job(name, wait=True, timeout=30)
                except errors.DeadlineExceeded:
                    state = pps_pb2.JobState.Name(self.c.pps.inspect_job(name).state)
                    raise AssertionError(self.fail(f"job {name} is stuck in {state}")) from None
        for info in self.c.pps.list_job():
            name = f"{info.job.pipeline.name}@{info.job.id}"
            state = pps_pb2.JobState.Name(info.state)
            assert info.state in (pps_pb2.JOB_SUCCESS, pps_pb2.JOB_KILLED), self.fail(
                f"job {name}: {state} {info.reason}"
            )
            if info.state != pps_pb2.JOB_SUCCESS or name in self.ledger.verified_jobs:
                continue
            done = info.data_processed + info.data_skipped + info.data_failed + info.data_recovered
            assert done == info.data_total, self.fail(f"job {name}: counters {done} != total {info.data_total}")
            if info.job.id not in self.ledger.dropped:  # its output commit went with the set
                self.output(name, info)
            self.ledger.verified_jobs.add(name)

    def output(self, name: str, info: pps_pb2.JobInfo) -> None:
        """The output commit holds exactly the outputs of the job's datums, one per input file."""
        datums = list(self.c.pps.list_datum(name))
        assert len(datums) == info.data_total, self.fail(f"job {name}: {len(datums)} datums of {info.data_total}")
        assert {d.state for d in datums} <= {pps_pb2.SUCCESS, pps_pb2.SKIPPED}, self.fail(f"job {name}: datum states")
        output = tree(self.c, name)
        if not datums:  # an empty input commit (the first upload's set was dropped)
            assert output == {}, self.fail(f"job {name}: output {sorted(output)} without datums")
            return
        inputs = {(d.data[0].file.commit.id, d.data[0].file.path) for d in datums}
        commits = {c for c, _ in inputs}
        assert len(commits) == 1, self.fail(f"job {name}: datums read {len(commits)} input commits")
        source = tree(self.c, f"data@{commits.pop()}")
        if info.job.pipeline.name == "count":
            assert output == {"/count": f"{len(source)}\n".encode()}, self.fail(f"job {name}: output {output}")
            return
        assert {p for _, p in inputs} == set(source), self.fail(f"job {name}: datums are not the input's files")
        expected = {p: data.upper() for p, data in source.items()}
        assert output == expected, self.fail(f"job {name}: output is not its datums' outputs")


def test_random_sigkills_lose_no_acknowledged_write_and_leave_nothing_stuck(
    tmp_path: Path, server_process: Callable[..., ServerProcess]
) -> None:
    seed = int(os.environ.get("TUSK_CRASH_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    marker = f"tusk-crash-{uuid.uuid4().hex}"
    ledger = Ledger(versions={"upper": 1})
    before_kill: set[tuple[int, float]] = set()

    for round_no in range(ROUNDS + 1):
        sp = server_process(data_dir=data_dir)
        # Started only once the engine killed what the last server left behind.
        survivors = [p for p in before_kill if alive(*p)]
        assert survivors == [], f"processes of the killed server survived: {survivors} (TUSK_CRASH_SEED={seed})"
        with sp.client() as c:
            if round_no == 0:
                c.pfs.create_repo("data")
                ledger.commits[("data", put_files(c, "data", {"/f0": b"first\n"}))] = {"/f0": sha(b"first\n")}
                c.pps.create_pipeline(upper_spec(marker, 0.05))
                c.pps.create_pipeline(count_spec(marker))
            check = Checker(c, ledger, seed)
            check.settle_in_flight()
            check.acknowledged_writes()
            check.jobs()
            # Every job is finished: no user process may be left (none of the killed server's,
            # none of a job that ended).
            assert marked_processes(marker) == [], check.fail("user processes outlived their jobs")
            if round_no == ROUNDS:
                break

            killed = threading.Event()

            def kill(sp: ServerProcess = sp, killed: threading.Event = killed) -> None:
                before_kill.clear()
                before_kill.update(process_tree(sp.proc.pid))
                killed.set()
                crash(sp)

            timer = threading.Timer(rng.uniform(0.1, 1.2), kill)
            timer.start()
            try:
                Round(c, ledger, rng, marker, killed).run_until_killed()
            finally:
                timer.join()
