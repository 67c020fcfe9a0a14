import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from tusk.proto.pfs_v2 import pfs_pb2 as _pfs_pb2
from tusk.proto.pps_v2 import pps_pb2 as _pps_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProfileRequest(_message.Message):
    __slots__ = ("profile", "filter")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    filter: Filter
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("name", "duration")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    duration: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Filter(_message.Message):
    __slots__ = ("pachd", "pipeline", "worker", "database")
    PACHD_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    DATABASE_FIELD_NUMBER: _ClassVar[int]
    pachd: bool
    pipeline: _pps_pb2.Pipeline
    worker: Worker
    database: bool
    def __init__(self, pachd: _Optional[bool] = ..., pipeline: _Optional[_Union[_pps_pb2.Pipeline, _Mapping]] = ..., worker: _Optional[_Union[Worker, _Mapping]] = ..., database: _Optional[bool] = ...) -> None: ...

class Worker(_message.Message):
    __slots__ = ("pod", "redirected")
    POD_FIELD_NUMBER: _ClassVar[int]
    REDIRECTED_FIELD_NUMBER: _ClassVar[int]
    pod: str
    redirected: bool
    def __init__(self, pod: _Optional[str] = ..., redirected: _Optional[bool] = ...) -> None: ...

class BinaryRequest(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: Filter
    def __init__(self, filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...

class DumpRequest(_message.Message):
    __slots__ = ("filter", "limit")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    filter: Filter
    limit: int
    def __init__(self, filter: _Optional[_Union[Filter, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class SetLogLevelRequest(_message.Message):
    __slots__ = ("pachyderm", "grpc", "duration", "recurse")
    class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[SetLogLevelRequest.LogLevel]
        DEBUG: _ClassVar[SetLogLevelRequest.LogLevel]
        INFO: _ClassVar[SetLogLevelRequest.LogLevel]
        ERROR: _ClassVar[SetLogLevelRequest.LogLevel]
        OFF: _ClassVar[SetLogLevelRequest.LogLevel]
    UNKNOWN: SetLogLevelRequest.LogLevel
    DEBUG: SetLogLevelRequest.LogLevel
    INFO: SetLogLevelRequest.LogLevel
    ERROR: SetLogLevelRequest.LogLevel
    OFF: SetLogLevelRequest.LogLevel
    PACHYDERM_FIELD_NUMBER: _ClassVar[int]
    GRPC_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RECURSE_FIELD_NUMBER: _ClassVar[int]
    pachyderm: SetLogLevelRequest.LogLevel
    grpc: SetLogLevelRequest.LogLevel
    duration: _duration_pb2.Duration
    recurse: bool
    def __init__(self, pachyderm: _Optional[_Union[SetLogLevelRequest.LogLevel, str]] = ..., grpc: _Optional[_Union[SetLogLevelRequest.LogLevel, str]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., recurse: _Optional[bool] = ...) -> None: ...

class SetLogLevelResponse(_message.Message):
    __slots__ = ("affected_pods", "errored_pods")
    AFFECTED_PODS_FIELD_NUMBER: _ClassVar[int]
    ERRORED_PODS_FIELD_NUMBER: _ClassVar[int]
    affected_pods: _containers.RepeatedScalarFieldContainer[str]
    errored_pods: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, affected_pods: _Optional[_Iterable[str]] = ..., errored_pods: _Optional[_Iterable[str]] = ...) -> None: ...

class GetDumpV2TemplateRequest(_message.Message):
    __slots__ = ("filters",)
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, filters: _Optional[_Iterable[str]] = ...) -> None: ...

class GetDumpV2TemplateResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: DumpV2Request
    def __init__(self, request: _Optional[_Union[DumpV2Request, _Mapping]] = ...) -> None: ...

class Pipeline(_message.Message):
    __slots__ = ("project", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Pod(_message.Message):
    __slots__ = ("name", "ip", "containers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    ip: str
    containers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., ip: _Optional[str] = ..., containers: _Optional[_Iterable[str]] = ...) -> None: ...

class App(_message.Message):
    __slots__ = ("name", "pods", "timeout", "pipeline", "loki_args", "profile_args")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PODS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    LOKI_ARGS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ARGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    pods: _containers.RepeatedCompositeFieldContainer[Pod]
    timeout: _duration_pb2.Duration
    pipeline: Pipeline
    loki_args: LokiArgs
    profile_args: ProfileArgs
    def __init__(self, name: _Optional[str] = ..., pods: _Optional[_Iterable[_Union[Pod, _Mapping]]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., pipeline: _Optional[_Union[Pipeline, _Mapping]] = ..., loki_args: _Optional[_Union[LokiArgs, _Mapping]] = ..., profile_args: _Optional[_Union[ProfileArgs, _Mapping]] = ...) -> None: ...

class ProfileArgs(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[Profile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[Profile, _Mapping]]] = ...) -> None: ...

class LokiArgs(_message.Message):
    __slots__ = ("max_logs",)
    MAX_LOGS_FIELD_NUMBER: _ClassVar[int]
    max_logs: int
    def __init__(self, max_logs: _Optional[int] = ...) -> None: ...

class System(_message.Message):
    __slots__ = ("helm", "database", "version", "describes", "logs", "loki_logs", "binaries", "profiles")
    HELM_FIELD_NUMBER: _ClassVar[int]
    DATABASE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIBES_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    LOKI_LOGS_FIELD_NUMBER: _ClassVar[int]
    BINARIES_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    helm: bool
    database: bool
    version: bool
    describes: _containers.RepeatedCompositeFieldContainer[App]
    logs: _containers.RepeatedCompositeFieldContainer[App]
    loki_logs: _containers.RepeatedCompositeFieldContainer[App]
    binaries: _containers.RepeatedCompositeFieldContainer[App]
    profiles: _containers.RepeatedCompositeFieldContainer[App]
    def __init__(self, helm: _Optional[bool] = ..., database: _Optional[bool] = ..., version: _Optional[bool] = ..., describes: _Optional[_Iterable[_Union[App, _Mapping]]] = ..., logs: _Optional[_Iterable[_Union[App, _Mapping]]] = ..., loki_logs: _Optional[_Iterable[_Union[App, _Mapping]]] = ..., binaries: _Optional[_Iterable[_Union[App, _Mapping]]] = ..., profiles: _Optional[_Iterable[_Union[App, _Mapping]]] = ...) -> None: ...

class Starlark(_message.Message):
    __slots__ = ("builtin", "literal", "timeout")
    class Literal(_message.Message):
        __slots__ = ("name", "program_text")
        NAME_FIELD_NUMBER: _ClassVar[int]
        PROGRAM_TEXT_FIELD_NUMBER: _ClassVar[int]
        name: str
        program_text: str
        def __init__(self, name: _Optional[str] = ..., program_text: _Optional[str] = ...) -> None: ...
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    LITERAL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    builtin: str
    literal: Starlark.Literal
    timeout: _duration_pb2.Duration
    def __init__(self, builtin: _Optional[str] = ..., literal: _Optional[_Union[Starlark.Literal, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DumpV2Request(_message.Message):
    __slots__ = ("system", "pipelines", "input_repos", "timeout", "defaults", "starlark_scripts")
    class Defaults(_message.Message):
        __slots__ = ("cluster_defaults",)
        CLUSTER_DEFAULTS_FIELD_NUMBER: _ClassVar[int]
        cluster_defaults: bool
        def __init__(self, cluster_defaults: _Optional[bool] = ...) -> None: ...
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    PIPELINES_FIELD_NUMBER: _ClassVar[int]
    INPUT_REPOS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    STARLARK_SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    system: System
    pipelines: _containers.RepeatedCompositeFieldContainer[Pipeline]
    input_repos: bool
    timeout: _duration_pb2.Duration
    defaults: DumpV2Request.Defaults
    starlark_scripts: _containers.RepeatedCompositeFieldContainer[Starlark]
    def __init__(self, system: _Optional[_Union[System, _Mapping]] = ..., pipelines: _Optional[_Iterable[_Union[Pipeline, _Mapping]]] = ..., input_repos: _Optional[bool] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., defaults: _Optional[_Union[DumpV2Request.Defaults, _Mapping]] = ..., starlark_scripts: _Optional[_Iterable[_Union[Starlark, _Mapping]]] = ...) -> None: ...

class DumpContent(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    def __init__(self, content: _Optional[bytes] = ...) -> None: ...

class DumpProgress(_message.Message):
    __slots__ = ("task", "total", "progress")
    TASK_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    task: str
    total: int
    progress: int
    def __init__(self, task: _Optional[str] = ..., total: _Optional[int] = ..., progress: _Optional[int] = ...) -> None: ...

class DumpChunk(_message.Message):
    __slots__ = ("content", "progress")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    content: DumpContent
    progress: DumpProgress
    def __init__(self, content: _Optional[_Union[DumpContent, _Mapping]] = ..., progress: _Optional[_Union[DumpProgress, _Mapping]] = ...) -> None: ...

class RunPfsLoadTestRequest(_message.Message):
    __slots__ = ("spec", "branch", "seed", "state_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATE_ID_FIELD_NUMBER: _ClassVar[int]
    spec: str
    branch: _pfs_pb2.Branch
    seed: int
    state_id: str
    def __init__(self, spec: _Optional[str] = ..., branch: _Optional[_Union[_pfs_pb2.Branch, _Mapping]] = ..., seed: _Optional[int] = ..., state_id: _Optional[str] = ...) -> None: ...

class RunPfsLoadTestResponse(_message.Message):
    __slots__ = ("spec", "branch", "seed", "error", "duration", "state_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    STATE_ID_FIELD_NUMBER: _ClassVar[int]
    spec: str
    branch: _pfs_pb2.Branch
    seed: int
    error: str
    duration: _duration_pb2.Duration
    state_id: str
    def __init__(self, spec: _Optional[str] = ..., branch: _Optional[_Union[_pfs_pb2.Branch, _Mapping]] = ..., seed: _Optional[int] = ..., error: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., state_id: _Optional[str] = ...) -> None: ...

class TraceRequest(_message.Message):
    __slots__ = ("duration",)
    DURATION_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    def __init__(self, duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TraceChunk(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: _wrappers_pb2.BytesValue
    def __init__(self, content: _Optional[_Union[_wrappers_pb2.BytesValue, _Mapping]] = ...) -> None: ...
