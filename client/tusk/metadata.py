"""Client API for user metadata (metadata.API/EditMetadata), and pachctl's text form of edits.

An edit names an object and an operation, as ``pachctl edit metadata`` takes them, four words
each::

    project myproject edit owner=me
    repo images add verified=yes            # [project/]repo[.type]
    branch images@master delete stale
    commit images@master replace '{"a":"1","b":"2"}'   # or a=1;b=2
    pipeline edges add team=vision          # [project/]pipeline
    cluster . add environment=production

Operations: ``add`` (fails if the key exists), ``edit`` (sets it), ``delete`` (removes a key),
``replace`` (the whole map). A key or value may be quoted: ``"two words"=x`` (JSON escapes) or
``'two words'=x`` (no escapes). All edits of one request apply together or not at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

import grpc

from tusk.errors import InvalidArgument, translated
from tusk.proto.metadata import metadata_pb2, metadata_pb2_grpc
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2

__all__ = ["MetadataClient", "parse_edits"]

_COMMIT_ID = re.compile(r"^[0-9a-f]{32}$")
_ANCESTRY = re.compile(r"^(.*?)([\^~])(\d*)$")
_OBJECTS = ("project", "repo", "branch", "commit", "pipeline", "cluster")
_OPERATIONS = ("add", "edit", "delete", "replace")


# -- pickers -------------------------------------------------------------------------------------


def _project_picker(name: str) -> pfs_pb2.ProjectPicker:
    return pfs_pb2.ProjectPicker(name=name or "default")


def repo_picker(text: str, project: str = "") -> pfs_pb2.RepoPicker:
    """``[project/]name[.type]``."""
    proj, _, rest = text.strip().rpartition("/")
    name, _, repo_type = rest.partition(".")
    if not name:
        raise InvalidArgument(f"{text!r} names no repo")
    picked = pfs_pb2.RepoPicker.RepoName(project=_project_picker(proj or project), name=name, type=repo_type or "user")
    return pfs_pb2.RepoPicker(name=picked)


def branch_picker(text: str, project: str = "") -> pfs_pb2.BranchPicker:
    """``repo@branch``."""
    repo, sep, name = text.partition("@")
    if not sep or not name:
        raise InvalidArgument(f"{text!r} names no branch: write it as <repo>@<branch>")
    return pfs_pb2.BranchPicker(name=pfs_pb2.BranchPicker.BranchName(repo=repo_picker(repo, project), name=name))


def commit_picker(text: str, project: str = "") -> pfs_pb2.CommitPicker:
    """``repo@branch`` (its head), ``repo@<id>``, ``repo@ref^N`` / ``repo@ref~N`` (an ancestor)."""
    repo, sep, ref = text.partition("@")
    if not sep or not ref:
        raise InvalidArgument(f"{text!r} names no commit: write it as <repo>@<branch or id>")
    ancestry = _ANCESTRY.match(ref)
    if ancestry is not None:
        start = commit_picker(f"{repo}@{ancestry.group(1)}", project)
        offset = int(ancestry.group(3) or "1")
        return pfs_pb2.CommitPicker(ancestor=pfs_pb2.CommitPicker.AncestorOf(offset=offset, start=start))
    if _COMMIT_ID.match(ref):
        by_id = pfs_pb2.CommitPicker.CommitByGlobalId(repo=repo_picker(repo, project), id=ref)
        return pfs_pb2.CommitPicker(id=by_id)
    return pfs_pb2.CommitPicker(branch_head=branch_picker(text, project))


def pipeline_picker(text: str, project: str = "") -> pps_pb2.PipelinePicker:
    """``[project/]pipeline``."""
    proj, _, name = text.strip().rpartition("/")
    if not name:
        raise InvalidArgument(f"{text!r} names no pipeline")
    return pps_pb2.PipelinePicker(
        name=pps_pb2.PipelinePicker.PipelineName(project=_project_picker(proj or project), name=name)
    )


# -- key/value text ------------------------------------------------------------------------------


def _token(text: str, pos: int, stops: str) -> tuple[str, int]:
    """One key or value starting at ``pos``: double-quoted (JSON escapes), single-quoted (no
    escapes) or bare (up to one of ``stops``)."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if text.startswith('"', pos):
        try:
            value, end = json.JSONDecoder().raw_decode(text, pos)
        except json.JSONDecodeError:
            raise InvalidArgument(f"unterminated or invalid double-quoted string in {text!r}") from None
        return str(value), end
    if text.startswith("'", pos):
        end = text.find("'", pos + 1)
        if end < 0:
            raise InvalidArgument(f"unterminated single-quoted string in {text!r}")
        return text[pos + 1 : end], end + 1
    end = pos
    while end < len(text) and text[end] not in stops:
        end += 1
    return text[pos:end].strip(), end


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``k=v;k2=v2`` (quoting as above) or a JSON object of strings."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InvalidArgument(f"invalid JSON object {text!r}: {err.msg}") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InvalidArgument(f"{text!r}: keys and values must be strings")
        return list(data.items())
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        key, pos = _token(text, pos, "=;")
        if not key:
            raise InvalidArgument(f"a key is missing in {text!r}")
        if not text.startswith("=", pos):
            raise InvalidArgument(f"key {key!r} has no value: write it as {key}=value")
        value, pos = _token(text, pos + 1, ";")
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] != ";":
            raise InvalidArgument(f"unexpected text after {key}={value} in {text!r}")
        pos += 1
        pairs.append((key, value))
    return pairs


