"""``tusk edit metadata``: pachctl 2.12's command for user metadata (tusk.metadata has the syntax)."""

from __future__ import annotations

import click

from tusk.cli.root import Settings, edit, pass_settings, project_option
from tusk.errors import InvalidArgument
from tusk.metadata import parse_edits


@edit.command("metadata")
@click.argument("edits", nargs=-1, required=True)
@project_option("repos, branches, commits and pipelines named without one")
@pass_settings
def edit_metadata_cmd(settings: Settings, edits: tuple[str, ...], project: str) -> None:
    """Edit metadata: groups of <type> <object> <operation> <data>, all applied or none.

    \b
    type:      cluster, project, repo, branch, commit, pipeline
    object:    . (cluster), a project, [project/]repo, repo@branch, repo@<branch|id>[^N], [project/]pipeline
    operation: add key=value (the key must be new), edit key=value, delete key,
               replace 'k1=v1;k2=v2' or replace '{"k1":"v1"}' (the whole map)

    Example: tusk edit metadata commit images@master add verified_by=me repo images edit owner=me
    """
    try:
        messages = parse_edits(list(edits), project or "default")
    except InvalidArgument as err:
        from tusk.cli.pfs import BadUsage

        raise BadUsage(err.message) from None
    with settings.client() as client:
        client.metadata.edit_metadata(messages)
