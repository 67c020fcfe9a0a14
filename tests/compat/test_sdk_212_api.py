"""Pachyderm 2.12 behaviours a pachyderm-sdk user relies on, through a real tusk server.

Each test drives the official client (pachyderm-sdk 2.12.2, its own betterproto messages) and
checks the answer pachd gives: projects, DeleteRepo(s), transactions, metadata, InspectCluster,
the enterprise services' not-activated answers, CreatePipelineV2 and defaults, CreateDatum,
pachd's log lines, DiffFile, DeleteJob of a running job, RestartDatum, RunCron and the
UNIMPLEMENTED answer of a method tusk does not serve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

pachyderm_sdk = pytest.importorskip("pachyderm_sdk", reason="pachyderm-sdk is a test dependency")
from pachyderm_sdk.api import admin, metadata, pfs, pps, transaction, version  # noqa: E402
from pachyderm_sdk.errors import AuthServiceNotActivated  # noqa: E402

from tests.conftest import RunningServer, start_server, stop_server  # noqa: E402


@pytest.fixture
def sdk(server: RunningServer) -> Iterator[object]:
    host, port = server.address.rsplit(":", 1)
    client = pachyderm_sdk.Client(host=host, port=int(port))
    yield client
    client._channel.close()


def _code(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code(), caught.value.details()


def _pipeline(sdk: object, name: str, repo: str, project: str = "", stdin: str = "cp /pfs/in/* /pfs/out/") -> None:
    sdk.pps.create_pipeline(  # type: ignore[attr-defined]
        pipeline=pps.Pipeline(name=name, project=pfs.Project(name=project)),
        input=pps.Input(pfs=pps.PfsInput(repo=repo, glob="/*", name="in")),
        transform=pps.Transform(cmd=["sh"], stdin=[stdin]),
    )


def _put(sdk: object, repo: pfs.Repo, path: str, data: bytes) -> pfs.Commit:
    with sdk.pfs.commit(branch=pfs.Branch(repo=repo, name="master")) as commit:  # type: ignore[attr-defined]
        commit.put_file_from_bytes(path=path, data=data)
    commit.wait()
    return commit


# -- repos and projects ---------------------------------------------------------------------


def test_delete_repo_of_a_missing_repo_is_ok_and_says_nothing_was_deleted(sdk: object) -> None:
    assert sdk.pfs.delete_repo(repo=pfs.Repo(name="ghost"), force=True).deleted is False  # type: ignore[attr-defined]
    sdk.pfs.create_repo(repo=pfs.Repo(name="real"))  # type: ignore[attr-defined]
    assert sdk.pfs.delete_repo(repo=pfs.Repo(name="real")).deleted is True  # type: ignore[attr-defined]


def test_delete_repos_by_project_and_all(sdk: object) -> None:
    sdk.pfs.create_project(project=pfs.Project(name="p1"))  # type: ignore[attr-defined]
    for project, name in (("p1", "a"), ("p1", "b"), ("default", "c")):
        sdk.pfs.create_repo(repo=pfs.Repo(name=name, project=pfs.Project(name=project)))  # type: ignore[attr-defined]
    gone = sdk.pfs.delete_repos(projects=[pfs.Project(name="p1")])  # type: ignore[attr-defined]
    assert sorted(r.name for r in gone.repos) == ["a", "b"]
    assert [r.repo.name for r in sdk.pfs.list_repo()] == ["c"]  # type: ignore[attr-defined]
    assert [r.name for r in sdk.pfs.delete_repos(all=True).repos] == ["c"]  # type: ignore[attr-defined]


def test_projects_create_inspect_list_delete_with_pachds_texts(sdk: object) -> None:
    p = pfs.Project(name="science")
    sdk.pfs.create_project(project=p, description="lab data")  # type: ignore[attr-defined]
    info = sdk.pfs.inspect_project(project=p)  # type: ignore[attr-defined]
    assert (info.project.name, info.description) == ("science", "lab data")
    assert {i.project.name for i in sdk.pfs.list_project()} == {"default", "science"}  # type: ignore[attr-defined]
    v2 = sdk.pfs.inspect_project_v2(project=p)  # type: ignore[attr-defined]
    assert v2.info.project.name == "science" and json.loads(v2.defaults_json) == {}

    code, text = _code(lambda: sdk.pfs.create_project(project=p))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.ALREADY_EXISTS and 'project "science" already exists' in text
    code, text = _code(lambda: sdk.pfs.inspect_project(project=pfs.Project(name="nope")))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.NOT_FOUND and 'project "nope" not found' in text
    code, text = _code(
        lambda: sdk.pfs.create_repo(repo=pfs.Repo(name="r", project=pfs.Project(name="nope")))  # type: ignore[attr-defined]
    )
    assert code == grpc.StatusCode.NOT_FOUND and 'cannot find project "nope"' in text

    sdk.pfs.create_repo(repo=pfs.Repo(name="r", project=p))  # type: ignore[attr-defined]
    for force in (False, True):  # as pachd: force does not delete what the project holds
        code, text = _code(lambda f=force: sdk.pfs.delete_project(project=p, force=f))  # type: ignore[attr-defined]
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert text == "cannot delete project science: repo science/r still exists"
    sdk.pfs.delete_repo(repo=pfs.Repo(name="r", project=p))  # type: ignore[attr-defined]
    sdk.pfs.delete_project(project=p)  # type: ignore[attr-defined]
    assert not sdk.pfs.project_exists(p)  # type: ignore[attr-defined]
    assert sdk.pfs.project_exists(pfs.Project(name="default"))  # type: ignore[attr-defined]


def test_a_pfs_input_without_a_project_reads_from_the_pipelines_project(sdk: object) -> None:
    lab = pfs.Project(name="lab")
    sdk.pfs.create_project(project=lab)  # type: ignore[attr-defined]
    repo = pfs.Repo(name="samples", project=lab)
    sdk.pfs.create_repo(repo=repo)  # type: ignore[attr-defined]
    _pipeline(sdk, "copy", "samples", project="lab")
    _put(sdk, repo, "/x.dat", b"DATA")
    job = next(sdk.pps.list_job(pipeline=pps.Pipeline(name="copy", project=lab)))  # type: ignore[attr-defined]
    done = sdk.pps.inspect_job(job=job.job, wait=True, details=True)  # type: ignore[attr-defined]
    assert done.state == pps.JobState.JOB_SUCCESS, done.reason
    assert done.details.input.pfs.project in ("", "lab")
    datums = list(sdk.pps.list_datum(job=job.job))  # type: ignore[attr-defined]
    assert len(datums) == 1 and datums[0].state == pps.DatumState.SUCCESS


def test_commit_info_names_its_commit_without_a_branch(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="r"))  # type: ignore[attr-defined]
    commit = _put(sdk, pfs.Repo(name="r"), "/a", b"1")
    info = sdk.pfs.inspect_commit(commit=commit, wait=pfs.CommitState.FINISHED)  # type: ignore[attr-defined]
    assert info.commit.branch.name == "" and info.commit.repo.name == "r" and info.commit.id == commit.id


def test_diff_file_gives_one_answer_per_path(sdk: object) -> None:
    repo = pfs.Repo(name="d")
    sdk.pfs.create_repo(repo=repo)  # type: ignore[attr-defined]
    with sdk.pfs.commit(branch=pfs.Branch(repo=repo, name="master")) as first:  # type: ignore[attr-defined]
        old = first.put_file_from_bytes(path="/file2.dat", data=b"old")
    with sdk.pfs.commit(branch=pfs.Branch(repo=repo, name="master")) as second:  # type: ignore[attr-defined]
        new = second.put_file_from_bytes(path="/file1.dat", data=b"new")
    diff = list(sdk.pfs.diff_file(new_file=new, old_file=old))  # type: ignore[attr-defined]
    assert [(d.new_file.file.path, d.old_file.file.path) for d in diff] == [("/file1.dat", ""), ("", "/file2.dat")]


# -- cluster and enterprise -----------------------------------------------------------------


def test_inspect_cluster_id_is_stable_across_restarts_and_warns_like_pachd(server_config: object) -> None:
    ids = []
    for _ in range(2):
        running = start_server(server_config)  # type: ignore[arg-type]
        try:
            host, port = running.address.rsplit(":", 1)
            client = pachyderm_sdk.Client(host=host, port=int(port))
            stub = admin.ApiStub(client._channel)
            info = stub.inspect_cluster(client_version=version.Version(major=2, minor=12, micro=2))
            assert info.warnings_ok and info.warnings == [] and info.id
            ids.append(info.id)
            old = stub.inspect_cluster(
                client_version=version.Version(major=2, minor=9), current_project=pfs.Project(name="nope")
            )
            assert "much older than the server" in old.warnings[0]
            assert old.warnings[1].startswith('WARNING: Could not inspect project "nope"')
            client._channel.close()
        finally:
            stop_server(running)
    assert ids[0] == ids[1]


def test_enterprise_services_answer_as_pachd_without_enterprise(sdk: object) -> None:
    with pytest.raises(AuthServiceNotActivated):
        sdk.auth.who_am_i()  # type: ignore[attr-defined]
    with pytest.raises(AuthServiceNotActivated):
        sdk.identity.list_idp_connectors()  # type: ignore[attr-defined]
    assert sdk.enterprise.get_state().state == 0  # type: ignore[attr-defined]  # NONE
    sdk.license.delete_all()  # type: ignore[attr-defined]  # python_pachyderm's delete_all calls it


def test_a_method_tusk_does_not_serve_names_itself_and_why(sdk: object) -> None:
    code, text = _code(lambda: sdk.pps.list_secret())  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert text.startswith("pps_v2.API/ListSecret is not served by tusk: Kubernetes secrets")


# -- transactions ---------------------------------------------------------------------------


def test_transaction_queues_and_applies_atomically(sdk: object) -> None:
    with sdk.transaction.transaction() as txn:  # type: ignore[attr-defined]
        sdk.pfs.create_repo(repo=pfs.Repo(name="t1"))  # type: ignore[attr-defined]
        sdk.pfs.create_branch(branch=pfs.Branch.from_uri("t1@master"))  # type: ignore[attr-defined]
        commit = sdk.pfs.start_commit(branch=pfs.Branch.from_uri("t1@master"))  # type: ignore[attr-defined]
        assert commit.id == txn.id  # a transaction's commits share its ID as their commit set
        sdk.pfs.finish_commit(commit=commit)  # type: ignore[attr-defined]
        assert not sdk.pfs.repo_exists(pfs.Repo(name="t1"))  # type: ignore[attr-defined]  # queued, not applied
        info = sdk.transaction.inspect_transaction(transaction=txn)  # type: ignore[attr-defined]
        assert len(info.requests) == 4 and len(info.responses) == 4
        assert info.responses[2].commit.id == txn.id  # the answers of the check made when queued
        # A queued request is checked at once against what the queue would make.
        code, text = _code(lambda: sdk.pfs.create_repo(repo=pfs.Repo(name="t1")))  # type: ignore[attr-defined]
        assert code == grpc.StatusCode.ALREADY_EXISTS and "already exists" in text
    assert sdk.pfs.inspect_commit(commit=pfs.Commit.from_uri(f"t1@{txn.id}")).finished  # type: ignore[attr-defined]
    assert not sdk.transaction.transaction_exists(txn)  # type: ignore[attr-defined]


def test_deleted_transaction_applies_nothing_and_unknown_ids_are_not_found(sdk: object) -> None:
    txn = sdk.transaction.start_transaction()  # type: ignore[attr-defined]
    sdk.pfs.create_repo(repo=pfs.Repo(name="never"))  # type: ignore[attr-defined]
    sdk.transaction.delete_transaction(transaction=txn)  # type: ignore[attr-defined]
    sdk.transaction_id = None  # type: ignore[attr-defined]
    assert not sdk.pfs.repo_exists(pfs.Repo(name="never"))  # type: ignore[attr-defined]
    code, text = _code(lambda: sdk.transaction.inspect_transaction(transaction=txn))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.NOT_FOUND and text == f"transactions {txn.id} not found"


def test_batch_transaction_is_all_or_nothing(sdk: object) -> None:
    def create(name: str) -> transaction.TransactionRequest:
        return transaction.TransactionRequest(create_repo=pfs.CreateRepoRequest(repo=pfs.Repo(name=name)))

    sdk.transaction.batch_transaction(requests=[create("b1"), create("b2")])  # type: ignore[attr-defined]
    assert {r.repo.name for r in sdk.pfs.list_repo()} == {"b1", "b2"}  # type: ignore[attr-defined]
    code, _ = _code(lambda: sdk.transaction.batch_transaction(requests=[create("b3"), create("b1")]))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert not sdk.pfs.repo_exists(pfs.Repo(name="b3"))  # type: ignore[attr-defined]


# -- metadata -------------------------------------------------------------------------------


def test_edit_metadata_on_every_kind_of_target(sdk: object) -> None:
    repo = pfs.Repo(name="m")
    sdk.pfs.create_repo(repo=repo)  # type: ignore[attr-defined]
    commit = _put(sdk, repo, "/a", b"1")
    _pipeline(sdk, "mp", "m")
    branch = pfs.Branch(repo=repo, name="master")
    edits = [
        metadata.Edit(project=pfs.ProjectPicker(name="default"), add_key=metadata.EditAddKey(key="k", value="p")),
        metadata.Edit(repo=repo.as_picker(), add_key=metadata.EditAddKey(key="k", value="r")),
        metadata.Edit(branch=branch.as_picker(), add_key=metadata.EditAddKey(key="k", value="b")),
        metadata.Edit(commit=commit.as_picker(), add_key=metadata.EditAddKey(key="k", value="c")),
        metadata.Edit(
            pipeline=pps.PipelinePicker(
                name=pps.PipelinePickerPipelineName(project=pfs.ProjectPicker(name="default"), name="mp")
            ),
            add_key=metadata.EditAddKey(key="k", value="l"),
        ),
        metadata.Edit(cluster=metadata.ClusterPicker(), replace=metadata.EditReplace(replacement={"k": "x"})),
    ]
    sdk.metadata.edit_metadata(edits=edits)  # type: ignore[attr-defined]
    assert sdk.pfs.inspect_project(project=pfs.Project(name="default")).metadata == {"k": "p"}  # type: ignore[attr-defined]
    assert sdk.pfs.inspect_repo(repo=repo).metadata == {"k": "r"}  # type: ignore[attr-defined]
    assert sdk.pfs.inspect_branch(branch=branch).metadata == {"k": "b"}  # type: ignore[attr-defined]
    assert sdk.pfs.inspect_commit(commit=commit).metadata == {"k": "c"}  # type: ignore[attr-defined]
    assert sdk.pps.inspect_pipeline(pipeline=pps.Pipeline(name="mp")).metadata == {"k": "l"}  # type: ignore[attr-defined]
    assert admin.ApiStub(sdk._channel).inspect_cluster().metadata == {"k": "x"}  # type: ignore[attr-defined]

    # All edits of one request or none: the second edit fails, the first is not kept.
    code, text = _code(
        lambda: sdk.metadata.edit_metadata(  # type: ignore[attr-defined]
            edits=[
                metadata.Edit(repo=repo.as_picker(), edit_key=metadata.EditEditKey(key="k2", value="v")),
                metadata.Edit(repo=repo.as_picker(), add_key=metadata.EditAddKey(key="k", value="again")),
            ]
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert 'add_key target key "k" already exists; use edit_key instead' in text
    assert sdk.pfs.inspect_repo(repo=repo).metadata == {"k": "r"}  # type: ignore[attr-defined]
    sdk.metadata.edit_metadata(  # type: ignore[attr-defined]
        edits=[metadata.Edit(repo=repo.as_picker(), delete_key=metadata.EditDeleteKey(key="k"))]
    )
    assert sdk.pfs.inspect_repo(repo=repo).metadata == {}  # type: ignore[attr-defined]


# -- pipelines, datums, logs ----------------------------------------------------------------


def test_create_pipeline_v2_merges_cluster_and_project_defaults(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="src"))  # type: ignore[attr-defined]
    assert json.loads(sdk.pps.get_cluster_defaults().cluster_defaults_json) == {}  # type: ignore[attr-defined]
    sdk.pps.set_cluster_defaults(  # type: ignore[attr-defined]
        cluster_defaults_json=json.dumps({"createPipelineRequest": {"datumTries": "5", "description": "from cluster"}})
    )
    sdk.pps.set_project_defaults(  # type: ignore[attr-defined]
        project=pfs.Project(name="default"),
        project_defaults_json=json.dumps({"createPipelineRequest": {"description": "from project"}}),
    )
    spec = {
        "pipeline": {"name": "v2"},
        "input": {"pfs": {"repo": "src", "glob": "/*"}},
        "transform": {"cmd": ["true"]},
    }
    answer = sdk.pps.create_pipeline_v2(create_pipeline_request_json=json.dumps(spec))  # type: ignore[attr-defined]
    effective = json.loads(answer.effective_create_pipeline_request_json)
    assert effective["datumTries"] == "5" and effective["description"] == "from project"
    info = sdk.pps.inspect_pipeline(pipeline=pps.Pipeline(name="v2"), details=True)  # type: ignore[attr-defined]
    assert info.details.datum_tries == 5 and info.details.description == "from project"
    for bad in ('{"nope": 1}', '{"createPipelineRequest": {"foo": 1}}'):
        code, text = _code(lambda b=bad: sdk.pps.set_cluster_defaults(cluster_defaults_json=b))  # type: ignore[attr-defined]
        assert code == grpc.StatusCode.INVALID_ARGUMENT and text.startswith("invalid cluster defaults JSON"), text


def test_create_datum_streams_batches_on_demand(sdk: object) -> None:
    repo = pfs.Repo(name="many")
    sdk.pfs.create_repo(repo=repo)  # type: ignore[attr-defined]
    with sdk.pfs.commit(branch=pfs.Branch(repo=repo, name="master")) as commit:  # type: ignore[attr-defined]
        for i in range(23):
            commit.put_file_from_bytes(path=f"/f{i:02}", data=b"x")
    stream = sdk.pps.generate_datums(  # type: ignore[attr-defined]
        input_spec=pps.Input(pfs=pps.PfsInput(repo="many", glob="/*")), batch_size=10
    )
    sizes = [len(next(stream)), len(stream.send(3)), len(stream.send(20))]
    assert sizes == [10, 3, 10]
    with pytest.raises(StopIteration):
        next(stream)


def test_logs_carry_pachds_worker_and_master_lines(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="quiet"))  # type: ignore[attr-defined]
    _pipeline(sdk, "silent", "quiet", stdin="true")  # prints nothing
    _put(sdk, pfs.Repo(name="quiet"), "/a", b"1")
    job = next(sdk.pps.list_job(pipeline=pps.Pipeline(name="silent")))  # type: ignore[attr-defined]
    sdk.pps.inspect_job(job=job.job, wait=True)  # type: ignore[attr-defined]
    worker = [m.message for m in sdk.pps.get_logs(job=job.job)]  # type: ignore[attr-defined]
    assert worker[0] == "beginning to run user code"
    assert worker[1].startswith("finished running user code after ")
    master = list(sdk.pps.get_logs(pipeline=pps.Pipeline(name="silent"), master=True))  # type: ignore[attr-defined]
    assert all(m.master for m in master)
    assert "updating job info, state: JOB_SUCCESS" in [m.message for m in master]


def test_delete_job_of_a_running_job_stops_then_deletes_it(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="slow"))  # type: ignore[attr-defined]
    _pipeline(sdk, "sleeper", "slow", stdin="sleep 60")
    with sdk.pfs.commit(branch=pfs.Branch.from_uri("slow@master")) as commit:  # type: ignore[attr-defined]
        commit.put_file_from_bytes(path="/a", data=b"1")
    job = next(sdk.pps.list_job(pipeline=pps.Pipeline(name="sleeper")))  # type: ignore[attr-defined]
    sdk.pps.delete_job(job=job.job)  # type: ignore[attr-defined]
    assert not sdk.pps.job_exists(job=job.job)  # type: ignore[attr-defined]


def test_restart_datum_and_run_cron_give_pachds_errors(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="in"))  # type: ignore[attr-defined]
    _pipeline(sdk, "once", "in")
    _put(sdk, pfs.Repo(name="in"), "/a", b"1")
    job = next(sdk.pps.list_job(pipeline=pps.Pipeline(name="once")))  # type: ignore[attr-defined]
    sdk.pps.inspect_job(job=job.job, wait=True)  # type: ignore[attr-defined]
    code, text = _code(lambda: sdk.pps.restart_datum(job=job.job))  # type: ignore[attr-defined]
    assert f"datum matching filter [] could not be found for job ID {job.job.id}" in text
    code, text = _code(lambda: sdk.pps.run_cron(pipeline=pps.Pipeline(name="once")))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.FAILED_PRECONDITION and text == "pipeline doesn't have a cron input"
    code, _ = _code(lambda: sdk.pps.run_cron(pipeline=pps.Pipeline(name="nope")))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.NOT_FOUND


def test_render_template_binds_args_and_bounds_hostile_templates(sdk: object) -> None:
    template = 'function(name, repo) {pipeline: {name: name}, input: {pfs: {repo: repo, glob: "/*"}}}'
    answer = sdk.pps.render_template(template=template, args={"name": "t", "repo": "r"})  # type: ignore[attr-defined]
    assert json.loads(answer.json)["pipeline"] == {"name": "t"}
    assert [s.pipeline.name for s in answer.specs] == ["t"] and answer.specs[0].input.pfs.repo == "r"
    code, text = _code(lambda: sdk.pps.render_template(template="{", args={}))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.INVALID_ARGUMENT and text.startswith("template err: ")
    code, text = _code(lambda: sdk.pps.render_template(template='import "x.libsonnet"', args={}))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "imports are not supported" in text
    # An endless template is stopped in its own process; the server answers the next call.
    code, _ = _code(
        lambda: sdk.pps.render_template(template="local f(x) = f(x + 1) + 1; f(0)", args={})  # type: ignore[attr-defined]
    )
    assert code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT)
    code, text = _code(
        lambda: sdk.pps.render_template(template="std.length(std.range(0, 1000000000))", args={})  # type: ignore[attr-defined]
    )
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "512 MiB" in text
    assert sdk.get_version().major == 2  # type: ignore[attr-defined]


def test_pfs_delete_all_removes_repos_and_projects_and_keeps_default(sdk: object) -> None:
    sdk.pfs.create_project(project=pfs.Project(name="gone"))  # type: ignore[attr-defined]
    sdk.pfs.create_repo(repo=pfs.Repo(name="r", project=pfs.Project(name="gone")))  # type: ignore[attr-defined]
    sdk.pfs.create_repo(repo=pfs.Repo(name="r"))  # type: ignore[attr-defined]
    sdk.pfs.delete_all()  # type: ignore[attr-defined]
    assert list(sdk.pfs.list_repo()) == []  # type: ignore[attr-defined]
    assert [p.project.name for p in sdk.pfs.list_project()] == ["default"]  # type: ignore[attr-defined]


def test_a_transaction_holds_at_most_its_bound_of_requests(sdk: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuskd.services import transactions as txns

    monkeypatch.setattr(txns, "MAX_REQUESTS", 3)  # the server runs in this process
    txn = sdk.transaction.start_transaction()  # type: ignore[attr-defined]
    for name in ("a", "b", "c"):
        sdk.pfs.create_repo(repo=pfs.Repo(name=name))  # type: ignore[attr-defined]
    code, text = _code(lambda: sdk.pfs.create_repo(repo=pfs.Repo(name="d")))  # type: ignore[attr-defined]
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "finish it and start another" in text
    sdk.transaction.finish_transaction(transaction=txn)  # type: ignore[attr-defined]
    assert sorted(r.repo.name for r in sdk.pfs.list_repo()) == ["a", "b", "c"]  # type: ignore[attr-defined]
