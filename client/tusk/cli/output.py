"""Output shared by every ``tusk`` command: protobuf messages as JSON or YAML, or as text."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

raw_option = click.option("--raw", is_flag=True, help="Print protobuf JSON (proto field names).")
output_option = click.option(
    "-o", "--output", type=click.Choice(["json", "yaml"]), default=None, help="Raw output format (implies --raw)."
)
full_timestamps_option = click.option(
    "--full-timestamps", is_flag=True, help="Print absolute times instead of '2 minutes ago'."
)


def to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def print_raw(messages: Iterable[Message], output: str) -> None:
    """Protobuf JSON with proto field names (2-space indent), or the same as YAML documents."""
    for message in messages:
        if output == "yaml":
            click.echo("---\n" + yaml.safe_dump(to_dict(message), sort_keys=False, allow_unicode=True), nl=False)
        else:
            click.echo(json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2))


def show_one(message: Message, raw: bool, output: str | None, describe: Callable[[], str]) -> None:
    """``inspect`` commands: the raw message with ``--raw``/``-o``, else the readable text."""
    if raw or output:
        print_raw([message], output or "json")
    else:
        click.echo(describe())
