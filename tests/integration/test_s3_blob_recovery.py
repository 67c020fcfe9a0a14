"""A server on S3 blobs when the bucket misbehaves or the configuration changes:

* Fsck names an object deleted from the bucket as missing and goes on (it used to abort with
  NOT_FOUND because the size came from the cache);
* an S3 outage during a job is not the user's datum failing: the job tries again (counted in
  ``restart``) until S3 is back, and ends SUCCESS;
* a data directory remembers its blob store: a start with another one (local <-> S3, another
  bucket or prefix) is refused with FAILED_PRECONDITION, and leaves nothing held open;
* the Egress RPC downloads each blob once.

SeaweedFS is the real S3 server; moto is used only where faults are injected (and counted).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import RunningServer, stop_server
from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in, put, wait_for, wait_job
from tests.s3servers import REGION, FaultSwitch, S3Server
from tuskd.config import S3Location, ServerConfig
from tuskd.domain.errors import FailedPrecondition
from tuskd.domain.jobs import JobKey
from tuskd.domain.states import JobState
from tuskd.wiring import open_deps

pytestmark = pytest.mark.timeout(120)


def _location(server: S3Server, prefix: str, **options: float) -> S3Location:
    return S3Location(bucket=server.bucket, prefix=prefix, endpoint=server.endpoint, region=REGION, **options)  # type: ignore[arg-type]


def test_fsck_names_an_object_deleted_from_the_bucket_and_goes_on(
    seaweedfs: S3Server, make_server: Callable[..., RunningServer], aws_credentials: None, tmp_path: Path
) -> None:
    prefix = f"fsck-missing/{uuid.uuid4().hex}"
    server = make_server(blobs_s3=_location(seaweedfs, prefix), blob_cache_dir=tmp_path / "cache")
    contents = {f"/{name}.txt": f"content of {name}".encode() for name in ("a", "b", "c", "d")}
    blobs = sorted(hashlib.sha256(data).hexdigest() for data in contents.values())
    gone = blobs[1]  # neither the first nor the last blob Fsck looks at
    with server.client() as c:
        c.pfs.create_repo("r")
        with c.pfs.modify_file("r@master") as mf:
            for path, data in contents.items():
                mf.put_file(path, data)
        assert list(c.pfs.fsck()) == []
        seaweedfs.client().delete_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/sha256/{gone}")
        problems = list(c.pfs.fsck())
    assert len(problems) == 1, problems
    assert gone in problems[0] and problems[0].endswith("is missing from the blob store")


def test_an_s3_outage_during_a_job_is_retried_until_s3_is_back(
    moto_s3: S3Server,
    s3_faults: FaultSwitch,
    make_server: Callable[..., RunningServer],
    aws_credentials: None,
    tmp_path: Path,
) -> None:
    location = _location(moto_s3, f"outage/{uuid.uuid4().hex}", max_attempts=2, timeout=2)
    server = make_server(blobs_s3=location, blob_cache_dir=tmp_path / "cache")
    started, go = tmp_path / "started", tmp_path / "go"
    create_repo(server, "words")
    cmd = 'touch "$STARTED"; while [ ! -e "$GO" ]; do sleep 0.05; done; tr a-z A-Z < /pfs/words/a > /pfs/out/a'
    env = {"STARTED": str(started), "GO": str(go)}
    create_pipeline(server, make_spec("upper", cmd, pfs_in("words"), env=env, datum_tries=1))
    set_id = put(server, "words", {"/a": b"written before the outage"})
    key = JobKey("default", "upper", set_id)
    wait_for(started.exists, what="the datum to start")
    # S3 answers 503 from now on; the datum's output cannot be stored.
    s3_faults.status = 503
    go.touch()
    wait_for(lambda: server.deps.jobs.get(key).job.restart >= 1, what="the job to try again")
    s3_faults.clear()
    job = wait_job(server, "upper", set_id, timeout=60)
    assert (job.state, job.reason) == (JobState.JOB_SUCCESS, "")
    assert job.restart >= 1
    assert (job.counts.processed, job.counts.failed) == (1, 0)
    with server.client() as c:
        assert c.pfs.get_file_bytes(f"upper@{set_id}", "/a") == b"WRITTEN BEFORE THE OUTAGE"


def _config(tmp_path: Path, location: S3Location | None, cache: str = "cache") -> ServerConfig:
    return ServerConfig(
        address="127.0.0.1:0", data_dir=tmp_path / "data", blobs_s3=location, blob_cache_dir=tmp_path / cache
    )


def test_a_data_directory_keeps_its_blob_store(seaweedfs: S3Server, aws_credentials: None, tmp_path: Path) -> None:
    prefix = f"switch/{uuid.uuid4().hex}"
    first = _location(seaweedfs, prefix)
    deps = open_deps(_config(tmp_path, first))
    deps.close()
    wrong = {
        "local": None,
        f"s3://{seaweedfs.bucket}/{prefix}-other": _location(seaweedfs, prefix + "-other"),
    }
    for named, location in wrong.items():
        with pytest.raises(FailedPrecondition) as caught:
            open_deps(_config(tmp_path, location))
        message = str(caught.value)
        assert caught.value.reason == "BLOB_STORE_MISMATCH"
        assert f"in the blob store s3://{seaweedfs.bucket}/{prefix}, but the server was started with {named}" in message
        assert f"start it with --blobs s3://{seaweedfs.bucket}/{prefix}" in message
    # The refused starts held nothing: the data directory and the cache open again at once.
    deps = open_deps(_config(tmp_path, replace(first, prefix=f"/{prefix}/")))  # the same prefix, spelt otherwise
    deps.close()


def test_a_local_data_directory_refuses_s3(seaweedfs: S3Server, aws_credentials: None, tmp_path: Path) -> None:
    open_deps(_config(tmp_path, None)).close()
    with pytest.raises(FailedPrecondition, match=r"blob store local, .*start it without --blobs") as caught:
        open_deps(_config(tmp_path, _location(seaweedfs, "x")))
    assert caught.value.metadata == {"recorded": "local", "configured": f"s3://{seaweedfs.bucket}/x"}
    open_deps(_config(tmp_path, None)).close()


def test_a_failed_probe_leaves_nothing_held(seaweedfs: S3Server, aws_credentials: None, tmp_path: Path) -> None:
    missing = S3Location(bucket=f"no-bucket-{uuid.uuid4().hex[:8]}", endpoint=seaweedfs.endpoint, region=REGION)
    with pytest.raises(FailedPrecondition, match="does not exist"):
        open_deps(_config(tmp_path, missing))
    # The same data directory and cache directory, with a bucket that exists: both free again.
    open_deps(_config(tmp_path, _location(seaweedfs, f"probe/{uuid.uuid4().hex}"))).close()


def test_egress_downloads_each_blob_once(
    moto_s3: S3Server,
    s3_faults: FaultSwitch,
    make_server: Callable[..., RunningServer],
    aws_credentials: None,
    tmp_path: Path,
) -> None:
    location = _location(moto_s3, f"egress/{uuid.uuid4().hex}")
    exports = tmp_path / "exports"
    exports.mkdir()
    files = {f"/f{i}": os.urandom(100_000) for i in range(3)}  # together more than the cache
    options = {"blobs_s3": location, "blob_cache_bytes": 150_000, "file_url_dirs": (exports,)}
    writer = make_server(blob_cache_dir=tmp_path / "warm", **options)
    with writer.client() as c:
        c.pfs.create_repo("r")
        with c.pfs.modify_file("r@master") as mf:
            for path, data in files.items():
                mf.put_file(path, data)
    stop_server(writer)
    cold = make_server(blob_cache_dir=tmp_path / "cold", **options)
    with cold.client() as c:
        before = s3_faults.requests
        assert c.pfs.egress("r@master", f"file://{exports}/r") == 300_000
        assert s3_faults.requests - before == 3  # one GET per blob
    for path, data in files.items():
        assert (exports / "r" / path.lstrip("/")).read_bytes() == data
