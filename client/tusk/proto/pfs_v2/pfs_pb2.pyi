import datetime

from tusk.proto.taskapi import task_pb2 as _task_pb2
from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OriginKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORIGIN_KIND_UNKNOWN: _ClassVar[OriginKind]
    USER: _ClassVar[OriginKind]
    AUTO: _ClassVar[OriginKind]
    FSCK: _ClassVar[OriginKind]

class CommitState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMIT_STATE_UNKNOWN: _ClassVar[CommitState]
    STARTED: _ClassVar[CommitState]
    READY: _ClassVar[CommitState]
    FINISHING: _ClassVar[CommitState]
    FINISHED: _ClassVar[CommitState]

class FileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVED: _ClassVar[FileType]
    FILE: _ClassVar[FileType]
    DIR: _ClassVar[FileType]

class Delimiter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[Delimiter]
    JSON: _ClassVar[Delimiter]
    LINE: _ClassVar[Delimiter]
    SQL: _ClassVar[Delimiter]
    CSV: _ClassVar[Delimiter]
ORIGIN_KIND_UNKNOWN: OriginKind
USER: OriginKind
AUTO: OriginKind
FSCK: OriginKind
COMMIT_STATE_UNKNOWN: CommitState
STARTED: CommitState
READY: CommitState
FINISHING: CommitState
FINISHED: CommitState
RESERVED: FileType
FILE: FileType
DIR: FileType
NONE: Delimiter
JSON: Delimiter
LINE: Delimiter
SQL: Delimiter
CSV: Delimiter

