"""Pipeline specs as tusk understands them: the dataclasses, validation, and a JSON form.

A spec is what a user writes for ``pachctl create pipeline`` (a CreatePipelineRequest); the
transport converts the protobuf into :class:`PipelineSpec` and everything behind it works on
that. :func:`validate_pipeline_spec` applies defaults and refuses bad specs with Pachyderm's
messages. :func:`spec_to_dict` / :func:`spec_from_dict` give the stored form: a JSON-able dict
shaped like Pachyderm's protobuf JSON (``parallelism_spec.constant``, ``datum_timeout: "30s"``),
so a stored spec reads like the spec a user wrote and the job engine can load it without
protobuf.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote, urlparse

from .errors import InvalidArgument, NotFound
from .inputs import CronInput, Input, PfsInput, input_repos, validate_input
from .pfs import CommitKey
from .states import JobState

__all__ = [
    "MAX_DATUM_TRIES",
    "MAX_NAME",
    "MAX_PARALLELISM",
    "MAX_TIMEOUT_SECONDS",
    "REPROCESS_EVERY_JOB",
    "REPROCESS_UNTIL_SUCCESS",
    "SPEC_REPO_TYPE",
    "PipelineInfo",
    "PipelineKey",
    "PipelineSpec",
    "PipelineState",
    "Transform",
    "check_pipeline_name",
    "egress_path",
    "format_duration",
    "input_from_dict",
    "input_to_dict",
    "parse_duration",
    "pipeline_state",
    "spec_from_dict",
    "spec_to_dict",
    "validate_pipeline_spec",
]

_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_NAME: Final = 63
# Upper bounds of the counts a spec may ask for (docs/operations.md). A pipeline never runs more
# datums at once than the server's --datum-workers, which the CLI caps at 1024 too.
MAX_PARALLELISM: Final = 1024
MAX_DATUM_TRIES: Final = 100
MAX_TIMEOUT_SECONDS: Final = 10 * 365 * 24 * 3600  # datum_timeout and job_timeout: 10 years

REPROCESS_UNTIL_SUCCESS: Final = "until_success"
REPROCESS_EVERY_JOB: Final = "every_job"

# The repo type of a pipeline's spec repo (``<pipeline>.spec``), as in Pachyderm 2.x: one commit
# per pipeline version; its master branch is in the provenance of the output branch.
SPEC_REPO_TYPE: Final = "spec"


class PipelineState(enum.IntEnum):
    """pps_v2.PipelineState, numbers as on the wire."""

    PIPELINE_STATE_UNKNOWN = 0
    PIPELINE_STARTING = 1
    PIPELINE_RUNNING = 2
    PIPELINE_RESTARTING = 3
    PIPELINE_FAILURE = 4
    PIPELINE_PAUSED = 5
    PIPELINE_STANDBY = 6
    PIPELINE_CRASHING = 7


def pipeline_state(stopped: bool, busy: bool, autoscaling: bool = False) -> PipelineState:
    """PAUSED when stopped; otherwise RUNNING, except an idle ``autoscaling`` pipeline, which
    is STANDBY (Pachyderm's states: only autoscaling pipelines scale down to standby)."""
    if stopped:
        return PipelineState.PIPELINE_PAUSED
    if autoscaling and not busy:
        return PipelineState.PIPELINE_STANDBY
    return PipelineState.PIPELINE_RUNNING


@dataclass(frozen=True)
class Transform:
    cmd: tuple[str, ...] = ()
    stdin: tuple[str, ...] = ()
    err_cmd: tuple[str, ...] = ()
    err_stdin: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # sorted by name
    accept_return_code: tuple[int, ...] = ()
    working_dir: str = ""
    image: str = ""  # recorded and shown; user code runs on the host (docs/jobs.md)
    user: str = ""


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    transform: Transform
    input: Input
    project: str = "default"
    description: str = ""
    parallelism: int = 1  # parallelism_spec.constant; 0 means the default of 1
    datum_tries: int = 3
    datum_timeout: float | None = None  # seconds per attempt
    job_timeout: float | None = None  # seconds per job
    egress_url: str = ""
    salt: str = ""  # empty until the service assigns one
    reprocess_spec: str = REPROCESS_UNTIL_SUCCESS
    output_branch: str = "master"
    autoscaling: bool = False  # only changes the state shown while idle (standby vs running)
    annotations: tuple[tuple[str, str], ...] = field(default=())  # metadata.annotations, sorted
    labels: tuple[tuple[str, str], ...] = field(default=())  # metadata.labels, sorted

    @property
    def key(self) -> PipelineKey:
        return PipelineKey(self.project, self.name)


@dataclass(frozen=True, order=True)
class PipelineKey:
    project: str
    name: str

    def __str__(self) -> str:
        return self.name if self.project == "default" else f"{self.project}/{self.name}"


@dataclass(frozen=True)
class PipelineInfo:
    """One version of a pipeline as the API shows it (state is derived when it is read)."""

    key: PipelineKey
    version: int
    spec: PipelineSpec
    state: PipelineState
    stopped: bool
    reason: str
    last_job_state: JobState  # JOB_STATE_UNKNOWN when the pipeline has no job yet
    created: datetime  # when the pipeline was first created
    updated: datetime  # when this version was created
    spec_commit: CommitKey | None
    user_spec_json: str
    effective_spec_json: str
    metadata: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _invalid(message: str, field_name: str) -> InvalidArgument:
    return InvalidArgument(message, reason="INVALID_PIPELINE_SPEC", field=field_name)


def check_pipeline_name(name: str) -> str:
    """``name`` if it is a valid pipeline name, else InvalidArgument with Pachyderm's wording."""
    if not name:
        raise _invalid("invalid pipeline spec: request.Pipeline.Name cannot be empty", "pipeline.name")
    if not _NAME.match(name):
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise _invalid(
            f"invalid pipeline name: name ({shown}) invalid: only alphanumeric characters, "
            "underscores, and dashes are allowed",
            "pipeline.name",
        )
    if len(name) > MAX_NAME:
        raise _invalid(
            f"pipeline name {name} is {len(name) - MAX_NAME} characters longer than the {MAX_NAME} max",
            "pipeline.name",
        )
    return name


def egress_path(url: str) -> str:
    """The absolute local path of a ``file://`` egress URL, else InvalidArgument naming ``egress.URL``."""
    parsed = urlparse(url)
    path = unquote(parsed.path)
    if parsed.scheme.lower() != "file":
        raise _invalid(f"egress URL {url!r} is not supported: tusk egresses to file:// URLs only", "egress.URL")
    if parsed.netloc not in ("", "localhost"):
        raise _invalid(f"egress URL {url!r} names another host: use file:///path", "egress.URL")
    if not path.startswith("/") or "\x00" in path:
        raise _invalid(f"egress URL {url!r} must name an absolute path without NUL characters", "egress.URL")
    return path


def validate_pipeline_spec(spec: PipelineSpec) -> PipelineSpec:
    """Return a normalised copy (defaults applied) or raise InvalidArgument with a clear message."""
    check_pipeline_name(spec.name)
    project = spec.project or "default"
    if not _NAME.match(project):
        raise _invalid(f"invalid project name: {project!r}", "pipeline.project")
    if not spec.transform.cmd:
        raise _invalid(
            "invalid pipeline spec: transform.cmd cannot be empty (tusk runs the command on this host "
            "and cannot fall back on an image's entrypoint)",
            "transform.cmd",
        )
    for count_name, count, limit in (
        ("parallelism_spec.constant", spec.parallelism, MAX_PARALLELISM),
        ("datum_tries", spec.datum_tries, MAX_DATUM_TRIES),
    ):
        if count < 0:
            raise _invalid(f"invalid pipeline spec: {count_name} cannot be negative", count_name)
        if count > limit:
            raise _invalid(f"invalid pipeline spec: {count_name} {count} is more than the limit of {limit}", count_name)
    for name, value in (("datum_timeout", spec.datum_timeout), ("job_timeout", spec.job_timeout)):
        if value is not None and value <= 0:
            raise _invalid(f"invalid pipeline spec: {name} must be positive", name)
        if value is not None and value > MAX_TIMEOUT_SECONDS:
            raise _invalid(
                f"invalid pipeline spec: {name} of {value:g}s is more than the limit of {MAX_TIMEOUT_SECONDS}s",
                name,
            )
    if spec.reprocess_spec not in ("", REPROCESS_UNTIL_SUCCESS, REPROCESS_EVERY_JOB):
        raise _invalid(
            "invalid pipeline spec: ReprocessSpec must be one of 'until_success' or 'every_job', "
            f"not {spec.reprocess_spec!r}",
            "reprocess_spec",
        )
    if spec.egress_url:
        egress_path(spec.egress_url)
    output_branch = spec.output_branch or "master"
    if not _NAME.match(output_branch):
        raise _invalid(f"invalid pipeline spec: output branch name {output_branch!r} is invalid", "output_branch")
    validated_input = validate_input(spec.input, project, spec.name)
    for leaf in input_repos(validated_input):
        if leaf.commit:
            raise InvalidArgument(
                f'invalid pipeline spec: input "{leaf.name}" sets input.pfs.commit: a pipeline always reads '
                "the head of its input branch; leave commit empty",
                reason="INVALID_INPUT",
                field="input.pfs.commit",
            )
        if leaf.repo == spec.name and leaf.project == project and leaf.repo_type == "user":
            raise InvalidArgument(
                f'pipeline "{spec.name}" cannot take its own output repo as an input',
                reason="INVALID_INPUT",
                field="input",
            )
    return replace(
        spec,
        project=project,
        input=validated_input,
        parallelism=spec.parallelism or 1,
        datum_tries=spec.datum_tries or 3,
        reprocess_spec=spec.reprocess_spec or REPROCESS_UNTIL_SUCCESS,
        output_branch=output_branch,
        transform=replace(spec.transform, env=tuple(sorted(spec.transform.env))),
        annotations=tuple(sorted(spec.annotations)),
        labels=tuple(sorted(spec.labels)),
    )


# --------------------------------------------------------------------------------------------
# Durations in protobuf JSON form ("30s", "0.5s")
# --------------------------------------------------------------------------------------------

_GO_DURATION: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def format_duration(seconds: float) -> str:
    """Seconds as protobuf JSON prints a Duration: ``30s``, ``0.5s``, ``1.000000001s``."""
    nanos = round(seconds * 1_000_000_000)
    whole, frac = divmod(nanos, 1_000_000_000)
    if frac == 0:
        return f"{whole}s"
    digits = f"{frac:09d}"
    for width in (3, 6, 9):  # protobuf prints 0, 3, 6 or 9 fractional digits
        if digits[width:].strip("0") == "":
            return f"{whole}.{digits[:width]}s"
    return f"{whole}.{digits}s"  # pragma: no cover - width 9 always matches


def parse_duration(text: str) -> float:
    """``30s`` (protobuf JSON) or Go style ``1m30s`` / ``1.5h`` / ``250ms`` -> seconds."""
    value = text.strip()
    pos, total = 0, 0.0
    while pos < len(value):
        m = _GO_DURATION.match(value, pos)
        if m is None:
            raise InvalidArgument(f'invalid duration {text!r}: expected a form like "30s" or "1m30s"')
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not value:
        raise InvalidArgument('invalid duration "": expected a form like "30s"')
    return total


# --------------------------------------------------------------------------------------------
# The stored JSON form
# --------------------------------------------------------------------------------------------

_PFS_FIELDS: Final = tuple(f.name for f in fields(PfsInput))
_PFS_DEFAULTS: Final[dict[str, object]] = {f.name: f.default for f in fields(PfsInput)}
_COMBINATORS: Final = ("cross", "union", "join", "group")
# Written even when empty: the identity of an input (the seed's inspect output shows them all).
_KEEP: Final = frozenset({"name", "repo", "repo_type", "branch", "glob", "project"})


def _cron_to_dict(cron: CronInput, project: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": cron.name, "repo": cron.repo, "spec": cron.spec}
    if cron.project != project:
        out["project"] = cron.project
    if cron.start is not None:  # protobuf JSON's Timestamp form
        out["start"] = cron.start.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if cron.overwrite:
        out["overwrite"] = True
    if cron.commit:
        out["commit"] = cron.commit
    return out


def _cron_from_dict(raw: Mapping[str, Any], project: str) -> CronInput:
    unknown = sorted(set(raw) - {"name", "repo", "spec", "project", "start", "overwrite", "commit"})
    if unknown:
        raise InvalidArgument(f"unknown cron input field(s): {', '.join(unknown)}")
    start = raw.get("start")
    return CronInput(
        name=str(raw.get("name", "")),
        repo=str(raw.get("repo", "")),
        spec=str(raw.get("spec", "")),
        project=str(raw.get("project") or project),
        start=None if start is None else datetime.fromisoformat(str(start).replace("Z", "+00:00")),
        overwrite=bool(raw.get("overwrite", False)),
        commit=str(raw.get("commit", "")),
    )


def input_to_dict(node: Input, project: str = "default") -> dict[str, Any]:
    """An input tree as protobuf JSON names it (``{"pfs": {...}}``, ``{"cross": [...]}``).

    The identity fields of a pfs input are written even when defaulted, so the stored spec says
    exactly what ran; other fields only when set. The project is left out when it is the
    pipeline's own (``project``), which is what an input without one reads from."""
    if node.pfs is not None:
        pfs = node.pfs
        values = {name: getattr(pfs, name) for name in _PFS_FIELDS if getattr(pfs, name) or name in _KEEP}
        if values.get("project") == project:
            del values["project"]  # as Pachyderm prints it (the seed's inspect output has no project)
        return {"pfs": values}
    if node.cron is not None:
        return {"cron": _cron_to_dict(node.cron, project)}
    for kind in _COMBINATORS:
        children = getattr(node, kind)
        if children:
            return {kind: [input_to_dict(child, project) for child in children]}
    return {}


def input_from_dict(data: Mapping[str, Any], project: str = "default") -> Input:
    """The inverse of :func:`input_to_dict` (unknown keys are an InvalidArgument); a pfs input
    without a project is in ``project``, the pipeline's own."""
    if "pfs" in data:
        raw = data["pfs"]
        unknown = sorted(set(raw) - set(_PFS_FIELDS))
        if unknown:
            raise InvalidArgument(f"unknown pfs input field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {k: bool(v) if isinstance(_PFS_DEFAULTS[k], bool) else str(v) for k, v in raw.items()}
        values.setdefault("project", project)
        return Input(pfs=PfsInput(**values))
    if "cron" in data:
        return Input(cron=_cron_from_dict(data["cron"], project))

    def children(kind: str) -> tuple[Input, ...]:
        return tuple(input_from_dict(child, project) for child in data.get(kind, ()))

    return Input(cross=children("cross"), union=children("union"), join=children("join"), group=children("group"))


def spec_to_dict(spec: PipelineSpec) -> dict[str, Any]:
    """A JSON-able dict in the shape of Pachyderm's CreatePipelineRequest JSON."""
    t = spec.transform
    transform: dict[str, Any] = {"cmd": list(t.cmd)}
    for key, value in (
        ("image", t.image),
        ("stdin", list(t.stdin)),
        ("err_cmd", list(t.err_cmd)),
        ("err_stdin", list(t.err_stdin)),
        ("env", dict(t.env)),
        ("accept_return_code", list(t.accept_return_code)),
        ("working_dir", t.working_dir),
        ("user", t.user),
    ):
        if value:
            transform[key] = value
    pipeline: dict[str, Any] = {"name": spec.name}
    if spec.project != "default":
        pipeline["project"] = {"name": spec.project}
    out: dict[str, Any] = {"pipeline": pipeline}
    if spec.description:
        out["description"] = spec.description
    out["transform"] = transform
    out["input"] = input_to_dict(spec.input, spec.project or "default")
    if spec.parallelism != 1:  # the default is left out, as Pachyderm shows a spec that did not set it
        out["parallelism_spec"] = {"constant": spec.parallelism}
    out["datum_tries"] = spec.datum_tries
    if spec.datum_timeout is not None:
        out["datum_timeout"] = format_duration(spec.datum_timeout)
    if spec.job_timeout is not None:
        out["job_timeout"] = format_duration(spec.job_timeout)
    if spec.egress_url:
        out["egress"] = {"URL": spec.egress_url}
    if spec.salt:
        out["salt"] = spec.salt
    out["reprocess_spec"] = spec.reprocess_spec
    out["output_branch"] = spec.output_branch
    if spec.autoscaling:
        out["autoscaling"] = True
    if spec.annotations or spec.labels:
        metadata: dict[str, Any] = {}
        if spec.annotations:
            metadata["annotations"] = dict(spec.annotations)
        if spec.labels:
            metadata["labels"] = dict(spec.labels)
        out["metadata"] = metadata
    return out


def spec_from_dict(data: Mapping[str, Any]) -> PipelineSpec:
    """The inverse of :func:`spec_to_dict` (no validation: stored specs were validated)."""
    pipeline = data.get("pipeline") or {}
    t = data.get("transform") or {}
    transform = Transform(
        cmd=tuple(t.get("cmd", ())),
        stdin=tuple(t.get("stdin", ())),
        err_cmd=tuple(t.get("err_cmd", ())),
        err_stdin=tuple(t.get("err_stdin", ())),
        env=tuple(sorted((str(k), str(v)) for k, v in (t.get("env") or {}).items())),
        accept_return_code=tuple(int(c) for c in t.get("accept_return_code", ())),
        working_dir=str(t.get("working_dir", "")),
        image=str(t.get("image", "")),
        user=str(t.get("user", "")),
    )
    metadata = data.get("metadata") or {}
    datum_timeout = data.get("datum_timeout")
    job_timeout = data.get("job_timeout")
    project = str((pipeline.get("project") or {}).get("name", "default"))
    return PipelineSpec(
        name=str(pipeline.get("name", "")),
        project=project,
        transform=transform,
        input=input_from_dict(data.get("input") or {}, project),
        description=str(data.get("description", "")),
        parallelism=int((data.get("parallelism_spec") or {}).get("constant", 1)),
        datum_tries=int(data.get("datum_tries", 3)),
        datum_timeout=None if datum_timeout is None else parse_duration(str(datum_timeout)),
        job_timeout=None if job_timeout is None else parse_duration(str(job_timeout)),
        egress_url=str((data.get("egress") or {}).get("URL", "")),
        salt=str(data.get("salt", "")),
        reprocess_spec=str(data.get("reprocess_spec", REPROCESS_UNTIL_SUCCESS)),
        output_branch=str(data.get("output_branch", "master")),
        autoscaling=bool(data.get("autoscaling", False)),
        annotations=tuple(sorted((metadata.get("annotations") or {}).items())),
        labels=tuple(sorted((metadata.get("labels") or {}).items())),
    )


def pipeline_not_found(project: str, name: str) -> NotFound:
    """pachd's NOT_FOUND for a pipeline: ``pipeline "default/edges" not found``."""
    shown = f"{project}/{name}"
    return NotFound(f'pipeline "{shown}" not found', reason="PIPELINE_NOT_FOUND", pipeline=shown)
