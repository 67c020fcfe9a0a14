"""The job runner's side of the executor seam (step 3 of engine/job_runner.py): a datum of the
plan and the pipeline's spec become a plain :class:`~tuskd.engine.datum_work.DatumTask`, and a
:class:`~tuskd.engine.datum_work.DatumResult` that comes back becomes a :class:`FinishedDatum`
ready to be recorded (its log comes back as data: the runner keeps it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from tuskd.domain import paths
from tuskd.domain.datums import Datum
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.jobs import JobKey, Stats
from tuskd.domain.pipelines import PipelineSpec
from tuskd.domain.states import DatumState
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_work import DatumResult, DatumTask, InputFile, LaidOutInput, new_nonce
from tuskd.engine.job_context import EngineContext
from tuskd.engine.outputs import CollectedFile

__all__ = ["DatumTasks", "FinishedDatum"]

log = logging.getLogger("tuskd.engine.job_runner")  # a job's whole run logs under one name

_STATES = {
    DatumOutcome.SUCCESS: DatumState.SUCCESS,
    DatumOutcome.FAILED: DatumState.FAILED,
    DatumOutcome.RECOVERED: DatumState.RECOVERED,
}


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
    """Builds one job's datum tasks and turns their results into what is recorded."""

    def __init__(self, ctx: EngineContext, key: JobKey) -> None:
        self.ctx = ctx
        self.key = key

    def task(self, datum: Datum, spec: PipelineSpec, base_env: Mapping[str, str]) -> DatumTask:
        """``datum`` as a task with a fresh nonce (``base_env``: the job's part of the env)."""
        env = dict(base_env)
        env["PACH_DATUM_ID"] = datum.id
        for inp in reversed(datum.inputs):  # the first input of a name wins
            env[inp.name] = f"/pfs/{inp.name}" if inp.path == "/" else f"/pfs/{inp.name}{inp.path}"
        transform = spec.transform
        return DatumTask(
            project=self.key.project,
            pipeline=self.key.pipeline,
            job_id=self.key.id,
            datum_id=datum.id,
            nonce=new_nonce(),
            cmd=tuple(transform.cmd),
            stdin=tuple(transform.stdin),
            env=tuple(env.items()),
            working_dir=transform.working_dir,
            inputs=tuple(
                LaidOutInput(inp.name, tuple(InputFile(f.path, f.hash, f.size) for f in inp.files))
                for inp in datum.inputs
            ),
            datum_timeout=spec.datum_timeout,
            output_limit=self.ctx.output_limit,
            tries=max(spec.datum_tries, 1),
            accept_return_code=tuple(transform.accept_return_code),
            err_cmd=tuple(transform.err_cmd),
            err_stdin=tuple(transform.err_stdin),
        )

    def finished(
        self, datum: Datum, hash_: str, result: DatumResult, previous: DatumState | None
    ) -> FinishedDatum | None:
        """What to record of ``result`` (None for a CANCELLED one: nothing is)."""
        if result.outcome is DatumOutcome.CANCELLED:
            return None
        files = list(result.outputs)
        stats = result.stats
        if result.outcome is DatumOutcome.SUCCESS:
            problem = _unstorable(files)
            if problem is not None:  # never stored: the datum fails, naming the output
                result = replace(result, outcome=DatumOutcome.FAILED, reason=problem, outputs=())
                files, stats = [], replace(stats, upload_bytes=0)
        return FinishedDatum(datum, hash_, result, files, stats, _STATES[result.outcome], previous)
