"""Pipelines as a service: create, update, inspect, list, delete, stop, start and rerun.

Every use case is one store write transaction that also holds the PFS changes it causes, so a
pipeline, its output repo, its output branch's provenance and the job that appears for the
current input heads commit (or roll back) together. How a pipeline is laid out in PFS, as in
Pachyderm 2.x:

* the output repo ``<pipeline>`` (created if missing) has an output branch (``output_branch``,
  default ``master``) whose direct provenance is every input branch plus ``<pipeline>.spec@master``;
* the spec repo ``<pipeline>.spec`` (repo type ``spec``) gets one commit per new version and per
  rerun. Its commit propagates to the output branch like an input commit does, which is how an
  update or a rerun gets a job over the current input heads without touching the inputs.

Jobs are not created here: :mod:`tuskd.services.triggers` creates a job whenever a commit starts
on a pipeline's output branch (inside the same transaction), so creation, update, rerun and
input commits all get their job the same way.

Stopping, updating, deleting (and rerunning with ``reprocess``) kill unfinished jobs: this
service records them KILLED with a reason and finishes their open output commits with that reason
as the commit error, in its transaction, then calls every registered hook (``add_hook``) in that
same transaction with a :class:`PipelineChange` naming the killed jobs; listeners
(``add_listener``: the job engine, which stops their processes) get the change after it commits,
so no code of theirs runs inside this service's transaction.
"""

from __future__ import annotations

from .pipeline_base import (
    UNFINISHED_JOB_STATES,
    PipelineChange,
    PipelineChangeKind,
    PipelineHook,
    output_repo,
    spec_repo,
)
from .pipeline_lifecycle import PipelineLifecycle
from .pipeline_reads import PipelineReads
from .pipeline_versions import PipelineVersions

__all__ = [
    "UNFINISHED_JOB_STATES",
    "PipelineChange",
    "PipelineChangeKind",
    "PipelineHook",
    "PipelineService",
    "output_repo",
    "spec_repo",
]


class PipelineService(PipelineVersions, PipelineLifecycle, PipelineReads):
    """Every pps_v2 pipeline use case, transport-agnostic.

    Composed of one mixin per area (services/pipeline_versions.py: create, update, rerun;
    pipeline_lifecycle.py: delete, stop, start; pipeline_reads.py) over
    :class:`~tuskd.services.pipeline_base.PipelineBase`.
    """
