"""Projects, pipeline defaults, the cluster and metadata through the ``tusk`` CLI and tusk.Client,
against a real server: pachctl's verbs and tables, one-line errors, documented exit codes."""

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
from tusk.metadata import commit_picker, parse_edits, parse_pairs

pytestmark = pytest.mark.timeout(120)


# -- projects --------------------------------------------------------------------------------------


def test_project_verbs(tusk_cli: Run, client: tusk.Client) -> None:
    assert ok(tusk_cli, "create", "project", "vision", "--description", "images and edges") == ""
    names, rows = table(ok(tusk_cli, "list", "project"))
    assert names == ["ACTIVE", "PROJECT", "CREATED", "DESCRIPTION"]
    assert [r[1] for r in rows] == ["default", "vision"]
    assert rows[0][0] == "*" and rows[1][0] == ""  # ACTIVE: $TUSK_PROJECT, else default
    assert rows[1][3] == "images and edges" and rows[1][2].endswith("ago")

    text = ok(tusk_cli, "inspect", "project", "vision")
    assert text.startswith("Name: vision\nDescription: images and edges\nCreated: ")
    raw = json.loads(ok(tusk_cli, "inspect", "project", "vision", "--raw"))
    assert raw["project"]["name"] == "vision" and raw["description"] == "images and edges"
    assert [
        d["project"]["name"] for d in map(json.loads, _json_docs(ok(tusk_cli, "list", "project", "-o", "json")))
    ] == [
        "default",
        "vision",
    ]

    ok(tusk_cli, "update", "project", "vision", "-d", "pictures")
    assert client.pfs.inspect_project("vision").description == "pictures"

    ok(tusk_cli, "create", "repo", "images", "--project", "vision")
    assert "repo vision/images still exists" in fails(tusk_cli, 1, "delete", "project", "vision")
    ok(tusk_cli, "delete", "repo", "images", "--project", "vision")
    ok(tusk_cli, "delete", "project", "vision")
    assert [p.project.name for p in client.pfs.list_project()] == ["default"]


def _json_docs(text: str) -> list[str]:
    """The JSON objects printed one after another by ``-o json``."""
    decoder, pos, docs = json.JSONDecoder(), 0, []
    while pos < len(text.rstrip()):
        while text[pos].isspace():
            pos += 1
        obj, end = decoder.raw_decode(text, pos)
        docs.append(json.dumps(obj))
        pos = end
    return docs


def test_project_errors_and_exit_codes(tusk_cli: Run) -> None:
    ok(tusk_cli, "create", "project", "p1")
    assert fails(tusk_cli, 1, "create", "project", "p1") == 'error: project "p1" already exists'
    assert "invalid" in fails(tusk_cli, 1, "create", "project", "a.b")
    assert fails(tusk_cli, 4, "inspect", "project", "nope") == 'error: project "nope" not found'
    assert "not found" in fails(tusk_cli, 4, "delete", "project", "nope")
    code, _, err = tusk_cli("create", "project")
    assert code == 2 and "Missing argument 'NAME'" in err


def test_update_project_of_a_missing_project_is_not_found(tusk_cli: Run) -> None:
    fails(tusk_cli, 4, "update", "project", "nope", "-d", "x")
    assert "nope" not in ok(tusk_cli, "list", "project")


def test_set_cluster_defaults_refuses_unknown_fields(client: tusk.Client) -> None:
    with pytest.raises(errors.InvalidArgument):
        client.pps.set_cluster_defaults('{"createPipelineRequest": {"foo": 1}}')
    # pachd also takes the proto name of the top-level key.
    client.pps.set_cluster_defaults('{"create_pipeline_request": {"datumTries": "4"}}')


