"""Shared steps of the benchmark cases: repos, files, pipelines and jobs through the real RPCs,
and a tusk server in its own process (for RSS figures).

Everything here goes through the public gRPC API (raw pfs stubs, the tusk client for pps), the
way a user's program would; nothing reaches into server internals.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import wrappers_pb2

import tusk
from bench.harness import peak_rss_bytes, rss_bytes
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = frozenset({pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE, pps_pb2.JOB_KILLED, pps_pb2.JOB_UNRUNNABLE})
MiB = 1 << 20


class BenchError(RuntimeError):
    """A case could not measure what it should (an API missing, broken or wrong): fail loudly."""


# -- pfs ------------------------------------------------------------------------------------


def repo_msg(name: str) -> pfs_pb2.Repo:
    return pfs_pb2.Repo(name=name, type="user")


def branch_commit(repo: str, branch: str = "master") -> pfs_pb2.Commit:
    return pfs_pb2.Commit(branch=pfs_pb2.Branch(repo=repo_msg(repo), name=branch))


def id_commit(repo: str, commit_id: str) -> pfs_pb2.Commit:
    return pfs_pb2.Commit(repo=repo_msg(repo), id=commit_id)


def pfs(client: tusk.Client) -> pfs_pb2_grpc.APIStub:
    return pfs_pb2_grpc.APIStub(client.channel)


def create_repo(client: tusk.Client, name: str) -> None:
    pfs(client).CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo_msg(name)), timeout=30)


def put_files(
    client: tusk.Client,
    repo: str,
    files: Iterable[tuple[str, bytes]],
    commit: pfs_pb2.Commit | None = None,
    replace: bool = False,
) -> None:
    """One ModifyFile stream adding ``files``; to the branch head (a commit of its own) unless
    ``commit`` names an open commit. A raw AddFile appends: ``replace`` deletes each path first."""

    def requests() -> Iterator[pfs_pb2.ModifyFileRequest]:
        yield pfs_pb2.ModifyFileRequest(set_commit=commit or branch_commit(repo))
        for path, data in files:
            if replace:
                yield pfs_pb2.ModifyFileRequest(delete_file=pfs_pb2.DeleteFile(path=path))
            yield pfs_pb2.ModifyFileRequest(
                add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=data))
            )

    pfs(client).ModifyFile(requests(), timeout=600)


def start_commit(client: tusk.Client, repo: str) -> str:
    commit = pfs(client).StartCommit(
        pfs_pb2.StartCommitRequest(branch=pfs_pb2.Branch(repo=repo_msg(repo), name="master")), timeout=30
    )
    return str(commit.id)


def finish_commit(client: tusk.Client, repo: str, commit_id: str) -> None:
    pfs(client).FinishCommit(pfs_pb2.FinishCommitRequest(commit=id_commit(repo, commit_id)), timeout=30)


def head_id(client: tusk.Client, repo: str) -> str:
    info = pfs(client).InspectCommit(pfs_pb2.InspectCommitRequest(commit=branch_commit(repo)), timeout=30)
    return str(info.commit.id)


# -- pps ------------------------------------------------------------------------------------


def pipeline_spec(
    name: str, repo: str, cmd: Sequence[str], *, glob: str = "/*", parallelism: int = 1, **extra: Any
) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "transform": {"cmd": list(cmd)},
        "input": {"pfs": {"repo": repo, "glob": glob}},
        "parallelism_spec": {"constant": parallelism},
        **extra,
    }


def gate_cmd(repo: str) -> list[str]:
    """A datum command that blocks until the file named by its input file's content exists:
    a job held RUNNING until the bench opens the gate (creates that file)."""
    return ["sh", "-c", f'g=$(cat "${repo}"); while [ ! -e "$g" ]; do sleep 0.005; done']


def newest_job(client: tusk.Client, pipeline: str) -> pps_pb2.JobInfo:
    jobs = list(client.pps.list_job(pipeline, number=1))
    if not jobs:
        raise BenchError(f"pipeline {pipeline} has no job: ListJob returned nothing")
    return jobs[0]


def wait_done(client: tusk.Client, job: str, expect: int = pps_pb2.JOB_SUCCESS) -> pps_pb2.JobInfo:
    """Follow WaitJob to the job's terminal message; BenchError unless it ends in ``expect``."""
    last = None
    for response in client.pps.wait_job(job, heartbeat=5.0):
        if response.HasField("job_info"):
            last = response.job_info
    if last is None or last.state not in TERMINAL:
        raise BenchError(f"WaitJob({job}) ended without a terminal message (last: {last})")
    if last.state != expect:
        raise BenchError(
            f"job {job} ended {pps_pb2.JobState.Name(last.state)}, expected {pps_pb2.JobState.Name(expect)}: "
            f"{last.reason}"
        )
    return last


