"""Reading pipelines: a version's spec, inspect, list (with history), the cron pipelines
and the owner of a pipeline's metadata."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tuskd.domain.errors import InvalidArgument, NotFound
from tuskd.domain.inputs import CronInput, cron_inputs
from tuskd.domain.pfs import BranchKey, CommitKey
from tuskd.domain.pipelines import (
    PipelineInfo,
    PipelineKey,
    PipelineSpec,
    pipeline_state,
    spec_from_dict,
)
from tuskd.domain.states import JobState
from tuskd.store.base import PfsTx, Tx
from tuskd.store.meta import MetaKind
from tuskd.store.pps import JobQuery, PipelineRow

from .pipeline_base import (
    SPEC_BRANCH,
    UNFINISHED_JOB_STATES,
    PipelineBase,
    _ts,
    spec_repo,
)

__all__ = ["PipelineReads"]


class PipelineReads(PipelineBase):
    """Spec, inspect, list and the cron pipelines."""

    # -- reads ------------------------------------------------------------------------------

    def spec(self, key: PipelineKey, version: int | None = None) -> PipelineSpec:
        """The validated spec of ``version`` (default: the current one), salt included."""
        with self._store.read() as tx:
            t = self._tables(tx)
            return self._spec(t, self._row(t, key), version)

    def _info(self, tx: PfsTx, row: PipelineRow, version: int | None = None) -> PipelineInfo:
        t = self._tables(tx)
        key = PipelineKey(row.project, row.name)
        vrow = self._version_row(t, row, version or row.version)
        last = t.list_jobs(JobQuery(project=key.project, pipeline=key.name, limit=1))
        busy = t.list_jobs(JobQuery(project=key.project, pipeline=key.name, states=UNFINISHED_JOB_STATES, limit=1))
        spec_commit: CommitKey | None = None
        if vrow.version == row.version:
            try:
                spec_commit = self._pfs.inspect_branch(BranchKey(spec_repo(key), SPEC_BRANCH), tx=tx).head
            except NotFound:
                spec_commit = None
        spec = spec_from_dict(json.loads(vrow.spec_json))
        return PipelineInfo(
            key=key,
            version=vrow.version,
            spec=spec,
            state=pipeline_state(row.stopped, bool(busy), spec.autoscaling),
            stopped=row.stopped,
            reason=row.reason,
            last_job_state=last[0].job.state if last else JobState.JOB_STATE_UNKNOWN,
            created=_ts(row.created_us),
            updated=_ts(vrow.created_us),
            spec_commit=spec_commit,
            user_spec_json=vrow.user_spec_json,
            effective_spec_json=vrow.spec_json,
            metadata=self._meta(tx).metadata(MetaKind.PIPELINE, row.id),
        )

    def metadata_owner(self, tx: Tx, key: PipelineKey) -> tuple[MetaKind, int]:
        """The kind and store id that the pipeline's metadata map hangs off (NOT_FOUND if none)."""
        return MetaKind.PIPELINE, self._row(self._tables(tx), key).id

    def inspect(self, key: PipelineKey) -> PipelineInfo:
        with self._store.read() as tx:
            return self._info(tx, self._row(self._tables(tx), key))

    def list_pipelines(
        self,
        *,
        pipeline: PipelineKey | None = None,
        projects: Sequence[str] = (),
        history: int = 0,
        commit_set: str = "",
    ) -> list[PipelineInfo]:
        """Pipelines, most recently created first; each followed by up to ``history`` earlier
        versions (-1: all of them). ``commit_set`` keeps the pipelines with a job in that set."""
        if history < -1:
            raise InvalidArgument(f"history must be -1 (all versions), 0 or positive, not {history}")
        with self._store.read() as tx:
            t = self._tables(tx)
            if pipeline is not None:
                rows = [self._row(t, pipeline)]
            else:
                rows = sorted(t.list_pipelines(projects), key=lambda r: (r.created_us, r.id), reverse=True)
            if commit_set:
                in_set = {(r.job.key.project, r.job.key.pipeline) for r in t.jobs_in_set(commit_set)}
                rows = [r for r in rows if (r.project, r.name) in in_set]
            out: list[PipelineInfo] = []
            for row in rows:
                oldest = 1 if history == -1 else max(1, row.version - history)
                for version in range(row.version, oldest - 1, -1):
                    out.append(self._info(tx, row, version))
            return out

    def cron_pipelines(self) -> list[tuple[PipelineKey, int, tuple[CronInput, ...]]]:
        """Every running pipeline with cron inputs: its key, version and cron inputs."""
        out: list[tuple[PipelineKey, int, tuple[CronInput, ...]]] = []
        with self._store.read() as tx:
            t = self._tables(tx)
            for row in t.list_pipelines(()):
                if row.stopped:
                    continue
                text = self._version_row(t, row, row.version).spec_json
                if '"cron"' not in text:  # cheap: most pipelines have none
                    continue
                crons = cron_inputs(spec_from_dict(json.loads(text)).input)
                if crons:
                    out.append((PipelineKey(row.project, row.name), row.version, tuple(crons)))
        return out
