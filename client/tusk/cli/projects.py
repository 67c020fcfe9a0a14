"""``tusk`` commands for projects, pipeline defaults and the cluster, shaped like pachctl's.

``list project`` prints pachctl's table (``ACTIVE PROJECT CREATED DESCRIPTION``; ACTIVE marks
``$TUSK_PROJECT``, else ``default``). Defaults are JSON documents read from a file or stdin and
printed as stored.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

import click
from google.protobuf import json_format, timestamp_pb2

from tusk import format as fmt
from tusk.cli.output import full_timestamps_option, output_option, print_raw, raw_option, show_one
from tusk.cli.pfs import BadUsage
from tusk.cli.root import Settings, create, delete, get, inspect, list_, pass_settings, update
from tusk.proto.admin_v2 import admin_pb2
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2

PROJECT_HEADERS = ["ACTIVE", "PROJECT", "CREATED", "DESCRIPTION"]

_raw_option = raw_option
_output_option = output_option


def current_project() -> str:
    return os.environ.get("TUSK_PROJECT") or "default"


def _when(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


def _metadata_text(metadata: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(metadata.items()))


# --------------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------------


def project_row(info: pfs_pb2.ProjectInfo, active: str, full_timestamps: bool = False) -> list[str]:
    created = _when(info.created_at, info.HasField("created_at"))
    return [
        "*" if info.project.name == active else "",
        info.project.name,
        fmt.full_timestamp(created) if full_timestamps else fmt.ago(created),
        info.description,
    ]


def describe_project(info: pfs_pb2.ProjectInfo, defaults_json: str) -> str:
    lines = [f"Name: {info.project.name}"]
    if info.description:
        lines.append(f"Description: {info.description}")
    lines.append(f"Created: {fmt.ago(_when(info.created_at, info.HasField('created_at')))}")
    if info.metadata:
        lines.append(f"Metadata: {_metadata_text(dict(info.metadata))}")
    if defaults_json and defaults_json != "{}":
        lines.append(f"Defaults: {defaults_json}")
    return "\n".join(lines)


@create.command("project")
@click.argument("name")
@click.option("-d", "--description", default="", help="A description of the project.")
@pass_settings
def create_project_cmd(settings: Settings, name: str, description: str) -> None:
    """Create a project (names: letters, digits, '_' and '-', at most 51 characters)."""
    with settings.client() as client:
        client.pfs.create_project(name, description=description)


@update.command("project")
@click.argument("name")
@click.option("-d", "--description", default="", help="The project's new description.")
@pass_settings
def update_project_cmd(settings: Settings, name: str, description: str) -> None:
    """Set an existing project's description."""
    with settings.client() as client:
        client.pfs.create_project(name, description=description, update=True)


@list_.command("project")
@full_timestamps_option
@_raw_option
@_output_option
@pass_settings
def list_project_cmd(settings: Settings, full_timestamps: bool, raw: bool, output: str | None) -> None:
    """List projects; ACTIVE marks $TUSK_PROJECT (else default)."""
    with settings.client() as client:
        infos = client.pfs.list_project()
    if raw or output:
        print_raw(infos, output or "json")
        return
    active = current_project()
    click.echo(fmt.table(PROJECT_HEADERS, [project_row(i, active, full_timestamps) for i in infos]))


@inspect.command("project")
@click.argument("name")
@_raw_option
@_output_option
@pass_settings
def inspect_project_cmd(settings: Settings, name: str, raw: bool, output: str | None) -> None:
    """Show one project: description, creation time, metadata and its pipeline defaults."""
    with settings.client() as client:
        answer = client.pfs.inspect_project_v2(name)
    show_one(answer.info, raw, output, lambda: describe_project(answer.info, answer.defaults_json))


@delete.command("project")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Skip the check for repos left in the project.")
@pass_settings
def delete_project_cmd(settings: Settings, name: str, force: bool) -> None:
    """Delete a project; it must hold no repos (delete its pipelines and repos first)."""
    with settings.client() as client:
        client.pfs.delete_project(name, force=force)


# --------------------------------------------------------------------------------------------
# Pipeline defaults
# --------------------------------------------------------------------------------------------


def _scope(cluster: bool, project: str | None) -> str | None:
    """None for the cluster's defaults, else the project's name."""
    if cluster == (project is not None):
        raise BadUsage("give exactly one of --cluster and --project PROJECT")
    return project