class TerminalWatch:
    """A WaitJob stream followed on a thread, opened before the change that should end the job,
    so the arrival time of the terminal message is taken as it arrives (not when we look)."""

    def __init__(self, client: tusk.Client, job: str) -> None:
        self.job = job
        self.info: pps_pb2.JobInfo | None = None
        self.at: float | None = None
        self.error: BaseException | None = None
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(client,), daemon=True)
        self._thread.start()
        if not self._first.wait(30):
            raise BenchError(f"WaitJob({job}) sent no first message within 30 s")
        if self.error is not None:
            raise BenchError(f"WaitJob({job}) failed: {self.error}")

    def _run(self, client: tusk.Client) -> None:
        try:
            for response in client.pps.wait_job(self.job, heartbeat=5.0):
                self._first.set()
                if response.HasField("job_info") and response.job_info.state in TERMINAL:
                    self.at = time.perf_counter()
                    self.info = response.job_info
        except BaseException as exc:  # reported by result()
            self.error = exc
        finally:
            self._first.set()

    def result(self, timeout: float = 600) -> tuple[pps_pb2.JobInfo, float]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise BenchError(f"WaitJob({self.job}) still open after {timeout} s")
        if self.error is not None:
            raise BenchError(f"WaitJob({self.job}) failed: {self.error}")
        if self.info is None or self.at is None:
            raise BenchError(f"WaitJob({self.job}) ended without a terminal message")
        if self.info.state != pps_pb2.JOB_SUCCESS:
            raise BenchError(f"job {self.job} ended {pps_pb2.JobState.Name(self.info.state)}: {self.info.reason}")
        return self.info, self.at


def timed_commit_job(
    client: tusk.Client,
    repo: str,
    pipelines: Sequence[str],
    files: Sequence[tuple[str, bytes]] = (),
    replace: bool = False,
) -> float:
    """Seconds from FinishCommit of a new input commit (holding ``files``) to the SUCCESS message
    of the job of the last of ``pipelines`` in that commit set (the upload is not timed)."""
    commit_id = start_commit(client, repo)
    if files:
        put_files(client, repo, files, commit=id_commit(repo, commit_id), replace=replace)
    watch = TerminalWatch(client, f"{pipelines[-1]}@{commit_id}")
    t0 = time.perf_counter()
    finish_commit(client, repo, commit_id)
    _info, at = watch.result()
    return at - t0


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def bare_true_seconds(n: int) -> float:
    """Median wall time of ``subprocess.run(["true"])``: the user code's own cost."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(["true"], check=True)
        samples.append(time.perf_counter() - t0)
    return median(samples)


# -- a server in its own process ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProc:
    proc: subprocess.Popen[bytes]
    address: str
    data_dir: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def peak_rss(self) -> int:
        return peak_rss_bytes(self.pid)

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux clear_refs 5), so peak growth is per phase."""
        with open(f"/proc/{self.pid}/clear_refs", "w") as fh:
            fh.write("5")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextmanager
def server_process(data_dir: Path | None = None, **config: Any) -> Iterator[ServerProc]:
    """``bench/serve_proc.py`` (tusk's own ``serve`` with any ServerConfig field) as a child
    process on a free port; stopped with SIGTERM (SIGKILL if it hangs) on exit."""
    with tempfile.TemporaryDirectory(prefix="tusk-bench-proc-") as tmp:
        data = data_dir or Path(tmp) / "data"
        log_path = Path(tmp) / "server.log"
        address = f"127.0.0.1:{free_port()}"
        args = [sys.executable, str(ROOT / "bench" / "serve_proc.py"), "--address", address, "--data-dir", str(data)]
        for name, value in config.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        sp = ServerProc(proc, address, data, log_path)
        try:
            _wait_serving(sp)
            yield sp
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)


def _wait_serving(sp: ServerProc) -> None:
    deadline = time.monotonic() + 60
    with tusk.Client(sp.address) as c:
        while True:
            try:
                if c.health(timeout=1) == "SERVING":
                    return
            except tusk.TuskError:
                pass
            if sp.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"bench server did not start:\n{sp.log()}")
            time.sleep(0.05)


def channel_options() -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", 64 * MiB), ("grpc.max_send_message_length", 64 * MiB)]


def raw_channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(address, options=channel_options())


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


@dataclass
class BareProc:
    address: str
    pid: int

    def rss(self) -> int:
        return rss_bytes(self.pid)


@contextmanager
def bare_process(
    method: str, payload: bytes = b"", *extra: str, table: Sequence[tuple[bytes, bytes]] | None = None
) -> Iterator[BareProc]:
    """``bench/bare_proc.py`` (a grpcio server answering ``payload`` to ``method``, or per request
    the answer ``table`` gives for its bytes; no tusk code; ``extra`` flags e.g. for its fan-out
    shape) as a child process; yields it once it accepts connections."""
    from bench.bare_proc import write_table

    with tempfile.TemporaryDirectory(prefix="tusk-bench-bare-") as tmp:
        if table is not None:
            write_table(Path(tmp) / "table.bin", list(table))
            source = ["--table", str(Path(tmp) / "table.bin")]
        else:
            (Path(tmp) / "payload.bin").write_bytes(payload)
            source = ["--payload", str(Path(tmp) / "payload.bin")]
        address = f"127.0.0.1:{free_port()}"
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "bare_proc.py"), "--address", address, "--method", method,
             *source, *extra],
        )  # fmt: skip
        try:
            with grpc.insecure_channel(address) as ch:
                try:
                    grpc.channel_ready_future(ch).result(timeout=30)
                except grpc.FutureTimeoutError:
                    raise BenchError("the bare grpcio server did not start") from None
            yield BareProc(address, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


def thread_count(pid: int) -> int:
    """Threads of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0
