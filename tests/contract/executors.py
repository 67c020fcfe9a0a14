"""The executor factory every contract test runs against (tests/contract/test_executor_contract.py).

``make_executor(slots)`` returns a started executor that runs at most ``slots`` datums at once,
prepared for an engine, with the blob store its tasks read inputs from and store outputs in.
The fixture is parametrized by executor kind: ``local`` (engine/executor.py's LocalExecutor: a
thread pool over real sandboxes and a real LocalBlobStore in tmp) and ``dask``
(engine/dask_executor.py: a scheduler and two `tusk worker` processes on 127.0.0.1, started
once per session by tests/daskcluster.py, blobs on SeaweedFS; the executor is given ``slots``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daskcluster import cluster_blobs, dask_executor
from tuskd.blobs.base import BlobStore
from tuskd.blobs.local import LocalBlobStore
from tuskd.engine.executor import Executor, LocalExecutor, WorkerSetup

EXECUTOR_KINDS = ["local", "dask"]


@dataclass
class Harness:
    executor: Executor
    blobs: BlobStore


ExecutorFactory = Callable[[int], Harness]


@pytest.fixture(params=EXECUTOR_KINDS)
def make_executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExecutorFactory]:
    made: list[Executor] = []
    kind = request.param
    cluster = request.getfixturevalue("shared_dask_cluster") if kind == "dask" else None

    def factory(slots: int) -> Harness:
        if cluster is not None:
            executor = dask_executor(cluster, slots)
            made.append(executor)
            return Harness(executor, cluster_blobs(cluster, tmp_path / f"cache-{len(made)}"))
        n = len(made)
        blobs = LocalBlobStore(tmp_path / f"blobs-{n}")
        executor = LocalExecutor(slots, blobs, tmp_path / f"work-{n}")
        executor.start()
        made.append(executor)
        executor.prepare(WorkerSetup(engine_id=f"contract-{secrets.token_hex(4)}"))
        return Harness(executor, blobs)

    yield factory
    for executor in made:
        executor.stop()
