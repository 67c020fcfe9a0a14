"""Cluster-wide facts and settings: the cluster ID, its metadata and the pipeline defaults.

The cluster ID is made once per data directory (per database) and kept, so pachctl's contexts
stay valid across restarts. The blob store a data directory was first started with (``local``
or ``s3://bucket/prefix``) is recorded too, and a start with another one is refused: the files'
content would be missing from it. Cluster defaults are a JSON document in pachd's shape,
``{"createPipelineRequest": {...}}``; their fields apply to every pipeline spec that does not
set them (see ``merge_defaults``), below the project's defaults and the spec itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from tuskd.domain.errors import FailedPrecondition, InvalidArgument
from tuskd.domain.ids import new_global_id
from tuskd.store.base import PfsTx, Store, Tx, reading
from tuskd.store.meta import MetaTx

from .metadata import CLUSTER_METADATA

__all__ = ["ClusterService", "merge_defaults", "parse_defaults"]

_CLUSTER_ID: Final = "cluster_id"
_CLUSTER_DEFAULTS: Final = "cluster_defaults"
_BLOB_STORE: Final = "blob_store"
_EMPTY_DEFAULTS: Final = "{}"
_MAX_DEPTH: Final = 64


def parse_defaults(text: str, what: str) -> dict[str, Any]:
    """A defaults document: a JSON object whose only key is ``createPipelineRequest``."""
    try:
        doc = json.loads(text or "{}")
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument(f"invalid {what} JSON: {exc}", reason="INVALID_DEFAULTS", field=what) from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"invalid {what} JSON: not a JSON object", reason="INVALID_DEFAULTS", field=what)
    unknown = sorted(set(doc) - {"createPipelineRequest", "create_pipeline_request"})
    if unknown or len(doc) > 1:
        raise InvalidArgument(
            f"invalid {what} JSON: unknown fields {unknown or sorted(doc)}; only createPipelineRequest is allowed",
            reason="INVALID_DEFAULTS",
            field=what,
        )
    request = doc.get("createPipelineRequest", doc.get("create_pipeline_request", {}))
    if not isinstance(request, dict):
        raise InvalidArgument(f"{what}.createPipelineRequest must be a JSON object", field=what)
    return request


def merge_defaults(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge JSON objects, later layers winning; a non-object value replaces what it meets."""

    def merge(base: Any, top: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise InvalidArgument("pipeline spec nests too deeply", reason="INVALID_PIPELINE_SPEC")
        if isinstance(base, dict) and isinstance(top, dict):
            out = dict(base)
            for key, value in top.items():
                out[key] = merge(out[key], value, depth + 1) if key in out else value
            return out
        return top

    result: dict[str, Any] = {}
    for layer in layers:
        result = merge(result, dict(layer), 0)
    return result


class ClusterService:
    def __init__(self, store: Store, meta_tables: Callable[[Tx], MetaTx]) -> None:
        self._store = store
        self._meta = meta_tables

    def cluster_id(self) -> str:
        with self._store.read() as tx:
            found = self._meta(tx).setting(_CLUSTER_ID)
        if found:
            return found
        with self._store.write() as tx:
            meta = self._meta(tx)
            found = meta.setting(_CLUSTER_ID)
            if not found:
                found = new_global_id()
                meta.set_setting(_CLUSTER_ID, found)
            return found

    def check_blob_store(self, identity: str) -> None:
        """Record ``identity`` (``local``, ``s3://bucket/prefix``) as this data directory's blob
        store at its first start; FailedPrecondition at a later start with another one."""
        with self._store.write() as tx:
            meta = self._meta(tx)
            recorded = meta.setting(_BLOB_STORE)
            if recorded is None:
                meta.set_setting(_BLOB_STORE, identity)
                return
        if recorded == identity:
            return
        flag = f"with --blobs {recorded} (and its endpoint)"
        if recorded == "local":
            flag = "without --blobs (or with --blobs local)"
        raise FailedPrecondition(
            f"this data directory keeps its files' content in the blob store {recorded}, but the server "
            f"was started with {identity}, where that content is not: start it {flag} as before, or "
            "give it a new --data-dir; to move the blobs to another store, follow docs/operations.md "
            '("Moving blobs between stores")',
            reason="BLOB_STORE_MISMATCH",
            recorded=recorded,
            configured=identity,
        )

    def metadata(self) -> dict[str, str]:
        with self._store.read() as tx:
            raw = self._meta(tx).setting(CLUSTER_METADATA)
            return dict(json.loads(raw)) if raw else {}

    def defaults_json(self, *, tx: PfsTx | None = None) -> str:
        with reading(self._store, tx) as tx:
            return self._meta(tx).setting(_CLUSTER_DEFAULTS) or _EMPTY_DEFAULTS

    def set_defaults(self, defaults_json: str) -> None:
        parse_defaults(defaults_json, "cluster defaults")
        with self._store.write() as tx:
            self._meta(tx).set_setting(_CLUSTER_DEFAULTS, defaults_json or _EMPTY_DEFAULTS)
