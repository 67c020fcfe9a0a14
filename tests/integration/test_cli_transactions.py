"""Transactions through the ``tusk`` CLI (the active one kept in $TUSK_CONFIG_DIR/state.json) and
through tusk.Client's ``transaction()``, against a real server; and the pachctl-shaped
walk-through of docs/cli.md, command for command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tusk
from tests.conftest import REPO_ROOT, RunningServer
from tests.integration.conftest import Run
from tests.integration.test_cli_pfs import fails, ok, table
from tusk import errors
from tusk.cli import main

pytestmark = pytest.mark.timeout(120)

STARTED = re.compile(r'^started new transaction: "([0-9a-f]{32})"\n$')


def start(run: Run) -> str:
    match = STARTED.match(ok(run, "start", "transaction"))
    assert match is not None
    return match.group(1)


def queued(run: Run, *args: str, txn: str) -> str:
    """Run a transactional command; it must say it joined ``txn``."""
    code, out, err = run(*args)
    assert code == 0, err
    assert err == f"Added to transaction: {txn}\n"
    return out


def test_transaction_verbs(tusk_cli: Run, client: tusk.Client, tusk_state: Path, server: RunningServer) -> None:
    txn = start(tusk_cli)
    state = json.loads((tusk_state / "state.json").read_text())
    assert state == {"transactions": {server.address: txn}}
    assert f'transaction with ID "{txn}" already exists' in fails(tusk_cli, 1, "start", "transaction")

    queued(tusk_cli, "create", "repo", "a", txn=txn)
    queued(tusk_cli, "create", "repo", "b", "-d", "bee", txn=txn)
    queued(tusk_cli, "create", "branch", "a@dev", txn=txn)
    assert queued(tusk_cli, "start", "commit", "b@master", txn=txn) == f"{txn}\n"  # a commit's ID is the txn's
    assert list(client.pfs.list_repo()) == []  # queued, not applied

    names, rows = table(ok(tusk_cli, "list", "transaction"))
    assert names == ["TRANSACTION", "STARTED", "OPS"] and rows == [[txn, rows[0][1], "4"]]
    text = ok(tusk_cli, "inspect", "transaction")
    assert text.startswith(f"ID: {txn}\nStarted: ")
    assert text.endswith(
        "Requests:\n  create repo a\n  create repo b\n  create branch a@dev\n  start commit b@master (-)\n"
    ) or (text.endswith(f"  start commit b@master ({txn})\n"))
    assert json.loads(ok(tusk_cli, "inspect", "transaction", txn, "--raw"))["transaction"]["id"] == txn

    assert ok(tusk_cli, "finish", "transaction") == f"Completed transaction with 4 requests: {txn}\n"
    assert json.loads((tusk_state / "state.json").read_text()) == {"transactions": {}}
    assert sorted(r.repo.name for r in client.pfs.list_repo()) == ["a", "b"]
    assert client.pfs.inspect_repo("b").description == "bee"
    assert [b.branch.name for b in client.pfs.list_branch("a")] == ["dev"]
    assert client.pfs.inspect_commit(f"b@{txn}").commit.id == txn

    # Without an active transaction the commands run at once and say nothing more.
    assert tusk_cli("create", "repo", "c")[1:] == ("", "")
    assert table(ok(tusk_cli, "list", "transaction"))[1] == []
    for verb in ("finish", "delete", "inspect"):
        assert "no active transaction" in fails(tusk_cli, 2, verb, "transaction")
    assert "no active transaction" in fails(tusk_cli, 2, "stop", "transaction")


def test_delete_stop_and_resume(tusk_cli: Run, client: tusk.Client) -> None:
    txn = start(tusk_cli)
    queued(tusk_cli, "create", "repo", "a", txn=txn)
    assert ok(tusk_cli, "stop", "transaction") == f"Cleared active transaction: {txn}\n"
    assert tusk_cli("create", "repo", "now")[2] == ""  # not in the transaction any more
    assert ok(tusk_cli, "resume", "transaction", txn) == f"Resuming existing transaction with 1 requests: {txn}\n"
    queued(tusk_cli, "create", "repo", "b", txn=txn)
    assert ok(tusk_cli, "delete", "transaction") == ""
    assert [r.repo.name for r in client.pfs.list_repo()] == ["now"]
    assert f"transactions {txn} not found" in fails(tusk_cli, 4, "inspect", "transaction", txn)
    assert "not found" in fails(tusk_cli, 4, "resume", "transaction", txn)
    assert "not found" in fails(tusk_cli, 4, "finish", "transaction", "0" * 32)
    assert "not found" in fails(tusk_cli, 4, "delete", "transaction", "0" * 32)

    # A transaction named on the command line is finished without touching the active one.
    other = client.transactions.start_transaction().id
    mine = start(tusk_cli)
    ok(tusk_cli, "finish", "transaction", other)
    assert "Added to transaction" in tusk_cli("create", "repo", "x")[2]
    ok(tusk_cli, "finish", "transaction", mine)
    assert client.pfs.inspect_repo("x").repo.name == "x"


def test_deletes_and_finish_commit_join_the_transaction(tusk_cli: Run, client: tusk.Client) -> None:
    client.pfs.create_repo("a")
    client.pfs.create_branch("a@dev")
    client.pfs.start_commit("a@master")
    txn = start(tusk_cli)
    queued(tusk_cli, "delete", "branch", "a@dev", txn=txn)
    queued(tusk_cli, "finish", "commit", "a@master", txn=txn)
    queued(tusk_cli, "delete", "repo", "a", txn=txn)  # queued: not "not found" whatever the answer says
    assert "delete repo a" in ok(tusk_cli, "inspect", "transaction")
    assert {b.branch.name for b in client.pfs.list_branch("a")} == {"master", "dev"}
    ok(tusk_cli, "finish", "transaction")
    assert list(client.pfs.list_repo()) == []
    assert "not found" in fails(tusk_cli, 4, "delete", "repo", "a")  # outside a transaction it is


def test_a_failing_transaction_applies_nothing_and_stays_active(tusk_cli: Run, client: tusk.Client) -> None:
    txn = start(tusk_cli)
    queued(tusk_cli, "create", "repo", "a", txn=txn)
    queued(tusk_cli, "create", "repo", "b", txn=txn)
    client.pfs.create_repo("b")  # outside the transaction: now its second request cannot apply
    err = fails(tusk_cli, 1, "finish", "transaction")
    assert err.startswith("error: ") and "b" in err
    assert [r.repo.name for r in client.pfs.list_repo()] == ["b"]
    assert ok(tusk_cli, "inspect", "transaction").startswith(f"ID: {txn}\n")  # still there and active
    ok(tusk_cli, "delete", "transaction")


def test_the_active_transaction_belongs_to_one_server(
    tusk_cli: Run, make_server: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    txn = start(tusk_cli)
    other = make_server(data_dir=tmp_path / "other")  # type: ignore[operator]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["--address", other.address, "finish", "transaction"])
    assert exit_.value.code == 2 and "no active transaction" in capsys.readouterr().err
    main(["--address", other.address, "create", "repo", "elsewhere"])
    assert capsys.readouterr().err == ""  # the other server's calls carry no header
    ok(tusk_cli, "delete", "transaction", txn)


def test_pipelines_join_the_transaction(tusk_cli: Run, client: tusk.Client, tmp_path: Path) -> None:
    client.pfs.create_repo("images")
    spec = tmp_path / "edges.json"
    spec.write_text(json.dumps(EDGES))
    txn = start(tusk_cli)
    queued(tusk_cli, "create", "pipeline", "-f", str(spec), txn=txn)
    with pytest.raises(errors.NotFound):
        client.pps.inspect_pipeline("edges")
    assert "create pipeline edges" in ok(tusk_cli, "inspect", "transaction")
    ok(tusk_cli, "finish", "transaction")
    assert client.pps.inspect_pipeline("edges").pipeline.name == "edges"


# -- the Python client -----------------------------------------------------------------------------


def test_client_transaction_context_manager(client: tusk.Client) -> None:
    with client.transaction() as txn:
        assert client.transaction_id == txn.id
        client.pfs.create_repo("a")
        client.pfs.create_repo("b")
        commit = client.pfs.start_commit("a@master")
        assert commit.id == txn.id
        assert list(client.pfs.list_repo()) == []  # reads ignore the header and see committed state
        assert len(client.transactions.inspect_transaction(txn.id).requests) == 3
    assert client.transaction_id is None
    assert txn.info is not None and len(txn.info.responses) == 3
    assert txn.info.responses[2].commit.id == txn.id
    assert sorted(r.repo.name for r in client.pfs.list_repo()) == ["a", "b"]
    with pytest.raises(errors.NotFound, match=f"transactions {txn.id} not found"):
        client.transactions.inspect_transaction(txn.id)

    # An exception in the block deletes the transaction: nothing of it is applied.
    with pytest.raises(RuntimeError), client.transaction() as failed:
        client.pfs.create_repo("c")
        raise RuntimeError("changed my mind")
    assert client.transaction_id is None
    assert "c" not in {r.repo.name for r in client.pfs.list_repo()}
    assert failed.id not in {t.transaction.id for t in client.transactions.list_transaction()}


def test_client_transaction_methods(client: tusk.Client) -> None:
    from tusk.proto.pfs_v2 import pfs_pb2
    from tusk.proto.transaction_v2 import transaction_pb2

    first = client.transactions.start_transaction()
    second = client.transactions.start_transaction()
    assert {i.transaction.id for i in client.transactions.list_transaction()} == {first.id, second.id}
    client.transactions.delete_transaction(first)
    assert [i.transaction.id for i in client.transactions.list_transaction()] == [second.id]
    client.transactions.delete_all()
    assert client.transactions.list_transaction() == []
    repo = pfs_pb2.Repo(name="batch", type="user", project=pfs_pb2.Project(name="default"))
    info = client.transactions.batch_transaction(
        [transaction_pb2.TransactionRequest(create_repo=pfs_pb2.CreateRepoRequest(repo=repo))]
    )
    assert len(info.responses) == 1 and client.pfs.inspect_repo("batch").repo.name == "batch"
    with pytest.raises(errors.NotFound):
        client.transactions.finish_transaction("0" * 32)


# -- the walk-through of docs/cli.md ---------------------------------------------------------------

EDGES = {
    "pipeline": {"name": "edges"},
    "transform": {"cmd": ["sh", "-c", "cp -r /pfs/images/. /pfs/out/"], "image": "pachyderm/opencv"},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
}
REPORT = {
    "pipeline": {"name": "report"},
    "transform": {"cmd": ["sh", "-c", "ls /pfs/images > /pfs/out/listing"]},
    "input": {
        "cross": [
            {"pfs": {"repo": "images", "glob": "/"}},
            {"cron": {"name": "tick", "spec": "@daily", "overwrite": True}},
        ]
    },
}
WALK_THROUGH = """\
tusk create project vision --description "images and their edges"
tusk create repo images --project vision
tusk create pipeline -f edges.json --project vision
tusk start transaction
tusk create repo labels --project vision
tusk create repo masks --project vision
tusk create branch labels@staging --project vision
tusk finish transaction
tusk list repo --project vision
tusk list branch labels --project vision
tusk put file images@master:/cat.txt -f cat.txt --project vision
tusk wait commit edges@master --project vision
tusk list job -p edges --project vision
tusk get file edges@master:/cat.txt --project vision
tusk create pipeline -f report.json --project vision
tusk run cron report --project vision
tusk wait commit report@master --project vision
tusk get file report@master:/listing --project vision
"""


def _walk_through_in_docs() -> str:
    doc = (REPO_ROOT / "docs" / "cli.md").read_text()
    section = doc.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return "".join(line + "\n" for block in blocks for line in block.splitlines() if line.startswith("tusk "))


@pytest.mark.timeout(240)
def test_walk_through(tusk_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _walk_through_in_docs() == WALK_THROUGH
    monkeypatch.chdir(tmp_path)
    Path("edges.json").write_text(json.dumps(EDGES))
    Path("report.json").write_text(json.dumps(REPORT))
    Path("cat.txt").write_text("meow\n")
    import shlex

    outputs = []
    for line in WALK_THROUGH.splitlines():
        code, out, err = tusk_cli(*shlex.split(line)[1:])
        assert code == 0, f"{line} -> {code}: {err}"
        outputs.append((line, out, err))
    by_command = {line: (out, err) for line, out, err in outputs}
    txn = STARTED.match(by_command["tusk start transaction"][0])
    assert txn is not None
    for line in WALK_THROUGH.splitlines()[4:7]:
        assert by_command[line][1] == f"Added to transaction: {txn.group(1)}\n"
    assert by_command["tusk finish transaction"][0] == f"Completed transaction with 3 requests: {txn.group(1)}\n"
    repos = [r[0] for r in table(by_command["tusk list repo --project vision"][0])[1]]
    assert sorted(repos) == ["vision/edges", "vision/images", "vision/labels", "vision/masks"]
    assert [r[0] for r in table(by_command["tusk list branch labels --project vision"][0])[1]] == ["staging"]
    names, jobs = table(by_command["tusk list job -p edges --project vision"][0])
    assert names[:2] == ["ID", "PIPELINE"]
    # Newest first: the job of cat.txt (one datum), then the one of the pipeline's creation.
    assert [(j[1], j[5], j[-1]) for j in jobs] == [("edges", "1 + 0 / 1", "success"), ("edges", "0 + 0 / 0", "success")]
    assert by_command["tusk get file edges@master:/cat.txt --project vision"][0] == "meow\n"
    # The cron pipeline: its tick repo made with it, a tick now, the job of that tick.
    assert by_command["tusk get file report@master:/listing --project vision"][0] == "cat.txt\n"
