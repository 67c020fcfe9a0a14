"""``tusk version`` and ``tusk completion``."""

from __future__ import annotations

import click

from tusk.cli.root import Settings, cli, pass_settings
from tusk.server_info import client_version


@cli.command("version")
@click.option("--client-only", is_flag=True, help="Do not contact the server.")
@pass_settings
def version_cmd(settings: Settings, client_only: bool) -> None:
    """Print the client's and the server's versions."""
    click.echo("COMPONENT           VERSION")
    click.echo(f"{'tusk':<20}{client_version()}")
    if client_only:
        return
    with settings.client() as client:
        v = client.version()
    server = f"{v.major}.{v.minor}.{v.micro}" + (f" ({v.additional})" if v.additional else "")
    click.echo(f"{'pachd (API)':<20}{server}")


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_cmd(shell: str) -> None:
    """Print a shell completion script: eval "$(tusk completion bash)"."""
    from click.shell_completion import get_completion_class

    completion_class = get_completion_class(shell)
    if completion_class is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"no completion support for {shell}")
    click.echo(completion_class(cli, {}, "tusk", "_TUSK_COMPLETE").source())
