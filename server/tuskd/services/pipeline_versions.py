"""Pipeline versions: create, update (a new version) and rerun (a spec commit, or with
``reprocess`` a new version with a new salt)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime

from tuskd.domain.errors import AlreadyExists, InvalidArgument
from tuskd.domain.inputs import with_cron_start
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, CommitRef
from tuskd.domain.pipelines import (
    PipelineKey,
    PipelineSpec,
    PipelineState,
    spec_from_dict,
    validate_pipeline_spec,
)
from tuskd.store.base import PfsTx
from tuskd.store.pps import PipelineRow

from .pipeline_base import (
    SPEC_BRANCH,
    PipelineBase,
    PipelineChange,
    PipelineChangeKind,
    _dump,
    _provenance,
    output_repo,
    spec_repo,
)

__all__ = ["PipelineVersions"]

log = logging.getLogger(__name__)


class PipelineVersions(PipelineBase):
    """Create, update and rerun."""

    # -- create and update ------------------------------------------------------------------

    def create(
        self,
        spec: PipelineSpec,
        *,
        user_spec_json: str = "",
        update: bool = False,
        reprocess: bool = False,
        dry_run: bool = False,
        tx: PfsTx | None = None,
    ) -> int:
        """Create the pipeline, or with ``update`` replace its spec (version + 1); return the version.

        ``reprocess`` (with update) renews the salt so no datum is skipped. ``dry_run`` checks
        everything and changes nothing (returns 0). ``tx``: a step of the caller's unit of work
        (a savepoint of it) instead of a write transaction of its own.
        """
        spec = validate_pipeline_spec(spec)
        self._check_egress(spec)
        spec = replace(spec, input=with_cron_start(spec.input, datetime.fromtimestamp(self._clock(), UTC)))
        key = spec.key
        with self._store.write(join=tx) as tx:
            t = self._tables(tx)
            row = t.get_pipeline(key.project, key.name)
            if row is not None and not update:
                shown = f"{key.project}/{key.name}"
                raise AlreadyExists(f'pipeline "{shown}" already exists', reason="PIPELINE_EXISTS", pipeline=str(key))
            self._check_inputs(tx, spec)
            if row is not None:
                old = self._spec(t, row)
                if spec.output_branch != old.output_branch:
                    raise InvalidArgument(
                        f'cannot change the output branch of pipeline "{key}" from "{old.output_branch}" '
                        f'to "{spec.output_branch}"; delete and recreate the pipeline instead',
                        reason="INVALID_PIPELINE_SPEC",
                        field="output_branch",
                    )
            if dry_run:
                return 0
            if row is None:
                return self._create_tx(tx, spec, user_spec_json)
            return self._update_tx(tx, row, spec, user_spec_json, reprocess)

    def _create_tx(self, tx: PfsTx, spec: PipelineSpec, user_spec_json: str) -> int:
        t = self._tables(tx)
        key = spec.key
        now_us = self._now_us()
        spec = replace(spec, salt=spec.salt or self._new_salt())
        row = t.insert_pipeline(key.project, key.name, int(PipelineState.PIPELINE_RUNNING), now_us)
        t.update_pipeline(row.id, now_us, version=1)
        t.insert_pipeline_version(row.id, 1, _dump(spec), user_spec_json, now_us)
        out = output_repo(key)
        if not self._repo_exists(tx, out):
            self._pfs.create_repo(out, f"Output repo for pipeline {key}.", tx=tx)
        self._pfs.create_repo(spec_repo(key), f"Spec repo for pipeline {key}.", update=True, system=True, tx=tx)
        self._make_cron_repos(tx, spec)
        # The output branch follows its inputs from now on; this opens its first commit (with
        # the current input heads, or empty commits made for missing input branches), and the
        # trigger gives that commit its job.
        self._pfs.create_branch(BranchKey(out, spec.output_branch), provenance=_provenance(spec), tx=tx)
        self._notify(tx, PipelineChange(PipelineChangeKind.CREATED, key, 1))
        log.info("pipeline created", extra={"pipeline": str(key)})
        return 1

    def _new_version(
        self, tx: PfsTx, row: PipelineRow, spec: PipelineSpec, user_spec_json: str
    ) -> tuple[int, tuple[JobKey, ...]]:
        """Store ``spec`` as the next version and kill the older versions' unfinished jobs."""
        t = self._tables(tx)
        version = row.version + 1
        now_us = self._now_us()
        t.update_pipeline(row.id, now_us, version=version)
        t.insert_pipeline_version(row.id, version, _dump(spec), user_spec_json, now_us)
        killed = self._kill_unfinished(
            tx, PipelineKey(row.project, row.name), f"pipeline updated to version {version}", below_version=version
        )
        return version, killed

    def _update_tx(self, tx: PfsTx, row: PipelineRow, spec: PipelineSpec, user_spec_json: str, reprocess: bool) -> int:
        t = self._tables(tx)
        key = spec.key
        old = self._spec(t, row)
        salt = self._new_salt() if reprocess else (spec.salt or old.salt)
        spec = replace(spec, salt=salt)
        self._make_cron_repos(tx, spec)
        version, killed = self._new_version(tx, row, spec, user_spec_json)
        new_prov, old_prov = _provenance(spec), _provenance(old)
        if set(new_prov) != set(old_prov):
            # New provenance opens the output commit (and so the job) by itself.
            self._pfs.create_branch(BranchKey(output_repo(key), spec.output_branch), provenance=new_prov, tx=tx)
        else:
            self._spec_commit(tx, key, f"version {version}")
        self._notify(tx, PipelineChange(PipelineChangeKind.UPDATED, key, version, killed, "pipeline updated"))
        log.info("pipeline updated", extra={"pipeline": str(key), "version": version})
        return version

    def _spec_commit(self, tx: PfsTx, key: PipelineKey, description: str) -> None:
        """A finished commit on the spec branch: propagates to the output branch (a new job)."""
        info = self._pfs.start_commit(BranchKey(spec_repo(key), SPEC_BRANCH), description=description, tx=tx)
        self._pfs.finish_commit(CommitRef(info.commit.repo, id=info.commit.id), tx=tx)

    # -- rerun ----------------------------------------------------------------------------

    def rerun(self, key: PipelineKey, *, reprocess: bool = False) -> None:
        """A new job over the current input heads (through a spec commit). With ``reprocess``, a
        new version with a new salt first (so nothing is skipped; older jobs are killed)."""
        with self._store.write() as tx:
            t = self._tables(tx)
            row = self._row(t, key)
            kind, version = PipelineChangeKind.RERUN, row.version
            killed: tuple[JobKey, ...] = ()
            if reprocess:
                current = self._version_row(t, row, row.version)
                spec = replace(spec_from_dict(json.loads(current.spec_json)), salt=self._new_salt())
                version, killed = self._new_version(tx, row, spec, current.user_spec_json)
                kind = PipelineChangeKind.UPDATED
            self._spec_commit(tx, key, f"rerun of version {version}")
            self._notify(tx, PipelineChange(kind, key, version, killed, "pipeline rerun"))
            log.info("pipeline rerun", extra={"pipeline": str(key), "reprocess": reprocess})
