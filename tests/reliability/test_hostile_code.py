"""Hostile user code: hangs, daemons, stdout floods and suicide by signal, on a real server.

Each input file of the ``hostile`` pipeline is a shell script that the datum sources (so ``$$``
is the datum's main process). Every datum fails with a precise reason (or, for the daemon that
the main process leaves behind on a clean exit, succeeds), and when the jobs end no process any
datum started is alive: they are found by a unique marker in ``transform.env``, which every
child inherits. The server's memory stays flat while datums push gigabytes through stdout, and
each datum's log on disk stays within its bound.
"""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path

import psutil
import pytest

import tusk
from tests.conftest import RunningServer
from tests.reliability.common import marked_processes, put_files, wait_for
from tusk.proto.pps_v2 import pps_pb2
from tuskd.engine.logs import DEFAULT_LOG_LIMIT

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

TIMEOUT = "timed out after 2s (attempt 1 of 1)"

HOSTILE = {
    # hangs: datum_timeout kills it
    "/hang": ('echo $$ >> "$PIDS"; sleep 1000', TIMEOUT),
    # a daemon in the background while the main process hangs
    "/fork": ('sleep 1000 & echo $! >> "$PIDS"; sleep 1000', TIMEOUT),
    # a daemon that leaves the process group (its own session) while the main process hangs
    "/setsid-hang": ('setsid sleep 1000 & echo $! >> "$PIDS"; sleep 1000', TIMEOUT),
    # floods stdout for as long as it may (~2 GB in 2 s on this machine)
    "/yes": ('echo $$ >> "$PIDS"; yes', TIMEOUT),
    # kills itself with SIGKILL
    "/signal": ('echo $$ >> "$PIDS"; kill -9 $$', "killed by signal 9 (attempt 1 of 1)"),
    # a clean exit that leaves a setsid daemon behind: the datum succeeds, the daemon dies with it
    "/daemon": ('setsid sleep 1000 & echo $! >> "$PIDS"; sleep 0.3; exit 0', ""),
}
FLOOD = ('echo $$ >> "$PIDS"; head -c 2G /dev/zero; exit 3', "exit code 3 (attempt 1 of 1)")


