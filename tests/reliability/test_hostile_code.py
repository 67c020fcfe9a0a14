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
from tests.integration.test_engine import pid_alive
from tests.reliability.common import marked_processes, put_files
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
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == len(HOSTILE) + 1  # every script recorded one pid
    assert [p for p in recorded if pid_alive(p)] == []
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
