"""Pipeline specs: validation messages, defaults, the stored JSON form and the proto conversions."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from google.protobuf import json_format

from tusk.errors import InvalidArgument as ClientInvalidArgument
from tusk.pps_pipelines import parse_pipeline_spec
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.inputs import Input, PfsInput
from tuskd.domain.pipelines import (
    PipelineSpec,
    PipelineState,
    Transform,
    format_duration,
    parse_duration,
    pipeline_state,
    spec_from_dict,
    spec_to_dict,
    validate_pipeline_spec,
)
from tuskd.transport import pipeline_convert as convert


def pfs(repo: str, glob: str = "/*", **kw: object) -> Input:
    return Input(pfs=PfsInput(repo=repo, glob=glob, **kw))  # type: ignore[arg-type]


def spec(**kw: object) -> PipelineSpec:
    base = PipelineSpec(name="edges", transform=Transform(cmd=("python3", "/edges.py")), input=pfs("images"))
    return replace(base, **kw)  # type: ignore[arg-type]


# -- validation messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (spec(name=""), "invalid pipeline spec: request.Pipeline.Name cannot be empty"),
        (
            spec(name="bad name!"),
            "invalid pipeline name: name (bad name!) invalid: only alphanumeric characters, underscores, "
            "and dashes are allowed",
        ),
        (spec(name="p" * 70), f"pipeline name {'p' * 70} is 7 characters longer than the 63 max"),
        (spec(project="no/slash"), "invalid project name: 'no/slash'"),
        (spec(transform=Transform()), "invalid pipeline spec: transform.cmd cannot be empty"),
        (spec(parallelism=-1), "invalid pipeline spec: parallelism_spec.constant cannot be negative"),
        (spec(datum_tries=-2), "invalid pipeline spec: datum_tries cannot be negative"),
        (spec(datum_timeout=0.0), "invalid pipeline spec: datum_timeout must be positive"),
        (spec(job_timeout=-1.0), "invalid pipeline spec: job_timeout must be positive"),
        (
            spec(reprocess_spec="sometimes"),
            "invalid pipeline spec: ReprocessSpec must be one of 'until_success' or 'every_job', not 'sometimes'",
        ),
        (spec(egress_url="s3://bucket/x"), "egress URL 's3://bucket/x' is not supported: tusk egresses to file://"),
        (spec(output_branch="out/put"), "invalid pipeline spec: output branch name 'out/put' is invalid"),
        (spec(input=pfs("edges")), 'pipeline "edges" cannot take its own output repo as an input'),
        (spec(input=Input()), "no input set"),
        (spec(input=Input(pfs=PfsInput(glob="/*"))), "input must specify a repo"),
        (spec(input=pfs("images", glob="")), "input must specify a glob"),
        (spec(input=Input(pfs=PfsInput(repo="a", glob="/*"), cross=(pfs("b"),))), "multiple input types set"),
        (spec(input=Input(cross=(pfs("a"), pfs("a")))), 'name "a" was used more than once'),
    ],
)
def test_invalid_specs_are_refused_with_pachyderm_like_messages(bad: PipelineSpec, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_pipeline_spec(bad)
    assert info.value.message.startswith(message)


def test_defaults_are_applied() -> None:
    got = validate_pipeline_spec(spec(project="", parallelism=0, datum_tries=0, reprocess_spec="", output_branch=""))
    assert (got.project, got.parallelism, got.datum_tries) == ("default", 1, 3)
    assert (got.reprocess_spec, got.output_branch) == ("until_success", "master")
    assert got.input.pfs == PfsInput(name="images", repo="images", branch="master", glob="/*")


def test_env_and_metadata_are_sorted() -> None:
    got = validate_pipeline_spec(
        spec(transform=Transform(cmd=("x",), env=(("b", "2"), ("a", "1"))), labels=(("z", "1"), ("y", "2")))
    )
    assert got.transform.env == (("a", "1"), ("b", "2"))
    assert got.labels == (("y", "2"), ("z", "1"))


def test_own_output_repo_of_another_project_is_allowed() -> None:
    got = validate_pipeline_spec(spec(input=pfs("edges", project="other")))
    assert got.input.pfs is not None and got.input.pfs.project == "other"


# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"), [(30, "30s"), (0.5, "0.500s"), (1.000001, "1.000001s"), (0.113263653, "0.113263653s")]
)
def test_format_duration_like_protobuf_json(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m30s", 90), ("1.5h", 5400), ("250ms", 0.25)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "30", "5 minutes", "1d"])
def test_parse_duration_refuses_garbage(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_duration(text)


# -- the stored JSON form -------------------------------------------------------------------


def full_spec() -> PipelineSpec:
    return validate_pipeline_spec(
        PipelineSpec(
            name="montage",
            project="proj",
            description="joins",
            transform=Transform(
                cmd=("sh",),
                stdin=("echo hi",),
                err_cmd=("true",),
                err_stdin=("exit 0",),
                env=(("A", "1"),),
                accept_return_code=(3, 4),
                working_dir="/tmp",
                image="alpine:3",
                user="nobody",
            ),
            input=Input(
                cross=(
                    Input(
                        join=(
                            pfs("a", glob="/(*)", join_on="$1", outer_join=True),
                            pfs("b", glob="/(*)", join_on="$1", branch="dev"),
                        )
                    ),
                    Input(union=(pfs("c", lazy=True), Input(group=(pfs("d", glob="/(*)", group_by="$1"),)))),
                )
            ),
            parallelism=4,
            datum_tries=2,
            datum_timeout=30.0,
            job_timeout=0.5,
            egress_url="file:///tmp/out",
            salt="abc",
            reprocess_spec="every_job",
            output_branch="out",
            autoscaling=True,
            annotations=(("k", "v"),),
            labels=(("l", "w"),),
        )
    )


def test_spec_round_trips_through_json() -> None:
    original = full_spec()
    text = json.dumps(spec_to_dict(original))
    assert spec_from_dict(json.loads(text)) == original


def test_stored_json_is_a_create_pipeline_request() -> None:
    request = json_format.ParseDict(spec_to_dict(full_spec()), pps_pb2.CreatePipelineRequest())
    assert request.pipeline.project.name == "proj"
    assert request.parallelism_spec.constant == 4
    assert request.datum_timeout.seconds == 30
    assert request.job_timeout.nanos == 500_000_000
    assert request.egress.URL == "file:///tmp/out"
    assert request.input.cross[0].join[1].pfs.branch == "dev"
    assert validate_pipeline_spec(convert.spec_from_request(request)) == full_spec()


def test_defaults_stay_out_of_the_stored_json() -> None:
    data = spec_to_dict(validate_pipeline_spec(spec()))
    assert "parallelism_spec" not in data
    assert data["pipeline"] == {"name": "edges"}
    assert data["input"] == {
        "pfs": {"name": "images", "repo": "images", "repo_type": "user", "branch": "master", "glob": "/*"}
    }


def test_unknown_input_fields_in_stored_json_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown pfs input field"):
        spec_from_dict({"input": {"pfs": {"repo": "a", "s3": True}}})


# -- pipeline state -------------------------------------------------------------------------


def test_pipeline_state() -> None:
    assert pipeline_state(stopped=True, busy=True) is PipelineState.PIPELINE_PAUSED
    assert pipeline_state(stopped=False, busy=True) is PipelineState.PIPELINE_RUNNING
    assert pipeline_state(stopped=False, busy=False) is PipelineState.PIPELINE_RUNNING
    assert pipeline_state(stopped=False, busy=False, autoscaling=True) is PipelineState.PIPELINE_STANDBY
    assert pipeline_state(stopped=False, busy=True, autoscaling=True) is PipelineState.PIPELINE_RUNNING
    assert pipeline_state(stopped=True, busy=False, autoscaling=True) is PipelineState.PIPELINE_PAUSED


# -- proto conversions ----------------------------------------------------------------------


def test_details_have_the_seed_shape() -> None:
    """The seed's ``inspect job --raw`` details: transform, input (name, repo, repo_type, branch,
    glob), salt and datum_tries, nothing else."""
    seed = validate_pipeline_spec(
        spec(transform=Transform(image="pachyderm/opencv", cmd=("python3", "/edges.py")), salt="27bbe39c")
    )
    details = json_format.MessageToDict(convert.details_proto(seed), preserving_proto_field_name=True)
    assert details == {
        "transform": {"image": "pachyderm/opencv", "cmd": ["python3", "/edges.py"]},
        "input": {"pfs": {"name": "images", "repo": "images", "repo_type": "user", "branch": "master", "glob": "/*"}},
        "salt": "27bbe39c",
        "datum_tries": "3",
    }


def test_details_carry_timeouts_parallelism_and_egress() -> None:
    details = convert.details_proto(full_spec())
    assert details.datum_timeout.seconds == 30
    assert details.job_timeout.nanos == 500_000_000
    assert details.parallelism_spec.constant == 4
    assert details.egress.URL == "file:///tmp/out"
    assert details.input.cross[1].union[0].pfs.lazy


@pytest.mark.parametrize(
    ("json_spec", "message"),
    [
        ({"service": {"internal_port": 80}}, "service pipelines are not supported by tusk"),
        ({"spout": {}}, "spout pipelines are not supported by tusk"),
        ({"s3_out": True}, "s3_out (an S3 output gateway) is not supported by tusk"),
        (
            {"input": {"cross": [{"pfs": {"repo": "a", "glob": "/", "s3": True}}]}},
            "input.cross[0].pfs.s3: S3 gateway inputs are not supported",
        ),
        ({"transform": {"cmd": ["x"], "secrets": [{"name": "s"}]}}, "transform.secrets (Kubernetes secrets) are"),
        ({"egress": {"object_storage": {}}}, "egress to object storage or SQL databases is"),
    ],
)
def test_unsupported_features_are_refused(json_spec: dict[str, object], message: str) -> None:
    request = json_format.ParseDict({"pipeline": {"name": "p"}, **json_spec}, pps_pb2.CreatePipelineRequest())
    with pytest.raises(InvalidArgument) as info:
        convert.spec_from_request(request)
    assert message in info.value.message


def test_request_without_pipeline_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"request.Pipeline cannot be nil"):
        convert.spec_from_request(pps_pb2.CreatePipelineRequest())


def test_kubernetes_knobs_are_accepted_and_ignored() -> None:
    """Resource requests and pod patches mean nothing on one machine; autoscaling is kept."""
    request = json_format.ParseDict(
        {
            "pipeline": {"name": "p"},
            "transform": {"cmd": ["x"]},
            "input": {"pfs": {"repo": "a", "glob": "/"}},
            "resource_requests": {"memory": "1G", "cpu": 1},
            "autoscaling": True,
            "pod_patch": "[]",
        },
        pps_pb2.CreatePipelineRequest(),
    )
    got = validate_pipeline_spec(convert.spec_from_request(request))
    assert (got.name, got.autoscaling) == ("p", True)


def test_user_spec_json_leaves_out_the_action_flags() -> None:
    request = pps_pb2.CreatePipelineRequest(update=True, reprocess=True, description="d")
    assert json.loads(convert.user_spec_json(request)) == {"description": "d"}


# -- client-side parsing --------------------------------------------------------------------


def test_client_parses_go_style_durations() -> None:
    request = parse_pipeline_spec({"pipeline": {"name": "p"}, "datum_timeout": "1m30s", "job_timeout": "30s"})
    assert request.datum_timeout.seconds == 90
    assert request.job_timeout.seconds == 30


def test_client_refuses_unknown_fields_in_one_line() -> None:
    with pytest.raises(ClientInvalidArgument) as info:
        parse_pipeline_spec({"pipeline": {"name": "p"}, "transfrom": {}})
    assert "transfrom" in info.value.message
    assert "\n" not in info.value.message
