"""Why each method of Pachyderm 2.12's API that tusk does not serve is not served.

The UNIMPLEMENTED answer of such a method names it and gives this reason, and docs/api.md is
checked against this table (tests/unit/test_api_doc.py), so neither can claim more than the other.
"""

from __future__ import annotations

from typing import Final

__all__ = ["reason_for"]

_K8S: Final = "tusk runs on one machine without Kubernetes, so there is nothing of this kind to show or change"
_CHUNKS: Final = (
    "tusk stores whole files by content hash, not in Pachyderm's chunk/file-set format, so this "
    "storage-internal call has nothing to act on"
)
_DEBUG: Final = (
    "cluster debugging (dumps, profiles, binaries) is Pachyderm's internal tooling; use the "
    "server's own log and `tusk` commands"
)
_TASKS: Final = "tusk runs datums in its own executor, not in Pachyderm's task queue, so there are no tasks to list"
_LOAD: Final = "Pachyderm's built-in load generator is not part of tusk; use `make bench`"

# Method (``package.Service/Method``) or whole service (``package.Service``) -> reason.
_REASONS: Final[dict[str, str]] = {
    "debug_v2.Debug": _DEBUG,
    "storage.Fileset": _CHUNKS,
    "pjs.API": "Pachyderm's job system (PJS) is an internal API of pachd's workers; tusk's engine has none",
    "snapshot.API": (
        "database snapshots are pachd's own backup format; back up a tusk data directory as docs/operations.md says"
    ),
    "logs.API": (
        "the logs service queries Loki, which tusk does not run; pps_v2.API/GetLogs serves job, pipeline and "
        "datum logs"
    ),
    "admin_v2.API/RestartPachyderm": "tusk is one process; restart it with your process manager (SIGTERM drains)",
    "pfs_v2.API/ActivateAuth": "Pachyderm's enterprise auth is not part of tusk (see auth_v2)",
    "pps_v2.API/ActivateAuth": "Pachyderm's enterprise auth is not part of tusk (see auth_v2)",
    "pfs_v2.API/CreateFileSet": _CHUNKS,
    "pfs_v2.API/GetFileSet": _CHUNKS,
    "pfs_v2.API/AddFileSet": _CHUNKS,
    "pfs_v2.API/RenewFileSet": _CHUNKS,
    "pfs_v2.API/ComposeFileSet": _CHUNKS,
    "pfs_v2.API/ShardFileSet": _CHUNKS,
    "pfs_v2.API/CheckStorage": _CHUNKS,
    "pfs_v2.API/PutCache": "pachd's internal datum cache is not part of tusk's engine",
    "pfs_v2.API/GetCache": "pachd's internal datum cache is not part of tusk's engine",
    "pfs_v2.API/ClearCache": "pachd's internal datum cache is not part of tusk's engine",
    "pfs_v2.API/ListTask": _TASKS,
    "pps_v2.API/ListTask": _TASKS,
    "pps_v2.API/CreateSecret": "Kubernetes secrets: " + _K8S,
    "pps_v2.API/DeleteSecret": "Kubernetes secrets: " + _K8S,
    "pps_v2.API/ListSecret": "Kubernetes secrets: " + _K8S,
    "pps_v2.API/InspectSecret": "Kubernetes secrets: " + _K8S,
    "pps_v2.API/GetKubeEvents": "Kubernetes events: " + _K8S,
    "pps_v2.API/QueryLoki": "tusk does not run Loki; GetLogs serves job, pipeline and datum logs",
    "pps_v2.API/RunLoadTest": _LOAD,
    "pps_v2.API/RunLoadTestDefault": _LOAD,
    "pps_v2.API/UpdateJobState": (
        "job states are owned by tusk's own engine; workers of Pachyderm's kind do not exist here (StopJob ends a job)"
    ),
    "pps_v2.API/RunPipeline": "pachd 2.12 does not implement it either (it answers `unimplemented`)",
    "pps_v2.API/CheckStatus": (
        "its alerts are about Kubernetes workers outliving `maximum_expected_uptime`; tusk runs no workers"
    ),
}

_NOT_YET: Final = "not built in this version of tusk"


def reason_for(full_method: str) -> str:
    """Why ``package.Service/Method`` is not served (a generic reason for methods not listed)."""
    service = full_method.split("/", 1)[0]
    return _REASONS.get(full_method) or _REASONS.get(service) or _NOT_YET


def listed_reasons() -> dict[str, str]:
    """Every method or service with a specific reason (for the docs check)."""
    return dict(_REASONS)
