"""The ``tusk`` command tree: global options and the pachctl-shaped verb groups.

Area modules (``tusk.cli.serve``, ``tusk.cli.pfs``, ``tusk.cli.pps`` ...) add their nouns to the
verb groups defined here, so ``tusk list job`` and ``tusk list repo`` read like pachctl.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from tusk.client import Client


@dataclass
class Settings:
    address: str | None
    verbose: bool
    auth_token: str | None
    ca: str | None

    def client(self) -> Client:
        return Client(self.address, auth_token=self.auth_token, root_certificates=self.ca)


pass_settings = click.make_pass_decorator(Settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--address",
    envvar="TUSK_ADDRESS",
    default=None,
    help="Server address (host:port, grpc:// or grpcs://). Default: $TUSK_ADDRESS, $PACHD_ADDRESS, "
    "localhost:30650.",
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


create = _verb("create", "Create a repo, branch or pipeline.")
update = _verb("update", "Update a pipeline.")
delete = _verb("delete", "Delete a repo, branch, pipeline or job.")
list_ = _verb("list", "List repos, branches, commits, files, pipelines, jobs or datums.")
inspect = _verb("inspect", "Show one repo, commit, file, pipeline, job or datum in detail.")
put = _verb("put", "Put files into a repo.")
get = _verb("get", "Get files out of a repo.")
glob = _verb("glob", "Match files in a commit against a glob pattern.")
diff = _verb("diff", "Show what changed between commits.")
start = _verb("start", "Start a commit or a pipeline.")
finish = _verb("finish", "Finish a commit.")
stop = _verb("stop", "Stop a job or a pipeline.")
wait = _verb("wait", "Wait for a commit or a job.")
restart = _verb("restart", "Restart datums.")
rerun = _verb("rerun", "Rerun a pipeline.")
run = _verb("run", "Run a cron pipeline's ticks now.")