class RssSampler:
    """Peak resident memory of this process (it hosts the server) while it runs."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.baseline = self.proc.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _reasons(client: tusk.Client, job: str) -> dict[str, tuple[str, str]]:
    """input path -> (datum state, reason) for every datum of a job."""
    out = {}
    for d in client.pps.list_datum(job):
        out[d.data[0].file.path] = (d.state, d.reason)
    return out


def test_hostile_datums_fail_precisely_and_leave_nothing_running(make_server: object, tmp_path: Path) -> None:
    server: RunningServer = make_server(datum_workers=8)  # type: ignore[operator]
    marker = f"tusk-hostile-{uuid.uuid4().hex}"
    pids = tmp_path / "pids"
    env = {"MARK": marker, "PIDS": str(pids)}
    with server.client() as client:
        client.pfs.create_repo("scripts")
        client.pfs.create_repo("floods")
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "hostile"},
                "transform": {"cmd": ["sh", "-c", '. "$scripts"'], "env": env},
                "input": {"pfs": {"repo": "scripts", "glob": "/*"}},
                "datum_timeout": "2s",
                "datum_tries": 1,
                "parallelism_spec": {"constant": len(HOSTILE)},
            }
        )
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "flood"},
                "transform": {"cmd": ["sh", "-c", '. "$floods"'], "env": env},
                "input": {"pfs": {"repo": "floods", "glob": "/*"}},
                "datum_tries": 1,
            }
        )
        with RssSampler() as rss:
            hostile_id = put_files(client, "scripts", {p: s.encode() for p, (s, _) in HOSTILE.items()})
            flood_id = put_files(client, "floods", {"/zeros": FLOOD[0].encode()})
            [hostile] = client.pps.wait_job_done(f"hostile@{hostile_id}")
            [flood] = client.pps.wait_job_done(f"flood@{flood_id}")

        # Precise reasons, per datum and for the jobs (the lowest failed datum ID is named).
        got = _reasons(client, f"hostile@{hostile_id}")
        assert {p: r for p, (_, r) in got.items()} == {p: r for p, (_, r) in HOSTILE.items()}
        assert {p: s for p, (s, _) in got.items()} == {
            p: pps_pb2.SUCCESS if p == "/daemon" else pps_pb2.FAILED for p in HOSTILE
        }
        client_datums = list(client.pps.list_datum(f"hostile@{hostile_id}"))
        failed = sorted((d.datum.id, d.reason) for d in client_datums if d.state == pps_pb2.FAILED)
        assert hostile.state == pps_pb2.JOB_FAILURE
        assert hostile.reason == f"datum {failed[0][0]} failed: {failed[0][1]}"
        assert flood.state == pps_pb2.JOB_FAILURE
        [zeros] = client.pps.list_datum(f"flood@{flood_id}")
        assert flood.reason == f"datum {zeros.datum.id} failed: {FLOOD[1]}"

    # Nothing any datum started is still running: main processes, children, setsid daemons.
    # (The pids user code recorded are those of its own PID namespace: the marker finds them.)
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == len(HOSTILE) + 1  # every script recorded one pid
    assert marked_processes(marker) == []

    # Memory and disk stay bounded although gigabytes went through stdout.
    grown = (rss.peak - rss.baseline) / 2**20
    assert grown < 64, f"server RSS grew by {grown:.0f} MiB during the floods"
    logs = server.config.data_dir / "logs" / "default"
    sizes = {str(p.relative_to(logs)): p.stat().st_size for p in logs.rglob("*.log")}
    assert max(sizes.values()) <= DEFAULT_LOG_LIMIT, sizes
    yes_id = next(d.datum.id for d in client_datums if d.data[0].file.path == "/yes")
    written = {}
    for name, log_file in (
        ("zeros", logs / "flood" / flood_id / f"{zeros.datum.id}.log"),
        ("yes", logs / "hostile" / hostile_id / f"{yes_id}.log"),
    ):
        data = log_file.read_bytes()
        assert DEFAULT_LOG_LIMIT - 1024 < len(data) <= DEFAULT_LOG_LIMIT
        elided = re.search(rb"\n\[tusk: (\d+) bytes of output elided\]\n", data)
        assert elided is not None
        written[name] = int(elided.group(1)) + len(data) - len(elided.group(0))
        print(f"{name}: {written[name] / 2**30:.2f} GiB through stdout, {len(data)} bytes kept")
    assert written["zeros"] == 2**31  # every byte went through the pipe, 1 MiB of it kept
    assert written["yes"] > 100 * 2**20  # as much as it could in 2 s (~0.4-2 GiB here)
    print(f"server RSS {rss.baseline / 2**20:.0f} MiB before, peak {rss.peak / 2**20:.0f} MiB during the floods")


# -- what user code leaves in /pfs/out ----------------------------------------------------------

REGULAR = "outputs must be regular files or directories"


def _run_scripts(client: tusk.Client, name: str, scripts: dict[str, str], **spec: object) -> pps_pb2.JobInfo:
    """A pipeline ``name`` whose datums each source one script; its first job, once done."""
    client.pfs.create_repo(f"{name}-in")
    client.pps.create_pipeline(
        {
            "pipeline": {"name": name},
            "transform": {"cmd": ["sh", "-c", '. "$script"']},
            "input": {"pfs": {"repo": f"{name}-in", "name": "script", "glob": "/*"}},
            "datum_tries": 1,
            **spec,
        }
    )
    commit = put_files(client, f"{name}-in", {p: s.encode() for p, s in scripts.items()})
    [job] = client.pps.wait_job_done(f"{name}@{commit}")
    return job


def test_links_and_special_files_in_out_fail_the_datum_and_are_never_read(server: RunningServer, tmp_path: Path) -> None:
    """A symlink (to a secret, to a directory, to /proc/kmsg whose read blocks), a FIFO or a
    socket in /pfs/out is a datum failure naming the entry; nothing is followed or opened."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"the server's secret")
    scripts = {
        "/kmsg": "ln -s /proc/kmsg /pfs/out/k",
        "/secret": f"echo fine > /pfs/out/a; mkdir /pfs/out/d; ln -s {secret} /pfs/out/d/s",
        "/dirlink": "ln -s / /pfs/out/root",
        "/fifo": "mkfifo /pfs/out/f",
        "/socket": "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"/pfs/out/s\")'",
        "/ok": "mkdir -p /pfs/out/x/empty; echo hi > /pfs/out/x/ok",
    }
    with server.client() as client:
        job = _run_scripts(client, "links", scripts)
        got = _reasons(client, f"links@{job.job.id}")
        assert got == {
            "/kmsg": (pps_pb2.FAILED, f"output /k is a symbolic link: {REGULAR} (attempt 1 of 1)"),
            "/secret": (pps_pb2.FAILED, f"output /d/s is a symbolic link: {REGULAR} (attempt 1 of 1)"),
            "/dirlink": (pps_pb2.FAILED, f"output /root is a symbolic link: {REGULAR} (attempt 1 of 1)"),
            "/fifo": (pps_pb2.FAILED, f"output /f is a FIFO: {REGULAR} (attempt 1 of 1)"),
            "/socket": (pps_pb2.FAILED, f"output /s is a socket: {REGULAR} (attempt 1 of 1)"),
            "/ok": (pps_pb2.SUCCESS, ""),
        }
        assert job.state == pps_pb2.JOB_FAILURE
    # Nothing was followed: the secret is in no blob (the job failed, its commit holds nothing).
    blobs = [p for p in (server.config.data_dir / "blobs" / "objects").rglob("*") if p.is_file()]
    assert [p for p in blobs if p.read_bytes() == secret.read_bytes()] == []


