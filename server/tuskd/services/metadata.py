"""EditMetadata: user key/value maps on the cluster, projects, repos, branches, commits and
pipelines. Every edit of one request is applied in one write transaction, in order: all or none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tuskd.domain.metadata import ClusterTarget, MetadataOp, ProjectTarget, apply_op
from tuskd.domain.pfs import BranchKey, CommitRef, RepoKey
from tuskd.domain.pipelines import PipelineKey
from tuskd.store.base import Store, Tx
from tuskd.store.meta import MetaTx

from .pfs import PfsService
from .pipelines import PipelineService
from .projects import ProjectService

__all__ = ["CLUSTER_METADATA", "MetadataEdit", "MetadataService", "MetadataTarget"]

CLUSTER_METADATA = "cluster_metadata"

MetadataTarget = ClusterTarget | ProjectTarget | RepoKey | BranchKey | CommitRef | PipelineKey


@dataclass(frozen=True, slots=True)
class MetadataEdit:
    target: MetadataTarget
    op: MetadataOp


class MetadataService:
    def __init__(
        self,
        store: Store,
        meta_tables: Callable[[Tx], MetaTx],
        pfs: PfsService,
        pipelines: PipelineService,
        projects: ProjectService,
    ) -> None:
        self._store = store
        self._meta = meta_tables
        self._pfs = pfs
        self._pipelines = pipelines
        self._projects = projects

    def edit(self, edits: Sequence[MetadataEdit]) -> None:
        with self._store.write() as tx:
            for edit in edits:
                self._apply(tx, edit)

    def _apply(self, tx: Tx, edit: MetadataEdit) -> None:
        meta = self._meta(tx)
        target, op = edit.target, edit.op
        if isinstance(target, ClusterTarget):
            raw = meta.setting(CLUSTER_METADATA)
            meta.set_setting(CLUSTER_METADATA, json.dumps(apply_op(op, json.loads(raw) if raw else {})))
            return
        if isinstance(target, ProjectTarget):
            self._projects.edit_metadata(target.name, lambda current: apply_op(op, current), tx)
            return
        if isinstance(target, PipelineKey):
            kind, owner = self._pipelines.metadata_owner(tx, target)
        else:
            kind, owner = self._pfs.metadata_owner(tx, target)  # type: ignore[arg-type]
        meta.set_metadata(kind, owner, apply_op(op, meta.metadata(kind, owner)))
