"""The PFS model, pure: names and keys, the infos the API returns, change events, and tree logic.

Nothing here touches storage. The service builds these values from store rows; the transport
turns them into pfs_v2 messages. Three groups of logic live here because they are pure and
worth testing on their own:

* names: repo/branch/project name rules, commit references with ancestry (``master^2``);
* trees: turning a sorted stream of file entries into directories with sizes and hashes
  (directories are implicit, derived from file paths, as in Pachyderm);
* the layer compaction policy of the commit storage (see docs/pfs-storage.md).

The last two live in ``pfs_trees``; their names are exported from here as well.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from .errors import InvalidArgument
from .ids import is_global_id
from .pfs_trees import FileEntry, TreeNode, aggregate_tree, layers_to_merge, walk_tree

__all__ = [
    "DEFAULT_BRANCH",
    "DEFAULT_PROJECT",
    "USER_REPO_TYPE",
    "BranchInfo",
    "BranchKey",
    "CommitEvent",
    "CommitEventKind",
    "CommitInfo",
    "CommitKey",
    "CommitRef",
    "CommitSetInfo",
    "CommitState",
    "FileDiff",
    "FileEntry",
    "FileInfo",
    "FileType",
    "OriginKind",
    "PfsEvent",
    "ProjectInfo",
    "RefSpec",
    "RepoEvent",
    "RepoEventKind",
    "RepoInfo",
    "RepoKey",
    "TreeNode",
    "aggregate_tree",
    "check_branch_name",
    "check_name",
    "check_user_repo_type",
    "layers_to_merge",
    "parse_ref",
    "walk_tree",
]

DEFAULT_PROJECT: Final = "default"
USER_REPO_TYPE: Final = "user"
DEFAULT_BRANCH: Final = "master"

_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_MAX_NAME: Final = 256


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def check_name(value: str, what: str) -> str:
    """``value`` if it is a valid repo/project/branch-style name, else InvalidArgument."""
    if not value:
        raise InvalidArgument(f"{what} name is empty", reason="INVALID_NAME", field=what)
    if len(value) > _MAX_NAME or not _NAME.match(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidArgument(
            f"{what} name {shown!r} is invalid: only letters, digits, '_' and '-' are allowed",
            reason="INVALID_NAME",
            field=what,
        )
    return value


def check_user_repo_type(repo: RepoKey) -> RepoKey:
    """``repo`` if a client may create it: only ``user`` repos; spec and meta repos (and any other
    type) belong to the pipeline that creates them. InvalidArgument naming ``repo.type`` else."""
    if repo.type != USER_REPO_TYPE:
        raise InvalidArgument(
            f'cannot create repo "{repo.name}" of repo type "{repo.type}": only "{USER_REPO_TYPE}" repos '
            "can be created; spec and meta repos are created by their pipeline",
            reason="INVALID_REPO_TYPE",
            field="repo.type",
        )
    return repo


def check_branch_name(value: str) -> str:
    """A branch name: a valid name that cannot be mistaken for a commit ID."""
    check_name(value, "branch")
    if is_global_id(value):
        raise InvalidArgument(
            f"branch name {value!r} is invalid: it looks like a commit ID",
            reason="INVALID_NAME",
            field="branch",
        )
    return value


@dataclass(frozen=True, slots=True, order=True)
class RepoKey:
    """A repo's identity. Use :meth:`of` to apply Pachyderm's defaults and validate."""

    project: str
    name: str
    type: str = USER_REPO_TYPE

    @staticmethod
    def of(name: str, project: str = "", type: str = "") -> RepoKey:
        """Project defaults to ``default`` and type to ``user``, also when given empty."""
        return RepoKey(
            check_name(project or DEFAULT_PROJECT, "project"),
            check_name(name, "repo"),
            check_name(type or USER_REPO_TYPE, "repo type"),
        )

    def __str__(self) -> str:
        text = self.name if self.type == USER_REPO_TYPE else f"{self.name}.{self.type}"
        return text if self.project == DEFAULT_PROJECT else f"{self.project}/{text}"

    @property
    def qualified(self) -> str:
        """How pachd names a repo in its messages: always with its project (``default/images``)."""
        text = self.name if self.type == USER_REPO_TYPE else f"{self.name}.{self.type}"
        return f"{self.project}/{text}"


@dataclass(frozen=True, slots=True, order=True)
class BranchKey:
    repo: RepoKey
    name: str

    def __str__(self) -> str:
        return f"{self.repo}@{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class CommitKey:
    """A resolved commit: its repo, its global ID, and the branch it was made on (if any)."""

    repo: RepoKey
    id: str
    branch: str | None = None

    def __str__(self) -> str:
        return f"{self.repo}@{self.id}"


@dataclass(frozen=True, slots=True)
class CommitRef:
    """How a request names a commit: an ID, a branch (its head), either with ancestry (``^2``).

    ``id`` may also hold a branch name (``images@master`` arrives that way from some clients).
    """

    repo: RepoKey
    branch: str = ""
    id: str = ""

    def __str__(self) -> str:
        return f"{self.repo}@{self.id or self.branch}"


@dataclass(frozen=True, slots=True)
class RefSpec:
    """A parsed :class:`CommitRef`: exactly one of ``commit_id`` / ``branch``, then ``ancestors``."""

    commit_id: str | None
    branch: str | None
    ancestors: int


_ANCESTRY = re.compile(r"([\^~])(\d*)")


def _split_ancestry(text: str) -> tuple[str, int]:
    cut = len(text)
    for sep in "^~":
        at = text.find(sep)
        if at != -1:
            cut = min(cut, at)
    base, rest = text[:cut], text[cut:]
    count = 0
    pos = 0
    while pos < len(rest):
        m = _ANCESTRY.match(rest, pos)
        if m is None:
            raise InvalidArgument(f"invalid ancestry {rest!r} in commit {text!r}", reason="INVALID_COMMIT")
        count += int(m.group(2)) if m.group(2) else 1
        pos = m.end()
    return base, count


def parse_ref(ref: CommitRef) -> RefSpec:
    """Interpret a commit reference the way Pachyderm does (ID, branch, ``^``/``~`` ancestry)."""
    if ref.id:
        base, n = _split_ancestry(ref.id)
        if is_global_id(base):
            return RefSpec(base, None, n)
        if base:
            if ref.branch and ref.branch != base:
                raise InvalidArgument(
                    f"invalid commit ID {ref.id!r} given with branch {ref.branch!r}",
                    reason="INVALID_COMMIT",
                )
            return RefSpec(None, check_branch_name(base), n)
        if not ref.branch:
            raise InvalidArgument(f"commit {ref.id!r} names no ID or branch", reason="INVALID_COMMIT")
        branch, m = _split_ancestry(ref.branch)
        return RefSpec(None, check_branch_name(branch), n + m)
    if ref.branch:
        branch, n = _split_ancestry(ref.branch)
        return RefSpec(None, check_branch_name(branch), n)
    raise InvalidArgument(f"a commit in repo {ref.repo} needs an ID or a branch", reason="INVALID_COMMIT")


# --------------------------------------------------------------------------------------------
# Enums and infos
# --------------------------------------------------------------------------------------------


class OriginKind(enum.IntEnum):
    UNKNOWN = 0
    USER = 1
    AUTO = 2
    FSCK = 3


class CommitState(enum.IntEnum):
    """Each state implies the earlier ones; READY means every direct provenance commit finished."""

    UNKNOWN = 0
    STARTED = 1
    READY = 2
    FINISHING = 3
    FINISHED = 4


class FileType(enum.IntEnum):
    RESERVED = 0
    FILE = 1
    DIR = 2


@dataclass(frozen=True, slots=True)
class RepoInfo:
    repo: RepoKey
    created: datetime
    description: str
    branches: tuple[BranchKey, ...]
    # Size of the master head (Pachyderm's size_bytes_upper_bound); 0 without one.
    size_bytes: int
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BranchInfo:
    branch: BranchKey
    head: CommitKey | None
    provenance: tuple[BranchKey, ...]
    subvenance: tuple[BranchKey, ...]
    direct_provenance: tuple[BranchKey, ...]
    created_at: datetime
    updated_at: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommitInfo:
    commit: CommitKey
    origin: OriginKind
    description: str
    parent: CommitKey | None
    children: tuple[CommitKey, ...]
    started: datetime
    finishing: datetime | None
    finished: datetime | None
    direct_provenance: tuple[CommitKey, ...]
    direct_subvenance: tuple[CommitKey, ...]
    error: str
    size_bytes: int
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def state(self) -> CommitState:
        """The furthest of STARTED / FINISHING / FINISHED reached (READY depends on provenance)."""
        if self.finished is not None:
            return CommitState.FINISHED
        if self.finishing is not None:
            return CommitState.FINISHING
        return CommitState.STARTED


@dataclass(frozen=True, slots=True)
class CommitStatus:
    """What the job engine reads of a commit: a :class:`CommitInfo` without what costs reads
    it does not need (children, subvenance, size, metadata)."""

    commit: CommitKey
    parent: CommitKey | None
    direct_provenance: tuple[CommitKey, ...]
    finishing: bool
    finished: bool
    error: str


@dataclass(frozen=True, slots=True)
class CommitSetInfo:
    id: str
    commits: tuple[CommitInfo, ...]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file or directory of a commit. Directory paths end in ``/`` (the root is ``/``).

    ``hash`` is the sha256 of a file's content (also its blob name) or of a directory's listing.
    """

    commit: CommitKey
    path: str
    file_type: FileType
    size_bytes: int
    hash: str
    committed: datetime | None

    @property
    def blob(self) -> str | None:
        """The blob holding a file's content (None for a directory)."""
        return self.hash if self.file_type is FileType.FILE else None


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One path that differs between two commits: only ``new`` = added, only ``old`` = deleted."""

    old: FileInfo | None
    new: FileInfo | None


# --------------------------------------------------------------------------------------------
# Change events (observers run inside the write transaction)
# --------------------------------------------------------------------------------------------


class CommitEventKind(enum.StrEnum):
    STARTED = "commit_started"
    FINISHING = "commit_finishing"
    FINISHED = "commit_finished"
    DELETED = "commit_deleted"


class RepoEventKind(enum.StrEnum):
    CREATED = "repo_created"
    DELETING = "repo_deleting"


@dataclass(frozen=True, slots=True)
class CommitEvent:
    """A commit reached a state. ``force`` carries FinishCommit's flag (observers may veto).
    ``cause``, for DELETED: what removed it, as a sentence (``commit set <id> was dropped``)."""

    kind: CommitEventKind
    commit: CommitInfo
    force: bool = False
    cause: str = ""


@dataclass(frozen=True, slots=True)
class RepoEvent:
    """A repo was created, or is about to be deleted (an observer may veto by raising)."""

    kind: RepoEventKind
    repo: RepoKey
    force: bool = False


PfsEvent = CommitEvent | RepoEvent


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """A project: a namespace for repos and pipelines ("default" always exists)."""

    name: str
    description: str
    created: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The project's pipeline defaults as JSON; "" when none were set.
    defaults_json: str = ""
