"""``tusk`` commands for transactions, shaped like pachctl's.

``tusk start transaction`` opens a transaction on the server and records it as the active one of
that server in tusk's state file (tusk.cli.state). While one is active, the commands pachctl runs
inside it (create/update/delete repo, start/finish commit, create/delete branch, create/update
pipeline) send ``pach-transaction: <id>``: the server queues them and they print
``Added to transaction: <id>`` on stderr. ``tusk finish transaction`` applies the queue, all or
nothing; ``delete transaction`` drops it; ``stop``/``resume transaction`` set the active one aside
and back.
"""

from __future__ import annotations

from datetime import UTC

import click

from tusk import format as fmt
from tusk.cli.output import full_timestamps_option, output_option, print_raw, raw_option, show_one
from tusk.cli.pfs import BadUsage
from tusk.cli.root import Settings, delete, finish, inspect, list_, pass_settings, resume, start, stop
from tusk.cli.state import active_transaction, set_active_transaction
from tusk.pfs import format_commit, format_repo
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.transaction_v2 import transaction_pb2

TRANSACTION_HEADERS = ["TRANSACTION", "STARTED", "OPS"]

_raw_option = raw_option
_output_option = output_option
_full_timestamps_option = full_timestamps_option


def _started(info: transaction_pb2.TransactionInfo, full: bool) -> str:
    when = info.started.ToDatetime(tzinfo=UTC) if info.HasField("started") else None
    return fmt.full_timestamp(when) if full else fmt.ago(when)


def _branch(branch: pfs_pb2.Branch) -> str:
    return f"{format_repo(branch.repo)}@{branch.name}"


def describe_request(
    request: transaction_pb2.TransactionRequest, response: transaction_pb2.TransactionResponse | None
) -> str:
    """One queued request in pachctl's words (``create repo images``, ``start commit images@master (<id>)``)."""
    fields = [f.name for f, _ in request.ListFields()]
    kind = fields[0] if fields else ""
    if kind == "create_repo":
        verb = "update" if request.create_repo.update else "create"
        return f"{verb} repo {format_repo(request.create_repo.repo)}"
    if kind == "delete_repo":
        return f"delete repo {format_repo(request.delete_repo.repo)}" + (
            " --force" if request.delete_repo.force else ""
        )
    if kind == "start_commit":
        commit = response.commit.id if response is not None and response.HasField("commit") else "-"
        return f"start commit {_branch(request.start_commit.branch)} ({commit})"
    if kind == "finish_commit":
        return f"finish commit {format_commit(request.finish_commit.commit)}"
    if kind == "squash_commit_set":
        return f"squash commitset {request.squash_commit_set.commit_set.id}"
    if kind == "create_branch":
        return f"create branch {_branch(request.create_branch.branch)}"
    if kind == "delete_branch":
        return f"delete branch {_branch(request.delete_branch.branch)}" + (
            " --force" if request.delete_branch.force else ""
        )
    if kind == "create_pipeline_v2":
        spec = request.create_pipeline_v2.create_pipeline_request
        verb = "update" if spec.update else "create"
        project = spec.pipeline.project.name
        name = spec.pipeline.name if not project or project == "default" else f"{project}/{spec.pipeline.name}"
        return f"{verb} pipeline {name}"
    return kind or "unknown request"


def describe_transaction(info: transaction_pb2.TransactionInfo, full_timestamps: bool = False) -> str:
    responses = list(info.responses)
    lines = [f"ID: {info.transaction.id}", f"Started: {_started(info, full_timestamps)}", "Requests:"]
    requests = [
        f"  {describe_request(r, responses[i] if i < len(responses) else None)}" for i, r in enumerate(info.requests)
    ]
    lines.extend(requests or ["  -"])
    return "\n".join(lines)


def _target(settings: Settings, given: str | None) -> str:
    """The transaction named on the command line, else the active one of this server."""
    if given:
        return given
    active = active_transaction(settings.server_key())
    if active is None:
        raise BadUsage("no active transaction: start one with 'tusk start transaction', or give its ID")
    return active


@start.command("transaction")
@pass_settings
def start_transaction_cmd(settings: Settings) -> None:
    """Start a transaction and make it the active one: the transactional commands that follow
    are queued in it until 'tusk finish transaction'."""
    key = settings.server_key()
    active = active_transaction(key)
    if active is not None:
        raise click.ClickException(
            f'cannot start a new transaction, since transaction with ID "{active}" already exists'
        )
    with settings.client() as client:
        txn = client.transactions.start_transaction()
    set_active_transaction(key, txn.id)
    click.echo(f'started new transaction: "{txn.id}"')


@stop.command("transaction")
@pass_settings
def stop_transaction_cmd(settings: Settings) -> None:
    """Stop adding commands to the active transaction (it stays open: 'tusk resume transaction')."""
    txn = _target(settings, None)
    set_active_transaction(settings.server_key(), None)
    click.echo(f"Cleared active transaction: {txn}")


@resume.command("transaction")
@click.argument("transaction")
@pass_settings
def resume_transaction_cmd(settings: Settings, transaction: str) -> None:
    """Make an open transaction the active one again."""
    with settings.client() as client:
        info = client.transactions.inspect_transaction(transaction)
    set_active_transaction(settings.server_key(), info.transaction.id)
    click.echo(f"Resuming existing transaction with {len(info.requests)} requests: {info.transaction.id}")


@finish.command("transaction")
@click.argument("transaction", required=False)
@pass_settings
def finish_transaction_cmd(settings: Settings, transaction: str | None) -> None:
    """Apply every command queued in a transaction (the active one by default), all or none."""
    txn = _target(settings, transaction)
    with settings.client() as client:
        info = client.transactions.finish_transaction(txn)
    if active_transaction(settings.server_key()) == txn:
        set_active_transaction(settings.server_key(), None)
    click.echo(f"Completed transaction with {len(info.responses)} requests: {info.transaction.id}")


@delete.command("transaction")
@click.argument("transaction", required=False)
@pass_settings
def delete_transaction_cmd(settings: Settings, transaction: str | None) -> None:
    """Drop a transaction (the active one by default) without applying anything of it."""
    txn = _target(settings, transaction)
    with settings.client() as client:
        client.transactions.delete_transaction(txn)
    if active_transaction(settings.server_key()) == txn:
        set_active_transaction(settings.server_key(), None)


@inspect.command("transaction")
@click.argument("transaction", required=False)
@_full_timestamps_option
@_raw_option
@_output_option
@pass_settings
def inspect_transaction_cmd(
    settings: Settings, transaction: str | None, full_timestamps: bool, raw: bool, output: str | None
) -> None:
    """Show the commands queued in a transaction (the active one by default)."""
    txn = _target(settings, transaction)
    with settings.client() as client:
        info = client.transactions.inspect_transaction(txn)
    show_one(info, raw, output, lambda: describe_transaction(info, full_timestamps))


@list_.command("transaction")
@_full_timestamps_option
@_raw_option
@_output_option
@pass_settings
def list_transaction_cmd(settings: Settings, full_timestamps: bool, raw: bool, output: str | None) -> None:
    """List the open transactions of the server."""
    with settings.client() as client:
        infos = client.transactions.list_transaction()
    if raw or output:
        print_raw(infos, output or "json")
        return
    rows = [[i.transaction.id, _started(i, full_timestamps), str(len(i.requests))] for i in infos]
    click.echo(fmt.table(TRANSACTION_HEADERS, rows))
