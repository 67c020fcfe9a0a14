"""One datum's run on a worker slot (step 3 of engine/job_runner.py): lay out its inputs, run
its attempts in the slot's sandbox (a RestartDatum runs it again from attempt 1), keep its log,
and hand back what it produced, ready to be recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuskd.domain import paths
from tuskd.domain.datums import Datum
from tuskd.domain.errors import InvalidArgument, Unavailable
from tuskd.domain.jobs import JobKey, Stats
from tuskd.domain.pipelines import PipelineSpec
from tuskd.domain.states import DatumState
from tuskd.engine.datum_runner import Collector, DatumOutcome, DatumPolicy, DatumResult, run_datum
from tuskd.engine.job_context import EngineContext
from tuskd.engine.job_control import JobControl, RunningDatum
from tuskd.engine.sandbox import AttemptSpec
from tuskd.engine.workspace import CollectedFile, InputFile, JobSpace, LaidOutInput

__all__ = ["DatumTasks", "FinishedDatum"]

log = logging.getLogger("tuskd.engine.job_runner")  # a job's whole run logs under one name


@dataclass
class FinishedDatum:
    """A datum that ran to an outcome (not cancelled), ready to be recorded."""

    datum: Datum
    hash: str
    result: DatumResult
    files: list[CollectedFile]
    stats: Stats
    state: DatumState
    previous: DatumState | None = None  # a restarted datum's outcome already counted


def _unstorable(files: Sequence[CollectedFile]) -> str | None:
    """Why an output of a datum cannot go into a commit (its name is not valid UTF-8, or too
    long), or None: such a datum fails instead of stopping its job's recording."""
    for file in files:
        try:
            paths.normalize_file_path(file.path, what="output file")
        except InvalidArgument as exc:
            return f"{exc}; none of the datum's output was stored"
    return None


class DatumTasks:
    """The datum tasks of one job, for the executor; each runs in a slot of the job's space."""

    def __init__(self, ctx: EngineContext, key: JobKey, control: JobControl, space: JobSpace) -> None:
        self.ctx = ctx
        self.key = key
        self.control = control
        self._space = space

    def task(
        self,
        datum: Datum,
        hash_: str,
        spec: PipelineSpec,
        policy: DatumPolicy,
        base_env: dict[str, str],
        previous: DatumState | None,
    ) -> Callable[[], FinishedDatum | None]:
        def task() -> FinishedDatum | None:
            try:
                finished = self._run_datum(datum, hash_, spec, policy, base_env)
            except Unavailable:
                raise  # the blob store is out: not the datum's failure (job_runner.py retries)
            except Exception as exc:
                # Laying out or collecting failed (disk full, a missing blob...): the datum fails
                # with the reason and the job goes on with the others.
                log.exception("job %s: datum %s could not run", self.key, datum.id)
                result = DatumResult(DatumOutcome.FAILED, 0, f"could not run: {exc}", b"", 0.0, ())
                finished = FinishedDatum(datum, hash_, result, [], Stats(), DatumState.FAILED)
            if finished is not None:
                finished.previous = previous
                with self.control.lock:
                    self.control.finished[datum.id] = finished.state
            return finished

        return task

    def _run_datum(
        self, datum: Datum, hash_: str, spec: PipelineSpec, policy: DatumPolicy, base_env: dict[str, str]
    ) -> FinishedDatum | None:
        space = self._space
        laid_out = [
            LaidOutInput(inp.name, [InputFile(f.path, f.hash, f.size) for f in inp.files]) for inp in datum.inputs
        ]
        with space.slot() as slot:
            tree = space.prepare(slot, laid_out)
            env = dict(base_env)
            env["PACH_DATUM_ID"] = datum.id
            env["TMPDIR"] = str(tree.tmp_dir)
            for inp in reversed(datum.inputs):  # the first input of a name wins
                env[inp.name] = f"/pfs/{inp.name}" if inp.path == "/" else f"/pfs/{inp.name}{inp.path}"
            transform = spec.transform

            def make_spec(attempt: int) -> AttemptSpec:
                del attempt
                return AttemptSpec(
                    cmd=transform.cmd,
                    stdin=transform.stdin,
                    env=env,
                    working_dir=transform.working_dir or None,
                    inputs=tree.inputs,
                    out_dir=tree.out_dir,
                    scratch_dir=tree.scratch_dir,
                )

            result = self._run_attempts(datum.id, make_spec, policy, slot.sandbox, self.ctx.workspace.collect)
            if result.outcome is DatumOutcome.CANCELLED:
                return None
            files = list(result.files)
            if result.outcome is DatumOutcome.SUCCESS:
                problem = _unstorable(files)
                if problem is not None:  # never stored: the datum fails, naming the output
                    result = replace(result, outcome=DatumOutcome.FAILED, reason=problem)
                    files = []
        self.ctx.logs.write(self.key, datum.id, result.log)
        state = {
            DatumOutcome.SUCCESS: DatumState.SUCCESS,
            DatumOutcome.FAILED: DatumState.FAILED,
            DatumOutcome.RECOVERED: DatumState.RECOVERED,
        }[result.outcome]
        stats = Stats(
            download_time=tree.seconds,
            process_time=result.duration,
            upload_time=result.upload_time,
            download_bytes=tree.bytes,
            upload_bytes=sum(f.size for f in files),
        )
        return FinishedDatum(datum, hash_, result, files, stats, state)

    def _run_attempts(
        self,
        datum_id: str,
        make_spec: Callable[[int], AttemptSpec],
        policy: DatumPolicy,
        sandbox: Any,
        collect: Collector,
    ) -> DatumResult:
        """run_datum with the datum's own cancel event (which also bounds the collection of its
        outputs); a restart (RestartDatum) cancels the running attempt (its process group is
        killed) and runs the datum again from attempt 1."""
        control = self.control
        while True:
            running = RunningDatum(control.kill.child())
            with control.lock:
                control.running[datum_id] = running
            try:
                result = run_datum(make_spec, policy, running.cancel, sandbox=sandbox, collect=collect)
            except (OSError, ValueError) as exc:
                result = DatumResult(DatumOutcome.FAILED, 0, f"could not run: {exc}", b"", 0.0, ())
            finally:
                with control.lock:
                    control.running.pop(datum_id, None)
                control.kill.release(running.cancel)
            if not running.restart or control.kill.is_set():
                return result
            log.info("job %s: datum %s restarted (its run ended %s)", self.key, datum_id, result.outcome.name)
