"""Run one :class:`~tuskd.engine.datum_work.DatumTask` in a slot and say how it ended, as a
:class:`~tuskd.engine.datum_work.DatumResult`.

This is what any executor runs for a datum, on whichever machine holds the slot: lay the inputs
out from the blob store (``BlobStore.materialize``), run the attempts, err_cmd and timeouts in
the slot's sandbox (engine/datum_runner.py), and store a successful attempt's outputs in the
blob store (engine/outputs.py). It touches no metadata store and knows nothing of the job's
runner: the result comes back as data and whoever receives it records it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tuskd.blobs.base import BlobStore
from tuskd.domain.jobs import Stats
from tuskd.engine.datum_runner import DatumOutcome, DatumPolicy, run_datum
from tuskd.engine.datum_tree import Slot
from tuskd.engine.datum_work import Attempt, DatumResult, DatumTask
from tuskd.engine.outputs import CollectedFile, collect_outputs
from tuskd.engine.sandbox import AttemptResult, AttemptSpec

__all__ = ["could_not_run", "execute_datum"]


def could_not_run(task: DatumTask, exc: BaseException) -> DatumResult:
    """The result of a datum whose inputs could not be laid out or outputs kept (a full disk, a
    missing blob...): it FAILED with the reason, and its job goes on with the others."""
    return DatumResult(task.datum_id, task.nonce, DatumOutcome.FAILED, f"could not run: {exc}")


def _attempt(result: AttemptResult, ended: float) -> Attempt:
    return Attempt(
        exit_code=result.exit_code,
        signal=result.signal,
        timed_out=result.timed_out,
        cancelled=result.cancelled,
        started=ended - result.duration,
        ended=ended,
        description=result.describe(),
    )


def execute_datum(task: DatumTask, blobs: BlobStore, slot: Slot, cancel: threading.Event) -> DatumResult:
    """Run ``task`` from attempt 1 in ``slot`` until it succeeds, its tries run out (then
    err_cmd, if any) or ``cancel`` is set (CANCELLED: its process group is killed).

    Errors of the sandbox or of laying out the inputs are raised (the slot is then in an unknown
    state); an attempt whose user code could not start is a FAILED datum.
    """
    tree = slot.prepare(task.inputs, blobs)
    env = dict(task.env)
    env["TMPDIR"] = str(tree.tmp_dir)
    spec = AttemptSpec(
        cmd=task.cmd,
        stdin=task.stdin,
        env=env,
        working_dir=task.working_dir or None,
        inputs=tree.inputs,
        out_dir=tree.out_dir,
        scratch_dir=tree.scratch_dir,
    )
    policy = DatumPolicy(
        tries=max(task.tries, 1),
        timeout=task.datum_timeout,
        accept_return_code=frozenset(task.accept_return_code),
        err_cmd=task.err_cmd,
        err_stdin=task.err_stdin,
    )
    attempts: list[Attempt] = []

    def collect(
        out_dir: Path, cancel: threading.Event, deadline: float | None, timeout: float | None
    ) -> list[CollectedFile]:
        return collect_outputs(
            out_dir, blobs, limit=task.output_limit, cancel=cancel, deadline=deadline, timeout=timeout
        )

    try:
        run = run_datum(
            lambda attempt: spec,
            policy,
            cancel,
            on_attempt=lambda n, result: attempts.append(_attempt(result, time.time())),
            sandbox=slot.sandbox,
            collect=collect,
        )
    except (OSError, ValueError) as exc:
        return DatumResult(task.datum_id, task.nonce, DatumOutcome.FAILED, f"could not run: {exc}")
    err = None if run.err_result is None else _attempt(run.err_result, time.time())
    outputs = run.files if run.outcome is DatumOutcome.SUCCESS else ()
    stats = Stats(
        download_time=tree.seconds,
        process_time=run.duration,
        upload_time=run.upload_time,
        download_bytes=tree.bytes,
        upload_bytes=sum(f.size for f in outputs),
    )
    return DatumResult(
        datum_id=task.datum_id,
        nonce=task.nonce,
        outcome=run.outcome,
        reason=run.reason,
        runs=tuple(attempts),
        err_attempt=err,
        outputs=tuple(outputs),
        log=run.log,
        stats=stats,
    )