_cluster_option = click.option("--cluster", is_flag=True, help="The cluster's defaults.")
_defaults_project_option = click.option("--project", default=None, help="This project's defaults.")
_set_options = [
    click.option("--regenerate", is_flag=True, help="Re-create the pipelines whose effective spec changes."),
    click.option("--reprocess", is_flag=True, help="With --regenerate: process their datums again."),
    click.option("--dry-run", is_flag=True, help="Only print the pipelines that would be regenerated."),
]


def _read_defaults(path: str, project: str | None) -> str:
    if path == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(path) as f:
                text = f.read()
        except OSError as err:
            raise click.ClickException(f"could not read {path}: {err.strerror or err}") from None
    text = text.strip()
    try:
        json.loads(text)
    except ValueError as err:
        raise click.ClickException(f"invalid defaults in {path}: not JSON ({err})") from None
    # As pachctl: the document must read as ClusterDefaults (or ProjectDefaults) before it is sent.
    shape = pps_pb2.ClusterDefaults() if project is None else pps_pb2.ProjectDefaults()
    try:
        json_format.Parse(text, shape)
    except json_format.ParseError as err:
        first = (str(err).strip().splitlines() or ["cannot parse it"])[0]
        raise click.ClickException(f"invalid {'cluster' if project is None else 'project'} defaults: {first}") from None
    return text


def _set_defaults(
    settings: Settings, project: str | None, text: str, regenerate: bool, reprocess: bool, dry_run: bool
) -> None:
    with settings.client() as client:
        if project is None:
            affected = client.pps.set_cluster_defaults(
                text, regenerate=regenerate, reprocess=reprocess, dry_run=dry_run
            )
        else:
            affected = client.pps.set_project_defaults(
                project, text, regenerate=regenerate, reprocess=reprocess, dry_run=dry_run
            )
    _print_affected(affected)


def _print_affected(affected: list[pps_pb2.Pipeline]) -> None:
    for pipeline in affected:
        click.echo(f"{pipeline.project.name or 'default'}/{pipeline.name}")


@click.command("defaults")
@_cluster_option
@_defaults_project_option
@pass_settings
def inspect_defaults_cmd(settings: Settings, cluster: bool, project: str | None) -> None:
    """Print the cluster's (--cluster) or a project's (--project P) pipeline defaults ({} if none)."""
    name = _scope(cluster, project)
    with settings.client() as client:
        text = client.pps.get_cluster_defaults() if name is None else client.pps.get_project_defaults(name)
    click.echo(text)


inspect.add_command(inspect_defaults_cmd)
get.add_command(inspect_defaults_cmd)


def _set_command(verb: click.Group, doc: str) -> None:
    @verb.command("defaults", help=doc)
    @_cluster_option
    @_defaults_project_option
    @click.option("-f", "--file", "path", default="-", help="A JSON file of defaults, or - for stdin (the default).")
    @_set_options[0]
    @_set_options[1]
    @_set_options[2]
    @pass_settings
    def set_defaults_cmd(
        settings: Settings,
        cluster: bool,
        project: str | None,
        path: str,
        regenerate: bool,
        reprocess: bool,
        dry_run: bool,
    ) -> None:
        name = _scope(cluster, project)
        _set_defaults(settings, name, _read_defaults(path, name), regenerate, reprocess, dry_run)


_set_command(create, "Set the cluster's (--cluster) or a project's (--project P) pipeline defaults from JSON.")
_set_command(update, "Replace the cluster's (--cluster) or a project's (--project P) pipeline defaults.")


@delete.command("defaults")
@_cluster_option
@_defaults_project_option
@_set_options[0]
@_set_options[1]
@_set_options[2]
@pass_settings
def delete_defaults_cmd(
    settings: Settings, cluster: bool, project: str | None, regenerate: bool, reprocess: bool, dry_run: bool
) -> None:
    """Clear the cluster's or a project's pipeline defaults (set them to {})."""
    _set_defaults(settings, _scope(cluster, project), "{}", regenerate, reprocess, dry_run)


# --------------------------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------------------------


def describe_cluster(info: admin_pb2.ClusterInfo) -> str:
    lines = [f"Cluster ID: {info.id}", f"Deployment ID: {info.deployment_id}"]
    if info.metadata:
        lines.append(f"Metadata: {_metadata_text(dict(info.metadata))}")
    lines.extend(info.warnings)
    return "\n".join(lines)


@inspect.command("cluster")
@_raw_option
@_output_option
@pass_settings
def inspect_cluster_cmd(settings: Settings, raw: bool, output: str | None) -> None:
    """Show the server's cluster ID (stable for its data directory), metadata and warnings."""
    with settings.client() as client:
        info = client.inspect_cluster(project=current_project())
    show_one(info, raw, output, lambda: describe_cluster(info))