class Project(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Repo(_message.Message):
    __slots__ = ("name", "type", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    project: Project
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class Branch(_message.Message):
    __slots__ = ("repo", "name")
    REPO_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    name: str
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class Commit(_message.Message):
    __slots__ = ("branch", "id", "repo")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REPO_FIELD_NUMBER: _ClassVar[int]
    branch: Branch
    id: str
    repo: Repo
    def __init__(self, branch: _Optional[_Union[Branch, _Mapping]] = ..., id: _Optional[str] = ..., repo: _Optional[_Union[Repo, _Mapping]] = ...) -> None: ...

class CommitSet(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class File(_message.Message):
    __slots__ = ("commit", "path", "datum")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    path: str
    datum: str
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., path: _Optional[str] = ..., datum: _Optional[str] = ...) -> None: ...

class PathRange(_message.Message):
    __slots__ = ("lower", "upper")
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    lower: str
    upper: str
    def __init__(self, lower: _Optional[str] = ..., upper: _Optional[str] = ...) -> None: ...

class AuthInfo(_message.Message):
    __slots__ = ("permissions", "roles")
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    permissions: _containers.RepeatedScalarFieldContainer[int]
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, permissions: _Optional[_Iterable[int]] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class RepoInfo(_message.Message):
    __slots__ = ("repo", "created", "size_bytes_upper_bound", "description", "branches", "auth_info", "details", "metadata")
    class Details(_message.Message):
        __slots__ = ("size_bytes",)
        SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
        size_bytes: int
        def __init__(self, size_bytes: _Optional[int] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REPO_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BRANCHES_FIELD_NUMBER: _ClassVar[int]
    AUTH_INFO_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    created: _timestamp_pb2.Timestamp
    size_bytes_upper_bound: int
    description: str
    branches: _containers.RepeatedCompositeFieldContainer[Branch]
    auth_info: AuthInfo
    details: RepoInfo.Details
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., size_bytes_upper_bound: _Optional[int] = ..., description: _Optional[str] = ..., branches: _Optional[_Iterable[_Union[Branch, _Mapping]]] = ..., auth_info: _Optional[_Union[AuthInfo, _Mapping]] = ..., details: _Optional[_Union[RepoInfo.Details, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Trigger(_message.Message):
    __slots__ = ("branch", "all", "rate_limit_spec", "size", "commits", "cron_spec")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_SPEC_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    COMMITS_FIELD_NUMBER: _ClassVar[int]
    CRON_SPEC_FIELD_NUMBER: _ClassVar[int]
    branch: str
    all: bool
    rate_limit_spec: str
    size: str
    commits: int
    cron_spec: str
    def __init__(self, branch: _Optional[str] = ..., all: _Optional[bool] = ..., rate_limit_spec: _Optional[str] = ..., size: _Optional[str] = ..., commits: _Optional[int] = ..., cron_spec: _Optional[str] = ...) -> None: ...

class PropagationSpec(_message.Message):
    __slots__ = ("never",)
    NEVER_FIELD_NUMBER: _ClassVar[int]
    never: bool
    def __init__(self, never: _Optional[bool] = ...) -> None: ...

class BranchPropagationSpec(_message.Message):
    __slots__ = ("branch", "propagation_spec")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_SPEC_FIELD_NUMBER: _ClassVar[int]
    branch: Branch
    propagation_spec: PropagationSpec
    def __init__(self, branch: _Optional[_Union[Branch, _Mapping]] = ..., propagation_spec: _Optional[_Union[PropagationSpec, _Mapping]] = ...) -> None: ...

class BranchInfo(_message.Message):
    __slots__ = ("branch", "head", "provenance", "subvenance", "direct_provenance", "trigger", "metadata", "created_by", "created_at", "updated_at", "branch_propagation_specs")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    SUBVENANCE_FIELD_NUMBER: _ClassVar[int]
    DIRECT_PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    BRANCH_PROPAGATION_SPECS_FIELD_NUMBER: _ClassVar[int]
    branch: Branch
    head: Commit
    provenance: _containers.RepeatedCompositeFieldContainer[Branch]
    subvenance: _containers.RepeatedCompositeFieldContainer[Branch]
    direct_provenance: _containers.RepeatedCompositeFieldContainer[Branch]
    trigger: Trigger
    metadata: _containers.ScalarMap[str, str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    branch_propagation_specs: _containers.RepeatedCompositeFieldContainer[BranchPropagationSpec]
    def __init__(self, branch: _Optional[_Union[Branch, _Mapping]] = ..., head: _Optional[_Union[Commit, _Mapping]] = ..., provenance: _Optional[_Iterable[_Union[Branch, _Mapping]]] = ..., subvenance: _Optional[_Iterable[_Union[Branch, _Mapping]]] = ..., direct_provenance: _Optional[_Iterable[_Union[Branch, _Mapping]]] = ..., trigger: _Optional[_Union[Trigger, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., branch_propagation_specs: _Optional[_Iterable[_Union[BranchPropagationSpec, _Mapping]]] = ...) -> None: ...

class CommitOrigin(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: OriginKind
    def __init__(self, kind: _Optional[_Union[OriginKind, str]] = ...) -> None: ...

class CommitInfo(_message.Message):
    __slots__ = ("commit", "origin", "description", "parent_commit", "child_commits", "started", "finishing", "finished", "direct_provenance", "direct_subvenance", "error", "size_bytes_upper_bound", "details", "metadata", "created_by", "created_at", "updated_at")
    class Details(_message.Message):
        __slots__ = ("size_bytes", "compacting_time", "validating_time")
        SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
        COMPACTING_TIME_FIELD_NUMBER: _ClassVar[int]
        VALIDATING_TIME_FIELD_NUMBER: _ClassVar[int]
        size_bytes: int
        compacting_time: _duration_pb2.Duration
        validating_time: _duration_pb2.Duration
        def __init__(self, size_bytes: _Optional[int] = ..., compacting_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., validating_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARENT_COMMIT_FIELD_NUMBER: _ClassVar[int]
    CHILD_COMMITS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FINISHING_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    DIRECT_PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    DIRECT_SUBVENANCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    origin: CommitOrigin
    description: str
    parent_commit: Commit
    child_commits: _containers.RepeatedCompositeFieldContainer[Commit]
    started: _timestamp_pb2.Timestamp
    finishing: _timestamp_pb2.Timestamp
    finished: _timestamp_pb2.Timestamp
    direct_provenance: _containers.RepeatedCompositeFieldContainer[Commit]
    direct_subvenance: _containers.RepeatedCompositeFieldContainer[Commit]
    error: str
    size_bytes_upper_bound: int
    details: CommitInfo.Details
    metadata: _containers.ScalarMap[str, str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., origin: _Optional[_Union[CommitOrigin, _Mapping]] = ..., description: _Optional[str] = ..., parent_commit: _Optional[_Union[Commit, _Mapping]] = ..., child_commits: _Optional[_Iterable[_Union[Commit, _Mapping]]] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finishing: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., direct_provenance: _Optional[_Iterable[_Union[Commit, _Mapping]]] = ..., direct_subvenance: _Optional[_Iterable[_Union[Commit, _Mapping]]] = ..., error: _Optional[str] = ..., size_bytes_upper_bound: _Optional[int] = ..., details: _Optional[_Union[CommitInfo.Details, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CommitSetInfo(_message.Message):
    __slots__ = ("commit_set", "commits")
    COMMIT_SET_FIELD_NUMBER: _ClassVar[int]
    COMMITS_FIELD_NUMBER: _ClassVar[int]
    commit_set: CommitSet
    commits: _containers.RepeatedCompositeFieldContainer[CommitInfo]
    def __init__(self, commit_set: _Optional[_Union[CommitSet, _Mapping]] = ..., commits: _Optional[_Iterable[_Union[CommitInfo, _Mapping]]] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("file", "file_type", "committed", "size_bytes", "hash")
    FILE_FIELD_NUMBER: _ClassVar[int]
    FILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    file: File
    file_type: FileType
    committed: _timestamp_pb2.Timestamp
    size_bytes: int
    hash: bytes
    def __init__(self, file: _Optional[_Union[File, _Mapping]] = ..., file_type: _Optional[_Union[FileType, str]] = ..., committed: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., size_bytes: _Optional[int] = ..., hash: _Optional[bytes] = ...) -> None: ...

class ObjectStorageEgress(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class SQLDatabaseEgress(_message.Message):
    __slots__ = ("url", "file_format", "secret")
    class FileFormat(_message.Message):
        __slots__ = ("type", "columns")
        class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            UNKNOWN: _ClassVar[SQLDatabaseEgress.FileFormat.Type]
            CSV: _ClassVar[SQLDatabaseEgress.FileFormat.Type]
            JSON: _ClassVar[SQLDatabaseEgress.FileFormat.Type]
            PARQUET: _ClassVar[SQLDatabaseEgress.FileFormat.Type]
        UNKNOWN: SQLDatabaseEgress.FileFormat.Type
        CSV: SQLDatabaseEgress.FileFormat.Type
        JSON: SQLDatabaseEgress.FileFormat.Type
        PARQUET: SQLDatabaseEgress.FileFormat.Type
        TYPE_FIELD_NUMBER: _ClassVar[int]
        COLUMNS_FIELD_NUMBER: _ClassVar[int]
        type: SQLDatabaseEgress.FileFormat.Type
        columns: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, type: _Optional[_Union[SQLDatabaseEgress.FileFormat.Type, str]] = ..., columns: _Optional[_Iterable[str]] = ...) -> None: ...
    class Secret(_message.Message):
        __slots__ = ("name", "key")
        NAME_FIELD_NUMBER: _ClassVar[int]
        KEY_FIELD_NUMBER: _ClassVar[int]
        name: str
        key: str
        def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    FILE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    url: str
    file_format: SQLDatabaseEgress.FileFormat
    secret: SQLDatabaseEgress.Secret
    def __init__(self, url: _Optional[str] = ..., file_format: _Optional[_Union[SQLDatabaseEgress.FileFormat, _Mapping]] = ..., secret: _Optional[_Union[SQLDatabaseEgress.Secret, _Mapping]] = ...) -> None: ...

class CreateRepoRequest(_message.Message):
    __slots__ = ("repo", "description", "update")
    REPO_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    description: str
    update: bool
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., description: _Optional[str] = ..., update: _Optional[bool] = ...) -> None: ...

class InspectRepoRequest(_message.Message):
    __slots__ = ("repo",)
    REPO_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ...) -> None: ...

class RepoPage(_message.Message):
    __slots__ = ("order", "page_size", "page_index")
    class Ordering(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PROJECT_REPO: _ClassVar[RepoPage.Ordering]
    PROJECT_REPO: RepoPage.Ordering
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_INDEX_FIELD_NUMBER: _ClassVar[int]
    order: RepoPage.Ordering
    page_size: int
    page_index: int
    def __init__(self, order: _Optional[_Union[RepoPage.Ordering, str]] = ..., page_size: _Optional[int] = ..., page_index: _Optional[int] = ...) -> None: ...

class ListRepoRequest(_message.Message):
    __slots__ = ("type", "projects", "page")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    type: str
    projects: _containers.RepeatedCompositeFieldContainer[Project]
    page: RepoPage
    def __init__(self, type: _Optional[str] = ..., projects: _Optional[_Iterable[_Union[Project, _Mapping]]] = ..., page: _Optional[_Union[RepoPage, _Mapping]] = ...) -> None: ...

class DeleteRepoRequest(_message.Message):
    __slots__ = ("repo", "force")
    REPO_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    force: bool
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteRepoResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class StartCommitRequest(_message.Message):
    __slots__ = ("parent", "description", "branch")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    parent: Commit
    description: str
    branch: Branch
    def __init__(self, parent: _Optional[_Union[Commit, _Mapping]] = ..., description: _Optional[str] = ..., branch: _Optional[_Union[Branch, _Mapping]] = ...) -> None: ...

class FinishCommitRequest(_message.Message):
    __slots__ = ("commit", "description", "error", "force")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    description: str
    error: str
    force: bool
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., description: _Optional[str] = ..., error: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class InspectCommitRequest(_message.Message):
    __slots__ = ("commit", "wait")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    wait: CommitState
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., wait: _Optional[_Union[CommitState, str]] = ...) -> None: ...

class ListCommitRequest(_message.Message):
    __slots__ = ("repo", "to", "number", "reverse", "all", "origin_kind", "started_time")
    REPO_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_KIND_FIELD_NUMBER: _ClassVar[int]
    STARTED_TIME_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    to: Commit
    number: int
    reverse: bool
    all: bool
    origin_kind: OriginKind
    started_time: _timestamp_pb2.Timestamp
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., to: _Optional[_Union[Commit, _Mapping]] = ..., number: _Optional[int] = ..., reverse: _Optional[bool] = ..., all: _Optional[bool] = ..., origin_kind: _Optional[_Union[OriginKind, str]] = ..., started_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class SubscribeCommitRequest(_message.Message):
    __slots__ = ("repo", "branch", "state", "all", "origin_kind")
    REPO_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_KIND_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    branch: str
    state: CommitState
    all: bool
    origin_kind: OriginKind
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., branch: _Optional[str] = ..., state: _Optional[_Union[CommitState, str]] = ..., all: _Optional[bool] = ..., origin_kind: _Optional[_Union[OriginKind, str]] = ..., **kwargs) -> None: ...

class InspectCommitSetRequest(_message.Message):
    __slots__ = ("commit_set", "wait")
    COMMIT_SET_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    commit_set: CommitSet
    wait: bool
    def __init__(self, commit_set: _Optional[_Union[CommitSet, _Mapping]] = ..., wait: _Optional[bool] = ...) -> None: ...

class ListCommitSetRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: Project
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class SquashCommitSetRequest(_message.Message):
    __slots__ = ("commit_set",)
    COMMIT_SET_FIELD_NUMBER: _ClassVar[int]
    commit_set: CommitSet
    def __init__(self, commit_set: _Optional[_Union[CommitSet, _Mapping]] = ...) -> None: ...

class DropCommitSetRequest(_message.Message):
    __slots__ = ("commit_set",)
    COMMIT_SET_FIELD_NUMBER: _ClassVar[int]
    commit_set: CommitSet
    def __init__(self, commit_set: _Optional[_Union[CommitSet, _Mapping]] = ...) -> None: ...

class CreateBranchRequest(_message.Message):
    __slots__ = ("head", "branch", "provenance", "trigger", "new_commit_set", "branch_propagation_specs")
    HEAD_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    NEW_COMMIT_SET_FIELD_NUMBER: _ClassVar[int]
    BRANCH_PROPAGATION_SPECS_FIELD_NUMBER: _ClassVar[int]
    head: Commit
    branch: Branch
    provenance: _containers.RepeatedCompositeFieldContainer[Branch]
    trigger: Trigger
    new_commit_set: bool
    branch_propagation_specs: _containers.RepeatedCompositeFieldContainer[BranchPropagationSpec]
    def __init__(self, head: _Optional[_Union[Commit, _Mapping]] = ..., branch: _Optional[_Union[Branch, _Mapping]] = ..., provenance: _Optional[_Iterable[_Union[Branch, _Mapping]]] = ..., trigger: _Optional[_Union[Trigger, _Mapping]] = ..., new_commit_set: _Optional[bool] = ..., branch_propagation_specs: _Optional[_Iterable[_Union[BranchPropagationSpec, _Mapping]]] = ...) -> None: ...

class InspectBranchRequest(_message.Message):
    __slots__ = ("branch",)
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    branch: Branch
    def __init__(self, branch: _Optional[_Union[Branch, _Mapping]] = ...) -> None: ...

class ListBranchRequest(_message.Message):
    __slots__ = ("repo", "reverse")
    REPO_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    repo: Repo
    reverse: bool
    def __init__(self, repo: _Optional[_Union[Repo, _Mapping]] = ..., reverse: _Optional[bool] = ...) -> None: ...

class DeleteBranchRequest(_message.Message):
    __slots__ = ("branch", "force")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    branch: Branch
    force: bool
    def __init__(self, branch: _Optional[_Union[Branch, _Mapping]] = ..., force: _Optional[bool] = ...) -> None: ...

class AddFile(_message.Message):
    __slots__ = ("path", "datum", "raw", "url")
    class URLSource(_message.Message):
        __slots__ = ("URL", "recursive", "concurrency")
        URL_FIELD_NUMBER: _ClassVar[int]
        RECURSIVE_FIELD_NUMBER: _ClassVar[int]
        CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
        URL: str
        recursive: bool
        concurrency: int
        def __init__(self, URL: _Optional[str] = ..., recursive: _Optional[bool] = ..., concurrency: _Optional[int] = ...) -> None: ...
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    path: str
    datum: str
    raw: _wrappers_pb2.BytesValue
    url: AddFile.URLSource
    def __init__(self, path: _Optional[str] = ..., datum: _Optional[str] = ..., raw: _Optional[_Union[_wrappers_pb2.BytesValue, _Mapping]] = ..., url: _Optional[_Union[AddFile.URLSource, _Mapping]] = ...) -> None: ...

class DeleteFile(_message.Message):
    __slots__ = ("path", "datum")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    path: str
    datum: str
    def __init__(self, path: _Optional[str] = ..., datum: _Optional[str] = ...) -> None: ...

class CopyFile(_message.Message):
    __slots__ = ("dst", "datum", "src", "append")
    DST_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    SRC_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    dst: str
    datum: str
    src: File
    append: bool
    def __init__(self, dst: _Optional[str] = ..., datum: _Optional[str] = ..., src: _Optional[_Union[File, _Mapping]] = ..., append: _Optional[bool] = ...) -> None: ...

class ModifyFileRequest(_message.Message):
    __slots__ = ("set_commit", "add_file", "delete_file", "copy_file")
    SET_COMMIT_FIELD_NUMBER: _ClassVar[int]
    ADD_FILE_FIELD_NUMBER: _ClassVar[int]
    DELETE_FILE_FIELD_NUMBER: _ClassVar[int]
    COPY_FILE_FIELD_NUMBER: _ClassVar[int]
    set_commit: Commit
    add_file: AddFile
    delete_file: DeleteFile
    copy_file: CopyFile
    def __init__(self, set_commit: _Optional[_Union[Commit, _Mapping]] = ..., add_file: _Optional[_Union[AddFile, _Mapping]] = ..., delete_file: _Optional[_Union[DeleteFile, _Mapping]] = ..., copy_file: _Optional[_Union[CopyFile, _Mapping]] = ...) -> None: ...

class GetFileRequest(_message.Message):
    __slots__ = ("file", "URL", "offset", "path_range")
    FILE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PATH_RANGE_FIELD_NUMBER: _ClassVar[int]
    file: File
    URL: str
    offset: int
    path_range: PathRange
    def __init__(self, file: _Optional[_Union[File, _Mapping]] = ..., URL: _Optional[str] = ..., offset: _Optional[int] = ..., path_range: _Optional[_Union[PathRange, _Mapping]] = ...) -> None: ...

class InspectFileRequest(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: File
    def __init__(self, file: _Optional[_Union[File, _Mapping]] = ...) -> None: ...

class ListFileRequest(_message.Message):
    __slots__ = ("file", "paginationMarker", "number", "reverse")
    FILE_FIELD_NUMBER: _ClassVar[int]
    PAGINATIONMARKER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    file: File
    paginationMarker: File
    number: int
    reverse: bool
    def __init__(self, file: _Optional[_Union[File, _Mapping]] = ..., paginationMarker: _Optional[_Union[File, _Mapping]] = ..., number: _Optional[int] = ..., reverse: _Optional[bool] = ...) -> None: ...

class WalkFileRequest(_message.Message):
    __slots__ = ("file", "paginationMarker", "number", "reverse")
    FILE_FIELD_NUMBER: _ClassVar[int]
    PAGINATIONMARKER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    file: File
    paginationMarker: File
    number: int
    reverse: bool
    def __init__(self, file: _Optional[_Union[File, _Mapping]] = ..., paginationMarker: _Optional[_Union[File, _Mapping]] = ..., number: _Optional[int] = ..., reverse: _Optional[bool] = ...) -> None: ...

class GlobFileRequest(_message.Message):
    __slots__ = ("commit", "pattern", "path_range")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    PATH_RANGE_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    pattern: str
    path_range: PathRange
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., pattern: _Optional[str] = ..., path_range: _Optional[_Union[PathRange, _Mapping]] = ...) -> None: ...

class DiffFileRequest(_message.Message):
    __slots__ = ("new_file", "old_file", "shallow")
    NEW_FILE_FIELD_NUMBER: _ClassVar[int]
    OLD_FILE_FIELD_NUMBER: _ClassVar[int]
    SHALLOW_FIELD_NUMBER: _ClassVar[int]
    new_file: File
    old_file: File
    shallow: bool
    def __init__(self, new_file: _Optional[_Union[File, _Mapping]] = ..., old_file: _Optional[_Union[File, _Mapping]] = ..., shallow: _Optional[bool] = ...) -> None: ...

class DiffFileResponse(_message.Message):
    __slots__ = ("new_file", "old_file")
    NEW_FILE_FIELD_NUMBER: _ClassVar[int]
    OLD_FILE_FIELD_NUMBER: _ClassVar[int]
    new_file: FileInfo
    old_file: FileInfo
    def __init__(self, new_file: _Optional[_Union[FileInfo, _Mapping]] = ..., old_file: _Optional[_Union[FileInfo, _Mapping]] = ...) -> None: ...

class RepoPicker(_message.Message):
    __slots__ = ("name",)
    class RepoName(_message.Message):
        __slots__ = ("project", "name", "type")
        PROJECT_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        TYPE_FIELD_NUMBER: _ClassVar[int]
        project: ProjectPicker
        name: str
        type: str
        def __init__(self, project: _Optional[_Union[ProjectPicker, _Mapping]] = ..., name: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: RepoPicker.RepoName
    def __init__(self, name: _Optional[_Union[RepoPicker.RepoName, _Mapping]] = ...) -> None: ...

class BranchPicker(_message.Message):
    __slots__ = ("name",)
    class BranchName(_message.Message):
        __slots__ = ("repo", "name")
        REPO_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        repo: RepoPicker
        name: str
        def __init__(self, repo: _Optional[_Union[RepoPicker, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: BranchPicker.BranchName
    def __init__(self, name: _Optional[_Union[BranchPicker.BranchName, _Mapping]] = ...) -> None: ...

class CommitPicker(_message.Message):
    __slots__ = ("branch_head", "id", "ancestor", "branch_root")
    class CommitByGlobalId(_message.Message):
        __slots__ = ("repo", "id")
        REPO_FIELD_NUMBER: _ClassVar[int]
        ID_FIELD_NUMBER: _ClassVar[int]
        repo: RepoPicker
        id: str
        def __init__(self, repo: _Optional[_Union[RepoPicker, _Mapping]] = ..., id: _Optional[str] = ...) -> None: ...
    class BranchRoot(_message.Message):
        __slots__ = ("offset", "branch")
        OFFSET_FIELD_NUMBER: _ClassVar[int]
        BRANCH_FIELD_NUMBER: _ClassVar[int]
        offset: int
        branch: BranchPicker
        def __init__(self, offset: _Optional[int] = ..., branch: _Optional[_Union[BranchPicker, _Mapping]] = ...) -> None: ...
    class AncestorOf(_message.Message):
        __slots__ = ("offset", "start")
        OFFSET_FIELD_NUMBER: _ClassVar[int]
        START_FIELD_NUMBER: _ClassVar[int]
        offset: int
        start: CommitPicker
        def __init__(self, offset: _Optional[int] = ..., start: _Optional[_Union[CommitPicker, _Mapping]] = ...) -> None: ...
    BRANCH_HEAD_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ANCESTOR_FIELD_NUMBER: _ClassVar[int]
    BRANCH_ROOT_FIELD_NUMBER: _ClassVar[int]
    branch_head: BranchPicker
    id: CommitPicker.CommitByGlobalId
    ancestor: CommitPicker.AncestorOf
    branch_root: CommitPicker.BranchRoot
    def __init__(self, branch_head: _Optional[_Union[BranchPicker, _Mapping]] = ..., id: _Optional[_Union[CommitPicker.CommitByGlobalId, _Mapping]] = ..., ancestor: _Optional[_Union[CommitPicker.AncestorOf, _Mapping]] = ..., branch_root: _Optional[_Union[CommitPicker.BranchRoot, _Mapping]] = ...) -> None: ...

class ProjectInfo(_message.Message):
    __slots__ = ("project", "description", "auth_info", "created_at", "metadata", "created_by")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AUTH_INFO_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    project: Project
    description: str
    auth_info: AuthInfo
    created_at: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    created_by: str
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ..., description: _Optional[str] = ..., auth_info: _Optional[_Union[AuthInfo, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ...) -> None: ...

class ProjectPicker(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteReposRequest(_message.Message):
    __slots__ = ("projects", "force", "all")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[Project]
    force: bool
    all: bool
    def __init__(self, projects: _Optional[_Iterable[_Union[Project, _Mapping]]] = ..., force: _Optional[bool] = ..., all: _Optional[bool] = ...) -> None: ...

class DeleteReposResponse(_message.Message):
    __slots__ = ("repos",)
    REPOS_FIELD_NUMBER: _ClassVar[int]
    repos: _containers.RepeatedCompositeFieldContainer[Repo]
    def __init__(self, repos: _Optional[_Iterable[_Union[Repo, _Mapping]]] = ...) -> None: ...

class ClearCommitRequest(_message.Message):
    __slots__ = ("commit",)
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ...) -> None: ...

class SquashCommitRequest(_message.Message):
    __slots__ = ("commit", "recursive")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    recursive: bool
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., recursive: _Optional[bool] = ...) -> None: ...

class SquashCommitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DropCommitRequest(_message.Message):
    __slots__ = ("commit", "recursive")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    recursive: bool
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., recursive: _Optional[bool] = ...) -> None: ...

class WalkCommitProvenanceRequest(_message.Message):
    __slots__ = ("start", "max_commits", "max_depth")
    START_FIELD_NUMBER: _ClassVar[int]
    MAX_COMMITS_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    start: _containers.RepeatedCompositeFieldContainer[CommitPicker]
    max_commits: int
    max_depth: int
    def __init__(self, start: _Optional[_Iterable[_Union[CommitPicker, _Mapping]]] = ..., max_commits: _Optional[int] = ..., max_depth: _Optional[int] = ...) -> None: ...

class WalkCommitSubvenanceRequest(_message.Message):
    __slots__ = ("start", "max_commits", "max_depth")
    START_FIELD_NUMBER: _ClassVar[int]
    MAX_COMMITS_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    start: _containers.RepeatedCompositeFieldContainer[CommitPicker]
    max_commits: int
    max_depth: int
    def __init__(self, start: _Optional[_Iterable[_Union[CommitPicker, _Mapping]]] = ..., max_commits: _Optional[int] = ..., max_depth: _Optional[int] = ...) -> None: ...

class WalkBranchProvenanceRequest(_message.Message):
    __slots__ = ("start", "max_branches", "max_depth")
    START_FIELD_NUMBER: _ClassVar[int]
    MAX_BRANCHES_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    start: _containers.RepeatedCompositeFieldContainer[BranchPicker]
    max_branches: int
    max_depth: int
    def __init__(self, start: _Optional[_Iterable[_Union[BranchPicker, _Mapping]]] = ..., max_branches: _Optional[int] = ..., max_depth: _Optional[int] = ...) -> None: ...

class WalkBranchSubvenanceRequest(_message.Message):
    __slots__ = ("start", "max_branches", "max_depth")
    START_FIELD_NUMBER: _ClassVar[int]
    MAX_BRANCHES_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    start: _containers.RepeatedCompositeFieldContainer[BranchPicker]
    max_branches: int
    max_depth: int
    def __init__(self, start: _Optional[_Iterable[_Union[BranchPicker, _Mapping]]] = ..., max_branches: _Optional[int] = ..., max_depth: _Optional[int] = ...) -> None: ...

class DropCommitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FindCommitsRequest(_message.Message):
    __slots__ = ("start", "file_path", "limit")
    START_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    start: Commit
    file_path: str
    limit: int
    def __init__(self, start: _Optional[_Union[Commit, _Mapping]] = ..., file_path: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class FindCommitsResponse(_message.Message):
    __slots__ = ("found_commit", "last_searched_commit", "commits_searched")
    FOUND_COMMIT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEARCHED_COMMIT_FIELD_NUMBER: _ClassVar[int]
    COMMITS_SEARCHED_FIELD_NUMBER: _ClassVar[int]
    found_commit: Commit
    last_searched_commit: Commit
    commits_searched: int
    def __init__(self, found_commit: _Optional[_Union[Commit, _Mapping]] = ..., last_searched_commit: _Optional[_Union[Commit, _Mapping]] = ..., commits_searched: _Optional[int] = ...) -> None: ...

class CreateProjectRequest(_message.Message):
    __slots__ = ("project", "description", "update")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    project: Project
    description: str
    update: bool
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ..., description: _Optional[str] = ..., update: _Optional[bool] = ...) -> None: ...

class InspectProjectRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: Project
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class InspectProjectV2Request(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: Project
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class InspectProjectV2Response(_message.Message):
    __slots__ = ("info", "defaults_json")
    INFO_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_JSON_FIELD_NUMBER: _ClassVar[int]
    info: ProjectInfo
    defaults_json: str
    def __init__(self, info: _Optional[_Union[ProjectInfo, _Mapping]] = ..., defaults_json: _Optional[str] = ...) -> None: ...

class ListProjectRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteProjectRequest(_message.Message):
    __slots__ = ("project", "force")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    project: Project
    force: bool
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ..., force: _Optional[bool] = ...) -> None: ...

class FsckRequest(_message.Message):
    __slots__ = ("fix", "zombie_target", "zombie_all")
    FIX_FIELD_NUMBER: _ClassVar[int]
    ZOMBIE_TARGET_FIELD_NUMBER: _ClassVar[int]
    ZOMBIE_ALL_FIELD_NUMBER: _ClassVar[int]
    fix: bool
    zombie_target: Commit
    zombie_all: bool
    def __init__(self, fix: _Optional[bool] = ..., zombie_target: _Optional[_Union[Commit, _Mapping]] = ..., zombie_all: _Optional[bool] = ...) -> None: ...

class FsckResponse(_message.Message):
    __slots__ = ("fix", "error")
    FIX_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    fix: str
    error: str
    def __init__(self, fix: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class CreateFileSetResponse(_message.Message):
    __slots__ = ("file_set_id",)
    FILE_SET_ID_FIELD_NUMBER: _ClassVar[int]
    file_set_id: str
    def __init__(self, file_set_id: _Optional[str] = ...) -> None: ...

class GetFileSetRequest(_message.Message):
    __slots__ = ("commit", "type")
    class FileSetType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TOTAL: _ClassVar[GetFileSetRequest.FileSetType]
        DIFF: _ClassVar[GetFileSetRequest.FileSetType]
    TOTAL: GetFileSetRequest.FileSetType
    DIFF: GetFileSetRequest.FileSetType
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    type: GetFileSetRequest.FileSetType
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., type: _Optional[_Union[GetFileSetRequest.FileSetType, str]] = ...) -> None: ...

class AddFileSetRequest(_message.Message):
    __slots__ = ("commit", "file_set_id")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    FILE_SET_ID_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    file_set_id: str
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., file_set_id: _Optional[str] = ...) -> None: ...

class RenewFileSetRequest(_message.Message):
    __slots__ = ("file_set_id", "ttl_seconds")
    FILE_SET_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    file_set_id: str
    ttl_seconds: int
    def __init__(self, file_set_id: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class ComposeFileSetRequest(_message.Message):
    __slots__ = ("file_set_ids", "ttl_seconds", "compact")
    FILE_SET_IDS_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPACT_FIELD_NUMBER: _ClassVar[int]
    file_set_ids: _containers.RepeatedScalarFieldContainer[str]
    ttl_seconds: int
    compact: bool
    def __init__(self, file_set_ids: _Optional[_Iterable[str]] = ..., ttl_seconds: _Optional[int] = ..., compact: _Optional[bool] = ...) -> None: ...

class ShardFileSetRequest(_message.Message):
    __slots__ = ("file_set_id", "num_files", "size_bytes")
    FILE_SET_ID_FIELD_NUMBER: _ClassVar[int]
    NUM_FILES_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    file_set_id: str
    num_files: int
    size_bytes: int
    def __init__(self, file_set_id: _Optional[str] = ..., num_files: _Optional[int] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class ShardFileSetResponse(_message.Message):
    __slots__ = ("shards",)
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[PathRange]
    def __init__(self, shards: _Optional[_Iterable[_Union[PathRange, _Mapping]]] = ...) -> None: ...

class CheckStorageRequest(_message.Message):
    __slots__ = ("read_chunk_data", "chunk_begin", "chunk_end")
    READ_CHUNK_DATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_BEGIN_FIELD_NUMBER: _ClassVar[int]
    CHUNK_END_FIELD_NUMBER: _ClassVar[int]
    read_chunk_data: bool
    chunk_begin: bytes
    chunk_end: bytes
    def __init__(self, read_chunk_data: _Optional[bool] = ..., chunk_begin: _Optional[bytes] = ..., chunk_end: _Optional[bytes] = ...) -> None: ...

class CheckStorageResponse(_message.Message):
    __slots__ = ("chunk_object_count",)
    CHUNK_OBJECT_COUNT_FIELD_NUMBER: _ClassVar[int]
    chunk_object_count: int
    def __init__(self, chunk_object_count: _Optional[int] = ...) -> None: ...

class PutCacheRequest(_message.Message):
    __slots__ = ("key", "value", "file_set_ids", "tag")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FILE_SET_IDS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: _any_pb2.Any
    file_set_ids: _containers.RepeatedScalarFieldContainer[str]
    tag: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., file_set_ids: _Optional[_Iterable[str]] = ..., tag: _Optional[str] = ...) -> None: ...

class GetCacheRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetCacheResponse(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: _any_pb2.Any
    def __init__(self, value: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class ClearCacheRequest(_message.Message):
    __slots__ = ("tag_prefix",)
    TAG_PREFIX_FIELD_NUMBER: _ClassVar[int]
    tag_prefix: str
    def __init__(self, tag_prefix: _Optional[str] = ...) -> None: ...

class ActivateAuthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ActivateAuthResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EgressRequest(_message.Message):
    __slots__ = ("commit", "object_storage", "sql_database")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_STORAGE_FIELD_NUMBER: _ClassVar[int]
    SQL_DATABASE_FIELD_NUMBER: _ClassVar[int]
    commit: Commit
    object_storage: ObjectStorageEgress
    sql_database: SQLDatabaseEgress
    def __init__(self, commit: _Optional[_Union[Commit, _Mapping]] = ..., object_storage: _Optional[_Union[ObjectStorageEgress, _Mapping]] = ..., sql_database: _Optional[_Union[SQLDatabaseEgress, _Mapping]] = ...) -> None: ...

class EgressResponse(_message.Message):
    __slots__ = ("object_storage", "sql_database")
    class ObjectStorageResult(_message.Message):
        __slots__ = ("bytes_written",)
        BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
        bytes_written: int
        def __init__(self, bytes_written: _Optional[int] = ...) -> None: ...
    class SQLDatabaseResult(_message.Message):
        __slots__ = ("rows_written",)
        class RowsWrittenEntry(_message.Message):
            __slots__ = ("key", "value")
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: str
            value: int
            def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
        ROWS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
        rows_written: _containers.ScalarMap[str, int]
        def __init__(self, rows_written: _Optional[_Mapping[str, int]] = ...) -> None: ...
    OBJECT_STORAGE_FIELD_NUMBER: _ClassVar[int]
    SQL_DATABASE_FIELD_NUMBER: _ClassVar[int]
    object_storage: EgressResponse.ObjectStorageResult
    sql_database: EgressResponse.SQLDatabaseResult
    def __init__(self, object_storage: _Optional[_Union[EgressResponse.ObjectStorageResult, _Mapping]] = ..., sql_database: _Optional[_Union[EgressResponse.SQLDatabaseResult, _Mapping]] = ...) -> None: ...

class ReposSummaryRequest(_message.Message):
    __slots__ = ("projects",)
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[ProjectPicker]
    def __init__(self, projects: _Optional[_Iterable[_Union[ProjectPicker, _Mapping]]] = ...) -> None: ...

class ReposSummary(_message.Message):
    __slots__ = ("project", "user_repo_count", "size_bytes")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    USER_REPO_COUNT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    project: Project
    user_repo_count: int
    size_bytes: int
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ..., user_repo_count: _Optional[int] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class ReposSummaryResponse(_message.Message):
    __slots__ = ("summaries",)
    SUMMARIES_FIELD_NUMBER: _ClassVar[int]
    summaries: _containers.RepeatedCompositeFieldContainer[ReposSummary]
    def __init__(self, summaries: _Optional[_Iterable[_Union[ReposSummary, _Mapping]]] = ...) -> None: ...

class ForgetCommitRequest(_message.Message):
    __slots__ = ("commit",)
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    commit: CommitPicker
    def __init__(self, commit: _Optional[_Union[CommitPicker, _Mapping]] = ...) -> None: ...

class ForgetCommitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