def test_output_size_limit_fails_the_datum_before_reading(make_server: object) -> None:
    """Apparent sizes (sparse files included) count against the per-datum limit, summed over
    the datum's files; a datum over it fails at once with a reason naming the limit."""
    server: RunningServer = make_server(datum_output_limit=1 << 30)  # type: ignore[operator]
    scripts = {
        "/sparse": "truncate -s 8T /pfs/out/x",  # hours to read, and more than the disk holds
        "/two": "truncate -s 600M /pfs/out/a; truncate -s 600M /pfs/out/b",
        "/under": "truncate -s 1M /pfs/out/small",
    }
    over = "outputs exceed the per-datum limit of 1 GiB (datum_output_limit, tusk serve --datum-output-limit)"
    with server.client() as client:
        job = _run_scripts(client, "sizes", scripts)
        got = _reasons(client, f"sizes@{job.job.id}")
        assert got == {
            "/sparse": (pps_pb2.FAILED, f"{over}: 8 TiB in 1 file (attempt 1 of 1)"),
            "/two": (pps_pb2.FAILED, f"{over}: 1.17 GiB in 2 files (attempt 1 of 1)"),
            "/under": (pps_pb2.SUCCESS, ""),
        }
    # Nothing over the limit was read into the blob store.
    sizes = [p.stat().st_size for p in (server.config.data_dir / "blobs").rglob("*") if p.is_file()]
    assert max(sizes) <= 1 << 20


def test_datum_timeout_bounds_output_collection(make_server: object) -> None:
    """Reading outputs counts against datum_timeout: a 4 TiB sparse file (hours to read) fails
    the datum when the timeout runs out."""
    server: RunningServer = make_server(datum_output_limit=1 << 50)  # type: ignore[operator]
    with server.client() as client:
        job = _run_scripts(client, "slow-out", {"/big": "truncate -s 4T /pfs/out/x"}, datum_timeout="2s")
        assert _reasons(client, f"slow-out@{job.job.id}") == {
            "/big": (pps_pb2.FAILED, "timed out after 2s while collecting outputs (attempt 1 of 1)")
        }
        assert job.state == pps_pb2.JOB_FAILURE


def test_job_timeout_and_stop_job_interrupt_output_collection(make_server: object) -> None:
    """job_timeout and StopJob reach a datum whose outputs are being read: the job ends KILLED."""
    server: RunningServer = make_server(datum_output_limit=1 << 50)  # type: ignore[operator]
    with server.client() as client:
        job = _run_scripts(client, "job-timeout", {"/big": "truncate -s 4T /pfs/out/x"}, job_timeout="3s")
        assert job.state == pps_pb2.JOB_KILLED
        assert job.reason == "job timed out after 3s"

        client.pfs.create_repo("stop-in")
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "stop"},
                "transform": {"cmd": ["sh", "-c", "truncate -s 4T /pfs/out/x"]},
                "input": {"pfs": {"repo": "stop-in", "glob": "/*"}},
            }
        )
        commit = put_files(client, "stop-in", {"/a": b"a"})
        blob_tmp = server.config.data_dir / "blobs" / "tmp"
        wait_for(lambda: any(p.stat().st_size > 0 for p in blob_tmp.iterdir()), what="output collection to start")
        client.pps.stop_job(f"stop@{commit}")
        [stopped] = client.pps.wait_job_done(f"stop@{commit}")
        assert stopped.state == pps_pb2.JOB_KILLED
        wait_for(lambda: not any(blob_tmp.iterdir()), what="the partial blob to be removed")
