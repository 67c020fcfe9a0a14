"""``tusk`` commands for pipelines, shaped like pachctl's.

``create pipeline -f spec.json|spec.yaml|-`` reads the same spec users write for pachctl (JSON,
a stream of JSON objects, or YAML documents: one pipeline each), ``update pipeline``,
``list pipeline`` (``NAME VERSION INPUT CREATED STATE / LAST JOB DESCRIPTION``), ``inspect
pipeline`` (text, or ``--raw`` protobuf JSON / ``-o yaml``), ``delete``, ``stop``, ``start`` and
``rerun pipeline``, and ``run cron`` (RunCron: a tick on every cron input now).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

from tusk import format as fmt
from tusk.cli.output import output_option, print_raw, show_one, to_dict
from tusk.cli.root import (
    Settings,
    create,
    delete,
    inspect,
    list_,
    pass_settings,
    project_option,
    rerun,
    run,
    start,
    stop,
    update,
)
from tusk.proto.pps_v2 import pps_pb2

_PIPELINE_WORDS = {
    "PIPELINE_STATE_UNKNOWN": "-",
    "PIPELINE_STARTING": "starting",
    "PIPELINE_RUNNING": "running",
    "PIPELINE_RESTARTING": "restarting",
    "PIPELINE_FAILURE": "failure",
    "PIPELINE_PAUSED": "paused",
    "PIPELINE_STANDBY": "standby",
    "PIPELINE_CRASHING": "crashing",
}

# pachctl's separators: cross product, union and join (written as escapes to keep the source ASCII).
_CROSS, _UNION, _JOIN = " \u2a2f ", " \u222a ", " \u22c8 "

_project_option = project_option("pipeline")
_output_option = output_option


# --------------------------------------------------------------------------------------------
# Reading specs
# --------------------------------------------------------------------------------------------


def read_specs(path: str) -> list[dict[str, Any]]:
    """The pipeline specs in a file (``-``: standard input): JSON objects or YAML documents."""
    name = "standard input" if path == "-" else path
    if path == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            raise click.ClickException(f"cannot read {name}: {err.strerror or err}") from None
    try:
        docs = _json_stream(text) if text.lstrip().startswith("{") else _yaml_docs(text)
    except (ValueError, yaml.YAMLError) as err:
        first = (str(err).strip().splitlines() or ["syntax error"])[0]
        raise click.ClickException(f"cannot parse {name}: {first}") from None
    if not docs:
        raise click.ClickException(f"{name} holds no pipeline spec")
    for doc in docs:
        if not isinstance(doc, dict):
            raise click.ClickException(f"cannot parse {name}: a pipeline spec must be a mapping, not {doc!r:.40}")
    return docs


def _json_stream(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


def _yaml_docs(text: str) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def _with_project(spec: dict[str, Any], project: str) -> dict[str, Any]:
    if not project:
        return spec
    pipeline = dict(spec.get("pipeline") or {})
    pipeline.setdefault("project", {"name": project})
    return {**spec, "pipeline": pipeline}


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def shorthand_input(node: pps_pb2.Input) -> str:
    """pachctl's short form: ``images:/*``; cross, union and join joined by the set symbols."""
    if node.HasField("pfs"):
        repo = (
            node.pfs.repo
            if not node.pfs.project or node.pfs.project == "default"
            else f"{node.pfs.project}/{node.pfs.repo}"
        )
        return f"{repo}:{node.pfs.glob}"
    for kind, sep in (("cross", _CROSS), ("union", _UNION), ("join", _JOIN), ("group", ", ")):
        children = getattr(node, kind)
        if children:
            inner = sep.join(shorthand_input(c) for c in children)
            return f"group({inner})" if kind == "group" else f"({inner})"
    if node.HasField("cron"):
        return f"{node.cron.name}:{node.cron.spec}"
    return "none"


def pipeline_state_word(state: int) -> str:
    return _PIPELINE_WORDS.get(pps_pb2.PipelineState.Name(state), "-")


def _when(info: pps_pb2.PipelineInfo) -> datetime | None:
    if not info.details.HasField("created_at"):
        return None
    return info.details.created_at.ToDatetime(tzinfo=UTC)


