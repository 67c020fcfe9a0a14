"""Setting up datums on Dask: `tusk serve --executor` refuses what cannot work (workers of
another tusk version only, a local blob store, plain TCP off loopback) with one clear line, and
`tusk worker` refuses plain TCP to a scheduler off loopback unless told --insecure.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.daskcluster import S3_ENV, TUSK, DaskCluster, start_cluster
from tests.s3servers import S3Server
from tuskd.domain.errors import InvalidArgument
from tuskd.engine.dask_common import check_address, parse_executor_url

pytestmark = pytest.mark.timeout(180)


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TUSK, "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True, text=True, timeout=120, env={**S3_ENV, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_the_server_refuses_a_cluster_with_workers_of_another_version_only(tmp_path: Path, seaweedfs: S3Server) -> None:
    cluster: DaskCluster = start_cluster(tmp_path / "dask", seaweedfs, f"versions/{tmp_path.name}", workers=0)
    try:
        cluster.start_worker(1, other_version=True)
        done = _serve(tmp_path, "--blobs", cluster.blobs_url, "--executor", f"{cluster.executor_url}?wait=2")
        assert done.returncode != 0
        assert "no tusk worker of version" in done.stderr, done.stderr
        assert "tusk 0.0.0-other" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    finally:
        cluster.stop()


def test_the_dask_executor_needs_blobs_on_s3(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--executor", "dask://127.0.0.1:1")
    assert done.returncode != 0
    assert "--blobs s3://" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_plain_tcp_off_loopback_is_refused_unless_insecure(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="--insecure"):
        check_address("tcp://10.1.2.3:8786", insecure=False, what="--scheduler")
    assert check_address("10.1.2.3:8786", insecure=True, what="--scheduler") == "tcp://10.1.2.3:8786"
    assert check_address("tls://10.1.2.3:8786", insecure=False, what="--scheduler") == "tls://10.1.2.3:8786"
    assert check_address("localhost:8786", insecure=False, what="--scheduler") == "tcp://localhost:8786"
    with pytest.raises(InvalidArgument, match="insecure"):
        parse_executor_url("dask://10.1.2.3:8786")
    with pytest.raises(InvalidArgument, match="ca=FILE"):
        parse_executor_url("tls://10.1.2.3:8786?cert=c.pem")
    done = subprocess.run(
        [TUSK, "worker", "--scheduler", "10.1.2.3:8786", "--blobs", "s3://b/p", "--cache-dir", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "--insecure" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_datums_run_over_tls_with_certificates_from_files(tmp_path: Path, seaweedfs: S3Server) -> None:
    from tests.daskcluster import dask_executor
    from tests.integration.test_security import _self_signed
    from tuskd.engine.datum_work import DatumOutcome, DatumTask, new_nonce

    cert, key = _self_signed(tmp_path)
    cluster = start_cluster(
        tmp_path / "dask", seaweedfs, f"tls/{tmp_path.name}", workers=1, slots=1, tls=(cert, cert, key)
    )
    try:
        assert cluster.executor_url.startswith("tls://")
        executor = dask_executor(cluster, 1)
        try:
            batch = executor.open_batch("tls", 1)
            task = DatumTask("default", "p", "j", "d1", new_nonce(), ("sh", "-c", "echo over tls"), tries=1)
            assert batch.submit([task])
            [(nonce, result)] = list(batch)
            assert (nonce, result.outcome, result.log) == (task.nonce, DatumOutcome.SUCCESS, b"over tls\n")
        finally:
            executor.stop()
    finally:
        cluster.stop()
