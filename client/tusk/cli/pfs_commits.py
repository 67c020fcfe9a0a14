"""``tusk`` commands for branches (create, inspect, list, delete branch) and commits (start, finish,
inspect, wait, list commit; commit sets by their bare ID) (see :mod:`tusk.cli.pfs`)."""

from __future__ import annotations

import click

from tusk.cli.output import full_timestamps_option, output_option, print_raw, raw_option, show_one
from tusk.cli.pfs import (
    BRANCH_HEADERS,
    COMMIT_HEADERS,
    COMMIT_SET_HEADERS,
    branch_row,
    commit_row,
    commit_set_row,
    describe_branch,
    describe_commit,
    emit,
    head_arg,
    needs_ref,
    repo_of,
    repo_project_option,
)
from tusk.cli.root import (
    Settings,
    create,
    delete,
    finish,
    inspect,
    list_,
    pass_settings,
    start,
    wait,
)
from tusk.pfs import (
    format_commit,
    parse_branch,
    parse_commit,
    parse_repo,
)

# --------------------------------------------------------------------------------------------
# Branches
# --------------------------------------------------------------------------------------------


@create.command("branch")
@click.argument("branch")
@click.option("--head", default=None, help="Its head: a commit ID or branch of the same repo, or repo@ref.")
@click.option("-p", "--provenance", multiple=True, help="A branch that feeds this one, repo@branch (repeatable).")
@click.option("--new-commit-set", is_flag=True, help="Open a new commit on it (and downstream) with a new ID.")
@repo_project_option
@pass_settings
def create_branch_cmd(
    settings: Settings, branch: str, head: str | None, provenance: tuple[str, ...], new_commit_set: bool, project: str
) -> None:
    """Create or move a branch: repo@branch."""
    needs_ref(branch, "branch", "<repo>@<branch>")
    for p in provenance:
        needs_ref(p, "branch", "<repo>@<branch> (in --provenance)")
    repo = repo_of(branch)
    with settings.transactional() as client:
        client.pfs.create_branch(
            parse_branch(branch, project),
            head=parse_commit(head_arg(head, repo), project) if head else None,
            provenance=[parse_branch(p, project) for p in provenance],
            new_commit_set=new_commit_set,
        )


@inspect.command("branch")
@click.argument("branch")
@repo_project_option
@raw_option
@output_option
@pass_settings
def inspect_branch_cmd(settings: Settings, branch: str, project: str, raw: bool, output: str | None) -> None:
    """Show one branch: repo@branch."""
    needs_ref(branch, "branch", "<repo>@<branch>")
    with settings.client() as client:
        info = client.pfs.inspect_branch(parse_branch(branch, project))
    show_one(info, raw, output, lambda: describe_branch(info))


@list_.command("branch")
@click.argument("repo")
@repo_project_option
@raw_option
@output_option
@pass_settings
def list_branch_cmd(settings: Settings, repo: str, project: str, raw: bool, output: str | None) -> None:
    """List the branches of a repo."""
    with settings.client() as client:
        infos = list(client.pfs.list_branch(parse_repo(repo, project)))
    if raw or output:
        print_raw(infos, output or "json")
        return
    emit((branch_row(i) for i in infos), BRANCH_HEADERS)


@delete.command("branch")
@click.argument("branch")
@click.option("-f", "--force", is_flag=True, help="Delete even if other branches depend on it.")
@repo_project_option
@pass_settings
def delete_branch_cmd(settings: Settings, branch: str, force: bool, project: str) -> None:
    """Delete a branch (its commits stay): repo@branch."""
    needs_ref(branch, "branch", "<repo>@<branch>")
    with settings.transactional() as client:
        client.pfs.delete_branch(parse_branch(branch, project), force=force)


# --------------------------------------------------------------------------------------------
# Commits
# --------------------------------------------------------------------------------------------


@start.command("commit")
@click.argument("branch")
@click.option("-p", "--parent", default=None, help="The parent commit (ID of the same repo, or repo@ref).")
@click.option("-m", "--message", "--description", "description", default="", help="The commit's description.")
@repo_project_option
@pass_settings
def start_commit_cmd(settings: Settings, branch: str, parent: str | None, description: str, project: str) -> None:
    """Open a commit on repo@branch and print its ID."""
    needs_ref(branch, "branch", "<repo>@<branch>")
    with settings.transactional() as client:
        commit = client.pfs.start_commit(
            parse_branch(branch, project),
            parent=parse_commit(head_arg(parent, repo_of(branch)), project) if parent else None,
            description=description,
        )
    click.echo(commit.id)