def pipeline_row(info: pps_pb2.PipelineInfo, full_timestamps: bool = False, with_project: bool = False) -> list[str]:
    created = _when(info)
    row = [
        info.pipeline.name,
        str(info.version),
        shorthand_input(info.details.input) if info.HasField("details") else "-",
        fmt.full_timestamp(created) if full_timestamps else fmt.ago(created),
        f"{pipeline_state_word(info.state)} / {fmt.job_state_word(pps_pb2.JobState.Name(info.last_job_state))}",
        info.details.description,
    ]
    if with_project:
        row.insert(0, info.pipeline.project.name or "default")
    return row


PIPELINE_HEADERS = ["NAME", "VERSION", "INPUT", "CREATED", "STATE / LAST JOB", "DESCRIPTION"]


def _json_block(message: Message) -> str:
    return json.dumps(to_dict(message), indent=2, ensure_ascii=False)


def describe_pipeline(info: pps_pb2.PipelineInfo) -> str:
    """The text of ``inspect pipeline`` (pachctl's layout, fields that are unset left out)."""
    d = info.details
    lines = [f"Name: {info.pipeline.name}"]
    if info.pipeline.project.name and info.pipeline.project.name != "default":
        lines.append(f"Project: {info.pipeline.project.name}")
    lines.append(f"Version: {info.version}")
    if d.description:
        lines.append(f"Description: {d.description}")
    lines.append(f"Created: {fmt.ago(_when(info))}")
    lines.append(f"State: {pipeline_state_word(info.state)}")
    if info.reason:
        lines.append(f"Reason: {info.reason}")
    lines.append(f"Stopped: {str(info.stopped).lower()}")
    lines.append(f"Last Job: {fmt.job_state_word(pps_pb2.JobState.Name(info.last_job_state))}")
    lines.append(f"Parallelism Spec: constant:{d.parallelism_spec.constant or 1}")
    lines.append(f"Datum Tries: {d.datum_tries}")
    if d.HasField("datum_timeout"):
        lines.append(f"Datum Timeout: {json_format.MessageToJson(d.datum_timeout).strip(chr(34))}")
    if d.HasField("job_timeout"):
        lines.append(f"Job Timeout: {json_format.MessageToJson(d.job_timeout).strip(chr(34))}")
    lines.append(f"Reprocess Spec: {d.reprocess_spec}")
    lines.append(f"Salt: {d.salt}")
    lines.append("Input:")
    lines.append(_json_block(d.input))
    lines.append(f"Output Branch: {d.output_branch}")
    if d.egress.URL:
        lines.append(f"Egress: {d.egress.URL}")
    lines.append("Transform:")
    lines.append(_json_block(d.transform))
    return "\n".join(lines)


def _history(value: str) -> int:
    if value == "none":
        return 0
    if value == "all":
        return -1
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter("expected none, all or a number of versions", param_hint="--history") from None
    if number < 0:
        raise click.BadParameter("expected none, all or a number of versions", param_hint="--history")
    return number


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@create.command("pipeline")
@click.option("-f", "--file", "path", required=True, help="Pipeline spec: a JSON or YAML file, or - for stdin.")
@click.option("--dry-run", is_flag=True, help="Check the spec and its inputs; create nothing.")
@_project_option
@pass_settings
def create_pipeline_cmd(settings: Settings, path: str, dry_run: bool, project: str) -> None:
    """Create pipelines from a spec file (the spec pachctl reads)."""
    specs = read_specs(path)
    with settings.transactional() as client:
        for spec in specs:
            client.pps.create_pipeline(_with_project(spec, project), dry_run=dry_run)


@update.command("pipeline")
@click.option("-f", "--file", "path", required=True, help="Pipeline spec: a JSON or YAML file, or - for stdin.")
@click.option("--reprocess", is_flag=True, help="Process every datum again (renews the salt).")
@_project_option
@pass_settings
def update_pipeline_cmd(settings: Settings, path: str, reprocess: bool, project: str) -> None:
    """Update pipelines from a spec file (creates the ones that do not exist)."""
    specs = read_specs(path)
    with settings.transactional() as client:
        for spec in specs:
            client.pps.create_pipeline(_with_project(spec, project), update=True, reprocess=reprocess)