def test_tusk_project_environment_sets_the_default_project(
    tusk_cli: Run, client: tusk.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(tusk_cli, "create", "project", "vision")
    monkeypatch.setenv("TUSK_PROJECT", "vision")
    ok(tusk_cli, "create", "repo", "images")
    assert client.pfs.inspect_repo("vision/images").repo.project.name == "vision"
    rows = table(ok(tusk_cli, "list", "project"))[1]
    assert {r[1]: r[0] for r in rows} == {"default": "", "vision": "*"}
    assert [r[0] for r in table(ok(tusk_cli, "list", "repo"))[1]] == ["vision/images"]
    assert "Missing" not in ok(tusk_cli, "list", "repo", "--project", "default")  # the flag wins
    assert table(ok(tusk_cli, "list", "repo", "--project", "default"))[1] == []


def test_project_client_methods(client: tusk.Client) -> None:
    client.pfs.create_project("p", description="d")
    assert client.pfs.inspect_project("p").description == "d"
    v2 = client.pfs.inspect_project_v2("p")
    assert v2.info.project.name == "p" and v2.defaults_json == "{}"
    with pytest.raises(errors.AlreadyExists):
        client.pfs.create_project("p")
    client.pfs.create_project("p", description="e", update=True)
    assert [(i.project.name, i.description) for i in client.pfs.list_project()] == [("default", ""), ("p", "e")]
    client.pfs.delete_project("p")
    with pytest.raises(errors.NotFound):
        client.pfs.inspect_project("p")


# -- defaults --------------------------------------------------------------------------------------


def test_defaults_verbs(tusk_cli: Run, client: tusk.Client, tmp_path: Path) -> None:
    assert ok(tusk_cli, "inspect", "defaults", "--cluster") == "{}\n"
    assert ok(tusk_cli, "get", "defaults", "--project", "default") == "{}\n"
    cluster = tmp_path / "cluster.json"
    cluster.write_text('  {"createPipelineRequest": {"datumTries": "5"}}\n')
    assert ok(tusk_cli, "update", "defaults", "--cluster", "-f", str(cluster)) == ""
    assert ok(tusk_cli, "get", "defaults", "--cluster") == '{"createPipelineRequest": {"datumTries": "5"}}\n'
    assert client.pps.get_cluster_defaults() == '{"createPipelineRequest": {"datumTries": "5"}}'

    ok(tusk_cli, "create", "project", "vision")
    project = tmp_path / "project.json"
    project.write_text('{"createPipelineRequest": {"datumTries": "2"}}')
    ok(tusk_cli, "create", "defaults", "--project", "vision", "-f", str(project))
    assert json.loads(ok(tusk_cli, "get", "defaults", "--project", "vision")) == {
        "createPipelineRequest": {"datumTries": "2"}
    }
    assert 'Defaults: {"createPipelineRequest"' in ok(tusk_cli, "inspect", "project", "vision")

    # A pipeline created in the project gets the project's defaults over the cluster's.
    client.pfs.create_repo("vision/images")
    spec = {"pipeline": {"name": "edges", "project": {"name": "vision"}}, "transform": {"cmd": ["true"]}}
    spec["input"] = {"pfs": {"repo": "images", "glob": "/*"}}
    client.pps.create_pipeline(spec)
    assert client.pps.inspect_pipeline("edges", project="vision").details.datum_tries == 2
    # --dry-run checks and stores nothing; tusk's server refuses --regenerate (docs/cli.md).
    project.write_text('{"createPipelineRequest": {"datumTries": "7"}}')
    assert ok(tusk_cli, "update", "defaults", "--project", "vision", "-f", str(project), "--dry-run") == ""
    assert 'datumTries": "2' in ok(tusk_cli, "get", "defaults", "--project", "vision")
    err = fails(tusk_cli, 1, "update", "defaults", "--project", "vision", "-f", str(project), "--regenerate")
    assert "regenerate is not supported" in err
    assert client.pps.inspect_pipeline("edges", project="vision").details.datum_tries == 2

    ok(tusk_cli, "delete", "defaults", "--project", "vision")
    ok(tusk_cli, "delete", "defaults", "--cluster")
    assert ok(tusk_cli, "get", "defaults", "--cluster") == "{}\n"
    assert client.pps.get_project_defaults("vision") == "{}"


def test_defaults_errors(tusk_cli: Run, tmp_path: Path) -> None:
    assert "exactly one of --cluster and --project" in fails(tusk_cli, 2, "get", "defaults")
    assert "exactly one of" in fails(tusk_cli, 2, "inspect", "defaults", "--cluster", "--project", "p")
    assert "not found" in fails(tusk_cli, 4, "get", "defaults", "--project", "nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert "not JSON" in fails(tusk_cli, 1, "update", "defaults", "--cluster", "-f", str(bad))
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"createPipelineRequest": {"foo": 1}}')
    err = fails(tusk_cli, 1, "update", "defaults", "--cluster", "-f", str(unknown))
    assert err.startswith("Error: invalid cluster defaults: ") and "foo" in err  # checked before sending, as pachctl
    unknown.write_text('{"clusterWide": {}}')
    assert "invalid project defaults" in fails(
        tusk_cli, 1, "create", "defaults", "--project", "default", "-f", str(unknown)
    )
    assert "could not read" in fails(tusk_cli, 1, "update", "defaults", "--cluster", "-f", str(tmp_path / "none"))


# -- cluster and metadata --------------------------------------------------------------------------


def test_inspect_cluster(tusk_cli: Run, client: tusk.Client) -> None:
    info = client.inspect_cluster()
    assert len(info.id) == 32 and list(info.warnings) == []  # the client sends the API version it speaks
    assert ok(tusk_cli, "inspect", "cluster").startswith(f"Cluster ID: {info.id}\nDeployment ID: ")
    assert json.loads(ok(tusk_cli, "inspect", "cluster", "--raw"))["id"] == info.id
    assert client.inspect_cluster(project="nope").warnings  # pachd warns of a missing current project


def test_edit_metadata_verbs(tusk_cli: Run, client: tusk.Client) -> None:
    ok(tusk_cli, "create", "project", "vision")
    client.pfs.create_repo("vision/images")
    client.pfs.put_file("vision/images@master", "/a", b"a")
    commit = client.pfs.inspect_commit("vision/images@master").commit
    ok(
        tusk_cli,
        "edit",
        "metadata",
        "project", "vision", "add", "owner=me",
        "repo", "images", "add", '"two words"=\'x;y\'',
        "branch", "images@master", "replace", "a=1;b=2",
        "commit", "images@master", "edit", "verified=yes",
        "cluster", ".", "replace", '{"env":"test"}',
        "--project", "vision",
    )  # fmt: skip
    assert dict(client.pfs.inspect_project("vision").metadata) == {"owner": "me"}
    assert dict(client.pfs.inspect_repo("vision/images").metadata) == {"two words": "x;y"}
    assert dict(client.pfs.inspect_branch("vision/images@master").metadata) == {"a": "1", "b": "2"}
    assert dict(client.pfs.inspect_commit(f"vision/images@{commit.id}").metadata) == {"verified": "yes"}
    assert dict(client.inspect_cluster().metadata) == {"env": "test"}
    ok(tusk_cli, "edit", "metadata", "repo", "vision/images", "delete", "two words")
    assert dict(client.pfs.inspect_repo("vision/images").metadata) == {}

    # All or nothing: the second edit fails (the key exists), so the first is not applied either.
    code, _, err = tusk_cli(
        "edit", "metadata", "repo", "vision/images", "add", "k=v", "project", "vision", "add", "owner=you"
    )
    assert code == 1 and err.startswith("error: ")
    assert dict(client.pfs.inspect_repo("vision/images").metadata) == {}
    assert "not found" in fails(tusk_cli, 4, "edit", "metadata", "repo", "nope", "add", "a=b")
    assert "groups of 4" in fails(tusk_cli, 2, "edit", "metadata", "repo", "images", "add")
    assert "unknown object type" in fails(tusk_cli, 2, "edit", "metadata", "file", "x", "add", "a=b")
    assert "unknown operation" in fails(tusk_cli, 2, "edit", "metadata", "repo", "x", "grow", "a=b")
    assert "has no value" in fails(tusk_cli, 2, "edit", "metadata", "repo", "x", "add", "a")


def test_edit_metadata_client_and_text_forms(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    client.edit_metadata("repo", "images", "add", "a=1", "repo", "images", "add", "b=2")
    assert dict(client.pfs.inspect_repo("images").metadata) == {"a": "1", "b": "2"}
    assert parse_pairs("a=1; 'b c'=\"x\\ny\"") == [("a", "1"), ("b c", "x\ny")]
    assert parse_pairs('{"k": "v"}') == [("k", "v")]
    picker = commit_picker("p/images@master^2")
    assert picker.ancestor.offset == 2 and picker.ancestor.start.branch_head.name.name == "master"
    assert commit_picker("images@" + "a" * 32).id.id == "a" * 32
    with pytest.raises(errors.InvalidArgument, match="duplicate key"):
        parse_edits(["repo", "images", "replace", "a=1;a=2"])
    with pytest.raises(errors.InvalidArgument, match="unterminated"):
        parse_pairs("a='x")


def test_docs_cli_covers_the_new_commands() -> None:
    import click

    from tusk.cli import metadata, projects, transactions
    from tusk.cli.root import cli

    doc = (REPO_ROOT / "docs" / "cli.md").read_text()
    modules = {m.__name__ for m in (projects, transactions, metadata)}
    seen = 0
    for verb, group in cli.commands.items():
        for noun, command in getattr(group, "commands", {}).items():
            if command.callback is None or command.callback.__module__ not in modules:
                continue
            seen += 1
            assert f"`tusk {verb} {noun}" in doc, f"docs/cli.md does not describe tusk {verb} {noun}"
            for param in command.params:
                if isinstance(param, click.Option):
                    assert any(opt in doc for opt in param.opts), f"docs/cli.md misses {param.opts} of {verb} {noun}"
    assert seen == 19
    assert "TUSK_CONFIG_DIR" in doc and "TUSK_PROJECT" in doc


def test_readme_python_block_of_projects_and_transactions(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    block = re.search(
        r"Projects, transactions, pipeline defaults, metadata and the cluster:\n\n```python\n(.*?)\n```", readme, re.S
    )
    assert block is not None
    monkeypatch.setenv("TUSK_ADDRESS", server.address)
    exec(compile("import tusk\n" + block.group(1), "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    with tusk.Client(server.address) as c:
        assert lines == ["2", c.inspect_cluster().id]
        assert dict(c.pfs.inspect_repo("vision/labels").metadata) == {"owner": "me"}
        assert c.pps.get_project_defaults("vision") == '{"createPipelineRequest": {"datumTries": "5"}}'