def _one_pair(text: str) -> tuple[str, str]:
    pairs = parse_pairs(text)
    if len(pairs) != 1:
        raise InvalidArgument(f"{text!r}: expected exactly one key=value")
    return pairs[0]


# -- edits ---------------------------------------------------------------------------------------


def make_edit(kind: str, target: str, op: str, data: str, project: str = "") -> metadata_pb2.Edit:
    """One edit from pachctl's four words (see the module's doc)."""
    edit = metadata_pb2.Edit()
    kind, op = kind.lower(), op.lower()
    if kind == "project":
        edit.project.CopyFrom(_project_picker(target))
    elif kind == "repo":
        edit.repo.CopyFrom(repo_picker(target, project))
    elif kind == "branch":
        edit.branch.CopyFrom(branch_picker(target, project))
    elif kind == "commit":
        edit.commit.CopyFrom(commit_picker(target, project))
    elif kind == "pipeline":
        edit.pipeline.CopyFrom(pipeline_picker(target, project))
    elif kind == "cluster":
        edit.cluster.SetInParent()
    else:
        raise InvalidArgument(f"unknown object type {kind!r}: use one of {', '.join(_OBJECTS)}")
    if op == "add":
        key, value = _one_pair(data)
        edit.add_key.key, edit.add_key.value = key, value
    elif op == "edit":
        key, value = _one_pair(data)
        edit.edit_key.key, edit.edit_key.value = key, value
    elif op == "delete":
        edit.delete_key.key = data
    elif op == "replace":
        pairs = parse_pairs(data)
        keys = [k for k, _ in pairs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise InvalidArgument(f"duplicate key {duplicates[0]!r} in {data!r}")
        edit.replace.SetInParent()
        edit.replace.replacement.update(dict(pairs))
    else:
        raise InvalidArgument(f"unknown operation {op!r}: use one of {', '.join(_OPERATIONS)}")
    return edit


def parse_edits(words: Sequence[str], project: str = "") -> list[metadata_pb2.Edit]:
    """Edits from pachctl's command line: ``<type> <object> <operation> <data>``, repeated."""
    if not words or len(words) % 4:
        raise InvalidArgument("give edits as groups of 4 arguments: <type> <object> <operation> <data>")
    return [make_edit(words[i], words[i + 1], words[i + 2], words[i + 3], project) for i in range(0, len(words), 4)]


class MetadataClient:
    """``client.metadata``: metadata.API."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = metadata_pb2_grpc.APIStub(channel)

    @translated
    def edit_metadata(self, edits: Iterable[metadata_pb2.Edit], *, timeout: float | None = 30.0) -> None:
        """Apply the edits in one transaction: all of them or none."""
        self.stub.EditMetadata(metadata_pb2.EditMetadataRequest(edits=list(edits)), timeout=timeout)