@list_.command("pipeline")
@click.argument("name", required=False, default="")
@click.option("--history", "history", default="none", help="Earlier versions to show too: none, all or a number.")
@click.option("--raw", is_flag=True, help="Print protobuf JSON instead of a table.")
@_output_option
@click.option("--full-timestamps", is_flag=True, help="Absolute timestamps instead of relative ones.")
@_project_option
@click.option("-A", "--all-projects", is_flag=True, help="Pipelines of every project.")
@pass_settings
def list_pipeline_cmd(
    settings: Settings,
    name: str,
    history: str,
    raw: bool,
    output: str | None,
    full_timestamps: bool,
    project: str,
    all_projects: bool,
) -> None:
    """List pipelines, most recently created first."""
    versions = _history(history)
    with settings.client() as client:
        infos = client.pps.list_pipeline(
            name,
            project=project,
            projects=() if all_projects or name else [project or "default"],
            history=versions,
        )
    if raw or output:
        print_raw(infos, output or "json")
        return
    headers = (["PROJECT"] if all_projects else []) + PIPELINE_HEADERS
    click.echo(fmt.table(headers, [pipeline_row(i, full_timestamps, all_projects) for i in infos]))


@inspect.command("pipeline")
@click.argument("name")
@click.option("--raw", is_flag=True, help="Print protobuf JSON.")
@_output_option
@_project_option
@pass_settings
def inspect_pipeline_cmd(settings: Settings, name: str, raw: bool, output: str | None, project: str) -> None:
    """Show one pipeline in detail."""
    with settings.client() as client:
        info = client.pps.inspect_pipeline(name, project=project)
    show_one(info, raw, output, lambda: describe_pipeline(info))


@delete.command("pipeline")
@click.argument("name", required=False, default="")
@click.option("--all", "all_", is_flag=True, help="Delete every pipeline.")
@click.option("--force", is_flag=True, help="Delete even if other pipelines read its output.")
@click.option("--keep-repo", is_flag=True, help="Keep the output repo.")
@_project_option
@pass_settings
def delete_pipeline_cmd(settings: Settings, name: str, all_: bool, force: bool, keep_repo: bool, project: str) -> None:
    """Delete a pipeline with its jobs and (unless --keep-repo) its output repo."""
    if bool(name) == all_:
        raise click.UsageError("give a pipeline name or --all")
    with settings.client() as client:
        client.pps.delete_pipeline(name, project=project, all=all_, force=force, keep_repo=keep_repo)


@stop.command("pipeline")
@click.argument("name")
@_project_option
@pass_settings
def stop_pipeline_cmd(settings: Settings, name: str, project: str) -> None:
    """Stop a pipeline: its running jobs are killed and new commits wait until it is started."""
    with settings.client() as client:
        client.pps.stop_pipeline(name, project=project)


@start.command("pipeline")
@click.argument("name")
@_project_option
@pass_settings
def start_pipeline_cmd(settings: Settings, name: str, project: str) -> None:
    """Start a stopped pipeline: commits made while it was stopped get their jobs."""
    with settings.client() as client:
        client.pps.start_pipeline(name, project=project)


@rerun.command("pipeline")
@click.argument("name")
@click.option("--reprocess", is_flag=True, help="Process every datum again (renews the salt).")
@_project_option
@pass_settings
def rerun_pipeline_cmd(settings: Settings, name: str, reprocess: bool, project: str) -> None:
    """Run the pipeline again over its current inputs."""
    with settings.client() as client:
        client.pps.rerun_pipeline(name, project=project, reprocess=reprocess)


@run.command("cron")
@click.argument("name")
@_project_option
@pass_settings
def run_cron_cmd(settings: Settings, name: str, project: str) -> None:
    """Tick every cron input of a pipeline now (pachctl run cron): each gets a commit, and the
    pipeline a job."""
    with settings.client() as client:
        client.pps.run_cron(name, project=project)
