"""The executor factory every contract test runs against (tests/contract/test_executor_contract.py).

``make_executor(slots)`` returns a started executor that runs at most ``slots`` datums at once,
prepared for an engine, with the blob store its tasks read inputs from and store outputs in.
The fixture is parametrized by executor kind: today only ``local`` (engine/executor.py's
LocalExecutor: a thread pool over real sandboxes and a real LocalBlobStore in tmp). The Dask
executor (issue 15) is added as a second parameter here: its branch starts a Dask cluster on
127.0.0.1 and a blob store its workers share, and every contract test then runs against both.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tuskd.blobs.base import BlobStore
from tuskd.blobs.local import LocalBlobStore
from tuskd.engine.executor import Executor, LocalExecutor, WorkerSetup

EXECUTOR_KINDS = ["local"]


@dataclass
class Harness:
    executor: Executor
    blobs: BlobStore


ExecutorFactory = Callable[[int], Harness]


@pytest.fixture(params=EXECUTOR_KINDS)
def make_executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExecutorFactory]:
    made: list[Executor] = []
    kind = request.param

    def factory(slots: int) -> Harness:
        if kind != "local":  # pragma: no cover - the next kinds come with their executors
            raise NotImplementedError(kind)
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