@finish.command("commit")
@click.argument("commit")
@click.option("-m", "--message", "--description", "description", default="", help="Set the commit's description.")
@click.option("--error", default="", help="Finish it as failed with this message (jobs reading it turn unrunnable).")
@click.option("-f", "--force", is_flag=True, help="Finish it even if it is a pipeline's output commit.")
@repo_project_option
@pass_settings
def finish_commit_cmd(settings: Settings, commit: str, description: str, error: str, force: bool, project: str) -> None:
    """Finish an open commit: repo@branch or repo@<id>."""
    needs_ref(commit, "commit", "<repo>@<branch> or <repo>@<commit id>")
    with settings.transactional() as client:
        client.pfs.finish_commit(parse_commit(commit, project), description=description, error=error, force=force)


@inspect.command("commit")
@click.argument("commit")
@click.option("--wait", is_flag=True, help="Wait until the commit is finished.")
@full_timestamps_option
@repo_project_option
@raw_option
@output_option
@pass_settings
def inspect_commit_cmd(
    settings: Settings, commit: str, wait: bool, full_timestamps: bool, project: str, raw: bool, output: str | None
) -> None:
    """Show one commit (repo@ref), or every commit of a commit set (a bare ID)."""
    with settings.client() as client:
        if "@" not in commit:
            infos = list(client.pfs.inspect_commit_set(commit, wait=wait))
            if raw or output:
                print_raw(infos, output or "json")
            else:
                emit((commit_row(i, full_timestamps) for i in infos), COMMIT_HEADERS)
            return
        info = client.pfs.inspect_commit(parse_commit(commit, project), wait=wait)
    show_one(info, raw, output, lambda: describe_commit(info, full_timestamps))


@wait.command("commit")
@click.argument("commit")
@repo_project_option
@pass_settings
def wait_commit_cmd(settings: Settings, commit: str, project: str) -> None:
    """Wait until a commit (repo@ref) or every commit of a commit set (a bare ID) is finished;
    exit 5 if one finished with an error."""
    from tusk.cli import Unsuccessful

    with settings.client() as client:
        if "@" in commit:
            infos = [client.pfs.wait_commit(parse_commit(commit, project))]
        else:
            infos = list(client.pfs.inspect_commit_set(commit, wait=True))
    failed = [i for i in infos if i.error]
    if failed:
        raise Unsuccessful("; ".join(f"commit {format_commit(i.commit)} failed: {i.error}" for i in failed))


@list_.command("commit")
@click.argument("target", required=False)
@click.option("-n", "--number", type=click.IntRange(min=0), default=0, help="At most this many commits (0: all).")
@click.option("--from", "from_", default=None, help="Only commits after this one (ID of the same repo, or repo@ref).")
@click.option("--all", "all_", is_flag=True, help="Include commits that are only an alias of an upstream commit.")
@click.option(
    "--origin",
    type=click.Choice(["user", "auto", "fsck"], case_sensitive=False),
    default=None,
    help="Only commits of this origin: user (made by a client) or auto (opened for a pipeline).",
)
@click.option("-r", "--reverse", is_flag=True, help="Oldest first.")
@full_timestamps_option
@repo_project_option
@raw_option
@output_option
@pass_settings
def list_commit_cmd(
    settings: Settings,
    target: str | None,
    number: int,
    from_: str | None,
    all_: bool,
    origin: str | None,
    reverse: bool,
    full_timestamps: bool,
    project: str,
    raw: bool,
    output: str | None,
) -> None:
    """List the commits of repo (or of repo@branch's history), newest first; without a repo,
    the commit sets."""
    with settings.client() as client:
        if target is None:
            sets = list(client.pfs.list_commit_set(project=project))
            if raw or output:
                print_raw(sets, output or "json")
            else:
                emit((commit_set_row(s, full_timestamps) for s in sets), COMMIT_SET_HEADERS)
            return
        repo = parse_repo(repo_of(target), project)
        infos = list(
            client.pfs.list_commit(
                repo,
                # --from needs an end: the branch given, else master's head
                to=parse_commit(target, project) if "@" in target or from_ else None,
                from_=parse_commit(head_arg(from_, repo_of(target)), project) if from_ else None,
                number=number,
                reverse=reverse,
                all=all_,
                origin_kind=origin,
            )
        )
    if raw or output:
        print_raw(infos, output or "json")
        return
    emit((commit_row(i, full_timestamps) for i in infos), COMMIT_HEADERS)
