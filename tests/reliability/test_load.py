"""Load: 50 concurrent clients while a 2,000-datum job runs.

Ten clients follow the job with WaitJob from before it starts to its end; forty loop over
ListJob, InspectJob, ListDatum (a page of 10) and puts to another repo, each pausing
``THINK`` seconds between calls (without a pause, forty closed loops saturate this machine's
two cores and the job itself slows down fourfold: see docs/operations.md).
Zero errors, every WaitJob stream gets its terminal message, the job's output is right, and
every acknowledged put is there. Throughput and p99 latency per call are printed (``-s``).
"""

from __future__ import annotations

import io
import itertools
import statistics
import tarfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.reliability.common import head
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

DATUMS = 2000
FOLLOWERS = 10
WORKERS = 40
THINK = 0.2
TERMINAL = {pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE, pps_pb2.JOB_KILLED, pps_pb2.JOB_UNRUNNABLE}


def test_fifty_clients_while_a_2000_datum_job_runs(
    tmp_path: Path, server_process: Callable[..., ServerProcess]
) -> None:
    (tmp_path / "nums").mkdir()
    # The real `tusk serve` in its own process (its default 1,024 RPC threads leave room for
    # every stream): in-process, the fifty client threads share the server's interpreter, which
    # here doubled to tripled the p50 latencies and slowed the job by 40%.
    server = server_process("--datum-workers", "2", "--file-url-dir", str(tmp_path / "nums"))
    with server.client() as admin:
        admin.pfs.create_repo("nums")
        admin.pfs.create_repo("scratch")
        admin.pps.create_pipeline(
            {
                "pipeline": {"name": "square"},
                "transform": {"cmd": ["sh", "-c", 'read n < "$nums"; echo $((n*n)) > "/pfs/out/$(basename "$nums")"']},
                "input": {"pfs": {"repo": "nums", "glob": "/*"}},
                "parallelism_spec": {"constant": 2},
            }
        )
        # One commit of 2,000 files, read by the server from this directory (AddFile file:// URL).
        for i in range(DATUMS):
            (tmp_path / "nums" / f"n{i:04d}").write_text(f"{i}\n")
        admin.pfs.put_file_url("nums@master", "/", f"file://{tmp_path / 'nums'}", recursive=True)
        commit = head(admin, "nums")
    job = f"square@{commit}"

    done = threading.Event()
    errors: list[str] = []
    latencies: dict[str, list[float]] = defaultdict(list)
    terminal: dict[int, pps_pb2.JobInfo] = {}
    puts: list[str] = []
    lock = threading.Lock()

    def timed(name: str, fn: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            fn()
        except Exception as exc:
            with lock:
                errors.append(f"{name}: {exc!r}")
            return
        with lock:
            latencies[name].append(time.perf_counter() - started)

    def follower(n: int) -> None:
        with server.client() as c:

            def reconnected(seq: int, err: Exception) -> None:
                with lock:
                    errors.append(f"WaitJob had to reconnect after seq {seq}: {err!r}")

            def follow() -> None:
                for response in c.pps.wait_job(job, heartbeat=1.0, on_reconnect=reconnected):
                    if response.HasField("job_info") and response.job_info.state in TERMINAL:
                        terminal[n] = response.job_info

            timed("WaitJob", follow)

    def worker(n: int) -> None:
        with server.client() as c:
            for k in itertools.count():
                if done.wait(THINK):
                    return
                op = (n + k) % 4
                if op == 0:
                    timed("ListJob", lambda: list(c.pps.list_job("square")))
                elif op == 1:
                    timed("InspectJob", lambda: c.pps.inspect_job(job))
                elif op == 2:
                    timed("ListDatum", lambda: list(c.pps.list_datum(job, page_size=10)))
                else:
                    path = f"/w{n:02d}/p{k:05d}"

                    def put(path: str = path) -> None:
                        c.pfs.put_file("scratch@master", path, path.encode())
                        with lock:
                            puts.append(path)

                    timed("PutFile", put)

    threads = [threading.Thread(target=follower, args=(n,)) for n in range(FOLLOWERS)]
    threads += [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    with server.client() as admin:
        [info] = admin.pps.wait_job_done(job)
        done.set()
        for t in threads:
            t.join(timeout=60)
        elapsed = time.perf_counter() - started
        assert not any(t.is_alive() for t in threads)

        assert errors == []
        assert sorted(terminal) == list(range(FOLLOWERS)), "every WaitJob stream ends with the terminal state"
        assert {j.state for j in terminal.values()} == {pps_pb2.JOB_SUCCESS}
        assert (info.state, info.data_processed, info.data_total) == (pps_pb2.JOB_SUCCESS, DATUMS, DATUMS)

        # The output is right: n -> n*n for every datum.
        blob = b"".join(admin.pfs.get_file_tar(f"square@{commit}", "/"))
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            output = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
        assert output == {f"n{i:04d}": f"{i * i}\n".encode() for i in range(DATUMS)}
        # Every acknowledged put is there.
        written = {f.file.path for f in admin.pfs.walk_file("scratch@master", "/") if f.file_type == 1}
        assert written == set(puts)

    calls = sum(len(v) for k, v in latencies.items() if k != "WaitJob")
    print(f"\n{DATUMS} datums in {elapsed:.1f}s; {calls} calls by {WORKERS} clients: {calls / elapsed:.0f} calls/s")
    for name, values in sorted(latencies.items()):
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"  {name:10} n={len(values):6} p50={statistics.median(values) * 1000:7.1f} ms  p99={p99 * 1000:7.1f} ms")
