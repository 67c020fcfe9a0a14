"""User metadata edits (the `metadata.API/EditMetadata` operations), applied to a plain map."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import FailedPrecondition, InvalidArgument

__all__ = ["AddKey", "ClusterTarget", "DeleteKey", "EditKey", "MetadataOp", "ProjectTarget", "Replace", "apply_op"]


@dataclass(frozen=True, slots=True)
class ProjectTarget:
    name: str


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    pass


@dataclass(frozen=True, slots=True)
class Replace:
    replacement: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddKey:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class EditKey:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class DeleteKey:
    key: str


MetadataOp = Replace | AddKey | EditKey | DeleteKey


def apply_op(op: MetadataOp, current: Mapping[str, str]) -> dict[str, str]:
    """The map after ``op``; refuses adding a key that exists and keys that are empty."""
    out = dict(current)
    if isinstance(op, Replace):
        if any(not k for k in op.replacement):
            raise InvalidArgument("metadata keys must not be empty", reason="INVALID_METADATA", field="replace")
        return dict(op.replacement)
    if not op.key:
        raise InvalidArgument("metadata key must not be empty", reason="INVALID_METADATA", field="key")
    if isinstance(op, AddKey):
        if op.key in out:
            raise FailedPrecondition(
                f'add_key target key "{op.key}" already exists; use edit_key instead',
                reason="METADATA_KEY_EXISTS",
                key=op.key,
            )
        out[op.key] = op.value
    elif isinstance(op, EditKey):
        out[op.key] = op.value
    else:
        out.pop(op.key, None)
    return out
