"""A tusk server whose blobs live on S3: `tusk serve --blobs s3://...` on a real SeaweedFS runs
PutFile, GetFile and a pipeline job (inputs from the cache, outputs and egress through S3); S3
faults injected with moto reach clients as UNAVAILABLE, never INTERNAL; a bad --blobs stops
start-up with one clear line; and the default install never imports boto3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

import tusk
from tests.conftest import REPO_ROOT, RunningServer, ServerProcess, stop_server
from tests.s3servers import CREDENTIALS, REGION, FaultSwitch, S3Server
from tuskd.config import S3Location

pytestmark = pytest.mark.timeout(120)

MiB = 1024 * 1024
S3_ENV = {**CREDENTIALS, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}


def _keys(server: S3Server, prefix: str) -> set[str]:
    listing = server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix + "/")
    return {item["Key"].rsplit("/", 1)[-1] for item in listing.get("Contents", [])}


def test_files_and_a_pipeline_job_on_seaweedfs(
    seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    prefix = f"serve/{uuid.uuid4().hex}"
    data_dir = tmp_path / "data"
    exports = tmp_path / "exports"
    exports.mkdir()
    sp = server_process("--blobs", seaweedfs.url(prefix), "--file-url-dir", str(exports), data_dir=data_dir, env=S3_ENV)
    big = os.urandom(3 * MiB + 5)
    egress = tmp_path / "egress"
    with sp.client() as c:
        c.pfs.create_repo("words")
        with c.pfs.modify_file("words@master") as mf:
            mf.put_file("/a.txt", b"alpha")
            mf.put_file("/b.txt", b"bravo")
            mf.put_file("/big.bin", big)
        assert c.pfs.get_file_bytes("words@master", "/a.txt") == b"alpha"
        assert c.pfs.get_file_bytes("words@master", "/big.bin") == big
        c.pps.create_pipeline(
            {
                "pipeline": {"name": "upper"},
                "transform": {
                    "cmd": ["sh", "-c", 'for f in /pfs/words/*; do tr a-z A-Z < "$f" > /pfs/out/$(basename "$f"); done']
                },
                "input": {"pfs": {"repo": "words", "glob": "/*"}},
                "egress": {"URL": f"file://{egress}"},
            }
        )
        jobs = c.pps.wait_job_done("upper@" + c.pfs.inspect_branch("upper@master").head.id)
        assert [j.state for j in jobs] == [tusk.proto.pps_v2.pps_pb2.JOB_SUCCESS], jobs[-1].reason
        assert c.pfs.get_file_bytes("upper@master", "/a.txt") == b"ALPHA"
        assert c.pfs.get_file_bytes("upper@master", "/b.txt") == b"BRAVO"
        assert c.pfs.get_file_bytes("upper@master", "/big.bin") == big.upper()
        # the Egress RPC streams blobs from the store too
        assert c.pfs.egress("words@master", f"file://{exports}/words") == len(big) + 10
    assert (exports / "words" / "big.bin").read_bytes() == big
    assert (egress / "a.txt").read_bytes() == b"ALPHA"
    assert (egress / "big.bin").read_bytes() == big.upper()
    # Every blob is an object named by its sha256 under the prefix; none is in the data dir.
    import hashlib

    expected = {hashlib.sha256(d).hexdigest() for d in (b"alpha", b"bravo", big, b"ALPHA", b"BRAVO", big.upper())}
    assert expected <= _keys(seaweedfs, prefix)
    assert not (data_dir / "blobs").exists()
    assert expected <= {p.name for p in (data_dir / "blob-cache" / "objects").iterdir()}


def _moto_config(moto_s3: S3Server, prefix: str) -> S3Location:
    return S3Location(
        bucket=moto_s3.bucket, prefix=prefix, endpoint=moto_s3.endpoint, region=REGION, max_attempts=2, timeout=5
    )


def test_s3_failures_reach_the_client_as_unavailable(
    moto_s3: S3Server,
    s3_faults: FaultSwitch,
    make_server: Callable[..., RunningServer],
    aws_credentials: None,
    tmp_path: Path,
) -> None:
    location = _moto_config(moto_s3, f"faults/{uuid.uuid4().hex}")
    first = make_server(blobs_s3=location, blob_cache_dir=tmp_path / "cache1")
    with first.client() as c:
        c.pfs.create_repo("r")
        c.pfs.put_file("r@master", "/kept.txt", b"stored before the outage")
        s3_faults.status = 500
        with pytest.raises(tusk.errors.Unavailable, match="is unavailable: HTTP 500") as caught:
            c.pfs.put_file("r@master", "/lost.txt", b"written during the outage")
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE
        assert "check that the S3 server is up" in str(caught.value)
        # what the cache holds is still served
        assert c.pfs.get_file_bytes("r@master", "/kept.txt") == b"stored before the outage"
        s3_faults.clear()
    stop_server(first)

    # The same metadata with an empty cache: every read has to go to S3.
    second = make_server(blobs_s3=location, blob_cache_dir=tmp_path / "cache2")
    with second.client() as c:
        s3_faults.status = 503
        with pytest.raises(tusk.errors.Unavailable) as caught:
            c.pfs.get_file_bytes("r@master", "/kept.txt")
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE
        s3_faults.clear()
        assert c.pfs.get_file_bytes("r@master", "/kept.txt") == b"stored before the outage"
        with pytest.raises(tusk.errors.NotFound):
            c.pfs.get_file_bytes("r@master", "/lost.txt")


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tusk", "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **S3_ENV, **(env or {})},
        cwd=REPO_ROOT,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://bucket/x", "unknown scheme 'ftp'"),
        ("s3://", "the bucket name is missing"),
        ("s3://key:secret@bucket/p", "credentials never go in the URL"),
        ("s3://bucket/p?endpoint=127.0.0.1:9000", "is not an http(s)://HOST[:PORT] URL"),
        ("s3://bucket/p?colour=blue", "unknown option 'colour'"),
        ("s3://bucket/p?max_attempts=0", "max_attempts must be >= 1"),
    ],
)
def test_a_bad_blobs_url_stops_start_up_with_one_clear_line(tmp_path: Path, url: str, message: str) -> None:
    result = _serve(tmp_path, "--blobs", url)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_bucket_stops_start_up(seaweedfs: S3Server, tmp_path: Path) -> None:
    url = f"s3://no-bucket-{uuid.uuid4().hex[:8]}/p?endpoint={seaweedfs.endpoint}&region={REGION}"
    result = _serve(tmp_path, "--blobs", url)
    assert result.returncode != 0
    assert "does not exist: create it" in result.stderr
    assert "Traceback" not in result.stderr


def test_tusk_blobs_env_selects_s3_and_the_cache_flags_place_the_cache(
    seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    import hashlib

    prefix = f"env/{uuid.uuid4().hex}"
    cache = tmp_path / "my-cache"
    sp = server_process(
        "--blob-cache-dir",
        str(cache),
        "--blob-cache-bytes",
        "1000",
        env={**S3_ENV, "TUSK_BLOBS": seaweedfs.url(prefix)},
    )
    small, large = b"via TUSK_BLOBS", os.urandom(5000)
    with sp.client() as c:
        c.pfs.create_repo("r")
        c.pfs.put_file("r@master", "/small", small)
        c.pfs.put_file("r@master", "/large", large)  # bigger than the whole cache
        assert c.pfs.get_file_bytes("r@master", "/large") == large
        assert c.pfs.get_file_bytes("r@master", "/small") == small  # fetched back into the cache
    assert {hashlib.sha256(small).hexdigest(), hashlib.sha256(large).hexdigest()} <= _keys(seaweedfs, prefix)
    # the cache is where the flag says, and within its 1000 bytes once nothing is in use
    assert [p.name for p in (cache / "objects").iterdir()] == [hashlib.sha256(small).hexdigest()]


def test_the_default_install_never_imports_boto3(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tuskd.config import ServerConfig\n"
        "from tuskd.wiring import open_deps\n"
        f"deps = open_deps(ServerConfig(address='127.0.0.1:0', data_dir=Path({str(tmp_path / 'd')!r})))\n"
        "deps.close()\n"
        "import tusk.cli\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')], 'boto3 was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=REPO_ROOT)


def test_fsck_reads_the_bucket_and_damaged_objects_are_data_loss(
    seaweedfs: S3Server, make_server: Callable[..., RunningServer], aws_credentials: None, tmp_path: Path
) -> None:
    import hashlib

    prefix = f"fsck/{uuid.uuid4().hex}"
    location = S3Location(bucket=seaweedfs.bucket, prefix=prefix, endpoint=seaweedfs.endpoint, region=REGION)
    server = make_server(blobs_s3=location, blob_cache_dir=tmp_path / "cache")
    blob = hashlib.sha256(b"pristine").hexdigest()
    with server.client() as c:
        c.pfs.create_repo("r")
        c.pfs.put_file("r@master", "/f.txt", b"pristine")
        c.pfs.put_file("r@master", "/g.txt", b"healthy")
        assert list(c.pfs.fsck()) == []
        # The object changes in the bucket (its length kept) while the cache holds the good copy.
        seaweedfs.client().put_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/sha256/{blob}", Body=b"PRISTINE")
        problems = list(c.pfs.fsck())
        assert len(problems) == 1 and blob in problems[0] and "/f.txt" in problems[0]
        assert problems[0].endswith("is corrupt: its content no longer matches its hash")
        assert c.pfs.get_file_bytes("r@master", "/f.txt") == b"pristine"  # the checked cached copy
    stop_server(server)
    # Another server on the same metadata with an empty cache: the damage is DATA_LOSS.
    cold = make_server(blobs_s3=location, blob_cache_dir=tmp_path / "cold")
    with cold.client() as c:
        with pytest.raises(tusk.errors.DataLoss, match="corrupt") as caught:
            c.pfs.get_file_bytes("r@master", "/f.txt")
        assert caught.value.code == grpc.StatusCode.DATA_LOSS
        assert c.pfs.get_file_bytes("r@master", "/g.txt") == b"healthy"
