"""A real Dask cluster for the tests: a scheduler process and `tusk worker` processes, each its
own process on 127.0.0.1, every port explicit (or a free one picked at runtime), the dashboard
off, every directory under the test's tmp dir; blobs on the session's SeaweedFS. Processes are
stopped by their PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.s3servers import CREDENTIALS, S3Server, free_port
from tuskd.blobs.base import BlobStore
from tuskd.engine.executor import WorkerSetup

if TYPE_CHECKING:
    from tuskd.engine.dask_executor import DaskExecutor

S3_ENV = {**CREDENTIALS, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
TUSK = str(Path(sys.executable).parent / "tusk")

# Runs `tusk worker` as if it were another tusk version (a fault injected for the version test).
OTHER_VERSION_WORKER = (
    "import sys, tuskd.engine.dask_common as c; c.tusk_version = lambda: '0.0.0-other'; "
    "from tusk.cli import main; main(sys.argv[1:])"
)


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {port} after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class WorkerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    work_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class DaskCluster:
    """A scheduler and the tusk workers started on it; ``blobs_url`` is the store they share."""

    root: Path
    s3: S3Server
    blobs_url: str
    port: int
    scheduler: subprocess.Popen[bytes]
    workers: list[WorkerProcess] = field(default_factory=list)
    tls: tuple[Path, Path, Path] | None = None
    """CA, certificate and key every party uses (one self-signed certificate in the tests)."""

    @property
    def address(self) -> str:
        return f"{'tls' if self.tls else 'tcp'}://127.0.0.1:{self.port}"

    @property
    def executor_url(self) -> str:
        if self.tls:
            ca, cert, key = self.tls
            return f"tls://127.0.0.1:{self.port}?ca={ca}&cert={cert}&key={key}"
        return f"dask://127.0.0.1:{self.port}"

    def security(self) -> Any:
        from tuskd.engine.dask_common import TlsFiles

        return None if self.tls is None else TlsFiles(*self.tls).security()

    def start_worker(self, slots: int = 2, *, other_version: bool = False, wait: bool = True) -> WorkerProcess:
        name = f"w{len(self.workers) + 1}"
        work_dir = self.root / name
        work_dir.mkdir(parents=True)
        log = self.root / f"{name}.log"
        args: Sequence[str] = [
            "worker", "--scheduler", self.address, "--blobs", self.blobs_url, "--cache-dir", str(work_dir),
            "--slots", str(slots), "--name", name, "--host", "127.0.0.1",
        ]  # fmt: skip
        if self.tls:
            args = [*args, "--tls-ca", str(self.tls[0]), "--tls-cert", str(self.tls[1]), "--tls-key", str(self.tls[2])]
        cmd = [sys.executable, "-c", OTHER_VERSION_WORKER, *args] if other_version else [TUSK, *args]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **S3_ENV}, cwd=self.root,
            )  # fmt: skip
        worker = WorkerProcess(name, proc, work_dir, log)
        self.workers.append(worker)
        if wait:
            self.wait_for_workers(len(self.workers))
        return worker

    def wait_for_workers(self, count: int, timeout: float = 60.0) -> None:
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=30, security=self.security()) as client:
            deadline = time.monotonic() + timeout
            while len(client.scheduler_info(n_workers=-1)["workers"]) < count:
                for w in self.workers:
                    if w.proc.poll() is not None:
                        raise RuntimeError(f"worker {w.name} exited:\n{w.log.read_text(errors='replace')[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"fewer than {count} workers joined after {timeout}s")
                time.sleep(0.1)

    def stop(self) -> None:
        for w in self.workers:
            _stop(w.proc)
        _stop(self.scheduler)


def start_cluster(
    root: Path, s3: S3Server, prefix: str, workers: int = 2, slots: int = 2, tls: tuple[Path, Path, Path] | None = None
) -> DaskCluster:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "scheduler.log"
    tls_args = [] if tls is None else ["--protocol", "tls", "--tls-ca-file", str(tls[0]), "--tls-cert", str(tls[1]),
                                       "--tls-key", str(tls[2])]  # fmt: skip
    with open(log, "wb") as out:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard", *tls_args],
            stdout=out, stderr=subprocess.STDOUT, cwd=root,
            env={**os.environ, "DASK_TEMPORARY_DIRECTORY": str(root)},
        )  # fmt: skip
    cluster = DaskCluster(root, s3, s3.url(prefix), port, scheduler, tls=tls)
    try:
        _wait_port(port, scheduler, log)
        for _ in range(workers):
            cluster.start_worker(slots, wait=False)
        cluster.wait_for_workers(workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def dask_cluster(tmp_path: Path, seaweedfs: S3Server) -> Iterator[DaskCluster]:
    """A scheduler and two `tusk worker` processes with 2 slots each, blobs on SeaweedFS."""
    cluster = start_cluster(tmp_path / "dask", seaweedfs, f"dask/{tmp_path.name}-{os.getpid()}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def shared_dask_cluster(tmp_path_factory: pytest.TempPathFactory, seaweedfs: S3Server) -> Iterator[DaskCluster]:
    """One cluster (two workers x 2 slots) for the tests of one module that only submit work (the
    executor contract); stopped after the module, so its idle workers do not load the rest of
    the suite."""
    root = tmp_path_factory.mktemp("dask-shared")
    cluster = start_cluster(root, seaweedfs, f"dask-shared/{root.name}-{os.getpid()}")
    try:
        yield cluster
    finally:
        cluster.stop()


def cluster_blobs(cluster: DaskCluster, cache_dir: Path) -> BlobStore:
    """The cluster's S3 blob store as the server sees it (its own cache)."""
    from tuskd.blobs.cache import BlobCache
    from tuskd.blobs.s3 import S3BlobStore
    from tuskd.config import parse_blobs_url

    location = parse_blobs_url(cluster.blobs_url)
    assert location is not None
    with _s3_env():
        return S3BlobStore(location, BlobCache(cache_dir, 1 << 30))


@contextlib.contextmanager
def _s3_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dask_executor(cluster: DaskCluster, slots: int) -> DaskExecutor:
    """A started DaskExecutor of ``slots`` on ``cluster``, prepared for a fresh engine."""
    from tuskd.engine.dask_common import parse_executor_url
    from tuskd.engine.dask_executor import DaskExecutor

    url = cluster.executor_url
    target = parse_executor_url(f"{url}{'&' if '?' in url else '?'}slots={slots}")
    assert target is not None
    executor = DaskExecutor(target)
    executor.start()
    executor.prepare(WorkerSetup(engine_id=f"contract-{secrets.token_hex(4)}"))
    return executor
