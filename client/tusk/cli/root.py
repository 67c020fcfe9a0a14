"""The ``tusk`` command tree: global options and the pachctl-shaped verb groups.

Area modules (``tusk.cli.serve``, ``tusk.cli.pfs_repos``, ``tusk.cli.jobs`` ...) add their nouns to the
verb groups defined here, so ``tusk list job`` and ``tusk list repo`` read like pachctl.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from tusk.address import resolve_address
from tusk.cli.state import active_transaction
from tusk.client import Client


@dataclass
class Settings:
    address: str | None
    verbose: bool
    auth_token: str | None
    ca: str | None

    def client(self) -> Client:
        return Client(self.address, auth_token=self.auth_token, root_certificates=self.ca)

    def server_key(self) -> str:
        """The server's ``host:port``: the key of its active transaction in the state file."""
        return resolve_address(self.address).target

    @contextmanager
    def transactional(self) -> Iterator[Client]:
        """A client for a command pachctl runs inside the active transaction: its calls carry the
        transaction's header, and on success ``Added to transaction: <id>`` goes to stderr."""
        txn = active_transaction(self.server_key())
        with Client(self.address, auth_token=self.auth_token, root_certificates=self.ca, transaction_id=txn) as c:
            yield c
        if txn is not None:
            click.echo(f"Added to transaction: {txn}", err=True)


pass_settings = click.make_pass_decorator(Settings)
F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--address",
    envvar="TUSK_ADDRESS",
    default=None,
    help="Server address (host:port, grpc:// or grpcs://). Default: $TUSK_ADDRESS, $PACHD_ADDRESS, localhost:30650.",
)
@click.option("--auth-token", envvar="TUSK_AUTH_TOKEN", default=None, help="Token sent as authn-token.")
@click.option("--ca", "ca", envvar="TUSK_CA", default=None, help="PEM file of the CA for grpcs:// servers.")
@click.option("-v", "--verbose", is_flag=True, help="Show more detail on errors.")
@click.version_option(package_name="tusk", prog_name="tusk", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, address: str | None, auth_token: str | None, ca: str | None, verbose: bool) -> None:
    """tusk: Pachyderm's pipeline jobs and datums on one machine."""
    ctx.obj = Settings(address=address, verbose=verbose, auth_token=auth_token, ca=ca)


def _verb(name: str, help_text: str) -> click.Group:
    group = click.Group(name=name, help=help_text)
    cli.add_command(group)
    return group


def project_option(what: str) -> Callable[[F], F]:
    """``--project``: the project of the repo/pipeline named (``$TUSK_PROJECT``, else ``default``)."""
    return click.option(
        "--project", envvar="TUSK_PROJECT", default="", help=f"Project of the {what} ($TUSK_PROJECT, else default)."
    )


create = _verb("create", "Create a project, repo, branch, pipeline or defaults.")
update = _verb("update", "Update a project, repo, pipeline or defaults.")
delete = _verb("delete", "Delete a project, repo, branch, pipeline, job, transaction or defaults.")
list_ = _verb("list", "List projects, repos, branches, commits, files, pipelines, jobs, datums or transactions.")
inspect = _verb("inspect", "Show one project, repo, commit, file, pipeline, job, datum, transaction or the cluster.")
put = _verb("put", "Put files into a repo.")
get = _verb("get", "Get files out of a repo; get defaults.")
edit = _verb("edit", "Edit metadata.")
resume = _verb("resume", "Make an open transaction the active one again.")
glob = _verb("glob", "Match files in a commit against a glob pattern.")
diff = _verb("diff", "Show what changed between commits.")
start = _verb("start", "Start a commit, a pipeline or a transaction.")
finish = _verb("finish", "Finish a commit or a transaction.")
stop = _verb("stop", "Stop a job or a pipeline; stop using the active transaction.")
wait = _verb("wait", "Wait for a commit or a job.")
restart = _verb("restart", "Restart datums.")
rerun = _verb("rerun", "Rerun a pipeline.")
run = _verb("run", "Run a cron pipeline's ticks now.")
