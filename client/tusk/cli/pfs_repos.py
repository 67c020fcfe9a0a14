"""``tusk`` commands for repos: create, update, list, inspect and delete repo (see :mod:`tusk.cli.pfs`)."""

from __future__ import annotations

import click

from tusk.cli.output import full_timestamps_option, output_option, print_raw, raw_option, show_one
from tusk.cli.pfs import (
    REPO_HEADERS,
    BadUsage,
    describe_repo,
    emit,
    repo_project_option,
    repo_row,
)
from tusk.cli.root import (
    Settings,
    create,
    delete,
    inspect,
    list_,
    pass_settings,
    update,
)
from tusk.pfs import (
    format_repo,
    parse_repo,
)


@create.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="", help="A description of the repo.")
@repo_project_option
@pass_settings
def create_repo_cmd(settings: Settings, name: str, description: str, project: str) -> None:
    """Create a new repo (names: letters, digits, '_' and '-')."""
    with settings.transactional() as client:
        client.pfs.create_repo(parse_repo(name, project), description=description)


@update.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="", help="The repo's new description.")
@repo_project_option
@pass_settings
def update_repo_cmd(settings: Settings, name: str, description: str, project: str) -> None:
    """Set a repo's description (creates the repo if it does not exist)."""
    with settings.transactional() as client:
        client.pfs.create_repo(parse_repo(name, project), description=description, update=True)


@list_.command("repo")
@click.option("--all", "all_types", is_flag=True, help="Include the repos pipelines keep (<pipeline>.spec ...).")
@click.option("--type", "repo_type", default=None, help="Only repos of this type (user, spec, meta).")
@repo_project_option
@click.option("-A", "--all-projects", is_flag=True, help="Repos of every project.")
@full_timestamps_option
@raw_option
@output_option
@pass_settings
def list_repo_cmd(
    settings: Settings,
    all_types: bool,
    repo_type: str | None,
    project: str,
    all_projects: bool,
    full_timestamps: bool,
    raw: bool,
    output: str | None,
) -> None:
    """List repos (user repos only, unless --all or --type)."""
    kind = repo_type if repo_type is not None else ("" if all_types else "user")
    projects = [] if all_projects else [project or "default"]
    with settings.client() as client:
        infos = list(client.pfs.list_repo(type=kind, projects=projects))
    if raw or output:
        print_raw(infos, output or "json")
        return
    headers = (["PROJECT"] if all_projects else []) + REPO_HEADERS
    emit((repo_row(i, full_timestamps, all_projects) for i in infos), headers)


@inspect.command("repo")
@click.argument("name")
@repo_project_option
@raw_option
@output_option
@pass_settings
def inspect_repo_cmd(settings: Settings, name: str, project: str, raw: bool, output: str | None) -> None:
    """Show one repo in detail."""
    with settings.client() as client:
        info = client.pfs.inspect_repo(parse_repo(name, project))
    show_one(info, raw, output, lambda: describe_repo(info))


@delete.command("repo")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Delete every user repo of the project.")
@click.option("-f", "--force", is_flag=True, help="Delete even if a pipeline reads it.")
@repo_project_option
@pass_settings
def delete_repo_cmd(settings: Settings, names: tuple[str, ...], all_: bool, force: bool, project: str) -> None:
    """Delete repos with their branches, commits and files."""
    if bool(names) == all_:
        raise BadUsage("give repo names or --all")
    with settings.transactional() as client:
        targets = (
            [i.repo for i in client.pfs.list_repo(projects=[project or "default"])]
            if all_
            else [parse_repo(n, project) for n in names]
        )
        for repo in targets:
            deleted = client.pfs.delete_repo(repo, force=force)
            if not deleted and not all_ and client.transaction_id is None:
                # The server answers deleted=false for a repo it does not have (in a transaction
                # the delete is only queued: its answer says nothing yet).
                from tusk.errors import NotFound

                raise NotFound(f"repo {repo.project.name or 'default'}/{format_repo(repo).split('/')[-1]} not found")
