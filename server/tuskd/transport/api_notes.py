"""How tusk differs from pachd where it serves a method: the notes of docs/api.md's table.

A method served with no note here behaves as pachd 2.12's does, within the general differences
that docs/api.md states once (status codes, one machine). scripts/api_doc.py writes the table.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DIFFERENCES"]

_SPEC: Final = (
    "specs with `service`, `spout`, `tf_job`, S3 inputs, secrets, `datum_batching`, `s3_out` or a non-`file://` "
    "egress are INVALID_ARGUMENT naming the field; `transform.image` is recorded, the code runs on the host"
)

_HISTORY: Final = "refusals are FAILED_PRECONDITION (pachd: UNKNOWN); see History, provenance and store checks below"

DIFFERENCES: Final[dict[str, str]] = {
    "pfs_v2.API/ClearCommit": _HISTORY,
    "pfs_v2.API/SquashCommit": _HISTORY,
    "pfs_v2.API/DropCommit": _HISTORY,
    "pfs_v2.API/WalkCommitProvenance": "pickers by branch root are INVALID_ARGUMENT",
    "pfs_v2.API/WalkCommitSubvenance": "pickers by branch root are INVALID_ARGUMENT",
    "pfs_v2.API/Fsck": (
        "checks that every referenced blob is stored and hashes to its name (pachd checks its tables); `fix` is "
        "INVALID_ARGUMENT, the zombie datum check UNIMPLEMENTED"
    ),
    "pfs_v2.API/Egress": (
        "`file://` directories only (object storage and SQL targets are UNIMPLEMENTED), never into the data directory"
    ),
    "pfs_v2.API/CreateBranch": "branch `trigger`s are UNIMPLEMENTED",
    "pfs_v2.API/GetFile": "`URL` (copy out to a URL) and `path_range` are UNIMPLEMENTED",
    "pfs_v2.API/GetFileTAR": "`URL` and `path_range` are UNIMPLEMENTED",
    "pfs_v2.API/DeleteProject": "`default` is never deleted (every request without a project names it)",
    "pps_v2.API/CreatePipeline": _SPEC,
    "pps_v2.API/CreatePipelineV2": _SPEC + "; defaults are merged field by field (JSON names)",
    "pps_v2.API/SetClusterDefaults": "`regenerate` is UNIMPLEMENTED: existing pipelines keep their specs",
    "pps_v2.API/SetProjectDefaults": "`regenerate` is UNIMPLEMENTED: existing pipelines keep their specs",
    "pps_v2.API/StopJob": "inside a transaction it is UNIMPLEMENTED (it waits for the job's processes to end)",
    "pps_v2.API/RestartDatum": (
        "a finished job is FAILED_PRECONDITION (pachd: UNKNOWN) with pachd's `datum matching filter ... could "
        "not be found` text; `datum_ids` (1000) restarts by ID"
    ),
    "pps_v2.API/GetLogs": (
        "worker lines are made from what the engine records (user output, datum outcome and time); master lines "
        "from the job's state history; a request without pipeline or job (pachd's own logs) is INVALID_ARGUMENT"
    ),
    "pps_v2.API/RunCron": "a pipeline without a cron input is FAILED_PRECONDITION (pachd: UNKNOWN), same text",
    "pps_v2.API/ListDatum": "also plans the datums of an `input` without a job (dry run); AIP-158 paging (1001/1002)",
    "pps_v2.API/ListJob": "server-side `state` filter (1000) and AIP-158 paging (1001/1002)",
    "pps_v2.API/WaitJob": "tusk's own addition: follow a job or job set to its end, resumable (see below)",
    "pps_v2.API/RenderTemplate": (
        "jsonnet `import`s are refused (pachd fetches http(s) URLs); a render is limited to 512 MiB and 10 s"
    ),
    "admin_v2.API/InspectCluster": "`deployment_id` is the cluster ID; no proxy or web resources",
    "metadata.API/EditMetadata": "a target that does not exist is NOT_FOUND (pachd: UNKNOWN)",
    "transaction_v2.API/FinishTransaction": "StopJob and UpdateJobState cannot be queued (see StopJob)",
}
