"""The generated contract matches Pachyderm's wire facts and the seed's inspect-job JSON.

No server: these tests read only the generated descriptors. Method lists, streaming flags and field
numbers are copied from ../shared/reference/pachyderm-wire.md so that a drift in the .proto files
shows up here rather than as a silent incompatibility with Pachyderm's clients.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor, json_format

from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2, pps_pb2_grpc
from tusk.proto.versionpb_v2 import version_pb2, version_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]

# `pachctl inspect job edges@fd94... --raw` from the seed (shared/seeds/job.txt), key order kept.
SEED_JOB_JSON = """
{
  "job": {
    "pipeline": {
      "name": "edges"
    },
    "id": "fd9454d06d8e4fa38a75c8cd20b39538"
  },
  "pipeline_version": "1",
  "output_commit": {
    "branch": {
      "repo": {
        "name": "edges",
        "type": "user"
      },
      "name": "master"
    },
    "id": "fd9454d06d8e4fa38a75c8cd20b39538"
  },
  "data_processed": "2",
  "data_skipped": "1",
  "data_total": "3",
  "stats": {
    "download_time": "0.113263653s",
    "process_time": "1.020472976s",
    "upload_time": "0.010323995s",
    "download_bytes": "185424",
    "upload_bytes": "114041"
  },
  "state": "JOB_SUCCESS",
  "created": "2021-08-02T20:13:10.461841493Z",
  "started": "2021-08-02T20:13:32.870023561Z",
  "finished": "2021-08-02T20:13:38.691891860Z",
  "details": {
    "transform": {
      "image": "pachyderm/opencv",
      "cmd": [
        "python3",
        "/edges.py"
      ]
    },
    "input": {
      "pfs": {
        "name": "images",
        "repo": "images",
        "repo_type": "user",
        "branch": "master",
        "commit": "fd9454d06d8e4fa38a75c8cd20b39538",
        "glob": "/*"
      }
    },
    "salt": "27bbe39ccae54cc2976e3f960a2e1f94",
    "datum_tries": "3"
  }
}
"""

# (method, client streaming, server streaming) per service, as listed in the wire reference.
PFS_METHODS = [
    ("CreateRepo", False, False),
    ("InspectRepo", False, False),
    ("ListRepo", False, True),
    ("DeleteRepo", False, False),
    ("StartCommit", False, False),
    ("FinishCommit", False, False),
    ("InspectCommit", False, False),
    ("ListCommit", False, True),
    ("SubscribeCommit", False, True),
    ("InspectCommitSet", False, True),
    ("ListCommitSet", False, True),
    ("SquashCommitSet", False, False),
    ("DropCommitSet", False, False),
    ("CreateBranch", False, False),
    ("InspectBranch", False, False),
    ("ListBranch", False, True),
    ("DeleteBranch", False, False),
    ("ModifyFile", True, False),
    ("GetFile", False, True),
    ("GetFileTAR", False, True),
    ("InspectFile", False, False),
    ("ListFile", False, True),
    ("WalkFile", False, True),
    ("GlobFile", False, True),
    ("DiffFile", False, True),
    ("DeleteAll", False, False),
]

PPS_METHODS = [
    ("InspectJob", False, False),
    ("InspectJobSet", False, True),
    ("ListJob", False, True),
    ("ListJobSet", False, True),
    ("SubscribeJob", False, True),
    ("DeleteJob", False, False),
    ("StopJob", False, False),
    ("InspectDatum", False, False),
    ("ListDatum", False, True),
    ("RestartDatum", False, False),
    ("RerunPipeline", False, False),
    ("CreatePipeline", False, False),
    ("InspectPipeline", False, False),
    ("ListPipeline", False, True),
    ("DeletePipeline", False, False),
    ("StartPipeline", False, False),
    ("StopPipeline", False, False),
    ("DeleteAll", False, False),
    ("GetLogs", False, True),
]

VERSION_METHODS = [("GetVersion", False, False)]

# (message full name, field, number, type as "[repeated ]<scalar or full type name>").
FIELD_FACTS = [
    ("pps_v2.JobInfo", "job", 1, "pps_v2.Job"),
    ("pps_v2.JobInfo", "pipeline_version", 2, "uint64"),
    ("pps_v2.JobInfo", "state", 11, "pps_v2.JobState"),
    ("pps_v2.JobInfo", "details", 16, "pps_v2.JobInfo.Details"),
    ("pps_v2.JobInfo", "auth_token", 17, "string"),
    ("pps_v2.JobInfo.Details", "datum_tries", 15, "int64"),
    ("pps_v2.JobInfo.Details", "sidecar_resource_requests", 19, "pps_v2.ResourceSpec"),
    ("pps_v2.ProcessStats", "download_time", 1, "google.protobuf.Duration"),
    ("pps_v2.Pipeline", "project", 2, "pfs_v2.Project"),
    ("pps_v2.PFSInput", "project", 14, "string"),
    ("pps_v2.PFSInput", "repo_type", 13, "string"),
    ("pps_v2.PFSInput", "reference", 16, "bool"),
    ("pps_v2.ListJobRequest", "projects", 7, "repeated pfs_v2.Project"),
    ("pps_v2.ListJobRequest", "jqFilter", 6, "string"),
    ("pps_v2.ListJobRequest", "paginationMarker", 8, "google.protobuf.Timestamp"),
    ("pps_v2.StopJobRequest", "reason", 3, "string"),
    ("pps_v2.ListDatumRequest", "paginationMarker", 4, "string"),
    ("pps_v2.ListDatumRequest.Filter", "state", 1, "repeated pps_v2.DatumState"),
    ("pps_v2.RerunPipelineRequest", "reprocess", 15, "bool"),
    ("pps_v2.CreatePipelineRequest", "maximum_expected_uptime", 39, "google.protobuf.Duration"),
    ("pps_v2.PipelineInfo.Details", "created_by", 40, "string"),
    ("pps_v2.Egress", "URL", 1, "string"),
    ("pps_v2.LogMessage", "project_name", 10, "string"),
    ("pfs_v2.Commit", "repo", 3, "pfs_v2.Repo"),
    ("pfs_v2.Commit", "id", 2, "string"),
    ("pfs_v2.Commit", "branch", 1, "pfs_v2.Branch"),
    ("pfs_v2.CommitInfo", "direct_subvenance", 15, "repeated pfs_v2.Commit"),
    ("pfs_v2.RepoInfo", "metadata", 8, "map<string, string>"),
    ("pfs_v2.AddFile.URLSource", "URL", 1, "string"),
    ("pfs_v2.AddFile", "raw", 3, "google.protobuf.BytesValue"),
    ("pfs_v2.ListFileRequest", "paginationMarker", 3, "pfs_v2.File"),
    ("pfs_v2.GetFileRequest", "URL", 2, "string"),
    ("pfs_v2.FileInfo", "hash", 5, "bytes"),
    ("versionpb_v2.Version", "platform", 9, "string"),
    # tusk additions, from 1000 up.
    ("pps_v2.JobInfo", "page_token", 1000, "string"),
    ("pps_v2.ListJobRequest", "state", 1000, "repeated pps_v2.JobState"),
    ("pps_v2.ListJobRequest", "page_size", 1001, "int64"),
    ("pps_v2.ListJobRequest", "page_token", 1002, "string"),
    ("pps_v2.StopJobRequest", "job_set", 1000, "pps_v2.JobSet"),
    ("pps_v2.StopJobRequest", "grace_period", 1001, "google.protobuf.Duration"),
    ("pps_v2.DatumInfo", "attempts", 1000, "int64"),
    ("pps_v2.DatumInfo", "reason", 1001, "string"),
    ("pps_v2.DatumInfo", "page_token", 1002, "string"),
    ("pps_v2.RestartDatumRequest", "datum_ids", 1000, "repeated string"),
    ("pps_v2.ListDatumRequest", "page_size", 1000, "int64"),
    ("pps_v2.ListDatumRequest", "page_token", 1001, "string"),
    ("pps_v2.WaitJobRequest", "job", 1, "pps_v2.Job"),
    ("pps_v2.WaitJobRequest", "job_set", 2, "pps_v2.JobSet"),
    ("pps_v2.WaitJobRequest", "after_seq", 3, "uint64"),
    ("pps_v2.WaitJobRequest", "heartbeat_interval", 4, "google.protobuf.Duration"),
    ("pps_v2.WaitJobRequest", "details", 5, "bool"),
    ("pps_v2.WaitJobResponse", "seq", 1, "uint64"),
    ("pps_v2.WaitJobResponse", "job_info", 2, "pps_v2.JobInfo"),
    ("pps_v2.WaitJobResponse", "heartbeat", 3, "bool"),
]

# Pachyderm messages that tusk extends: everything it adds must sit at 1000 or above.
EXTENDED = {
    "pps_v2.JobInfo": {"page_token"},
    "pps_v2.ListJobRequest": {"state", "page_size", "page_token"},
    "pps_v2.StopJobRequest": {"job_set", "grace_period"},
    "pps_v2.DatumInfo": {"attempts", "reason", "page_token"},
    "pps_v2.RestartDatumRequest": {"datum_ids"},
    "pps_v2.ListDatumRequest": {"page_size", "page_token"},
}

_POOL = pps_pb2.DESCRIPTOR.pool
_SCALARS = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in vars(descriptor.FieldDescriptor).items()
    if name.startswith("TYPE_")
}


def _type_name(field: descriptor.FieldDescriptor) -> str:
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields
            return f"map<{_type_name(key)}, {_type_name(value)}>"
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return _SCALARS[field.type]


def _describe(field: descriptor.FieldDescriptor) -> str:
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    prefix = "repeated " if field.is_repeated and not is_map else ""
    return prefix + _type_name(field)


def _seed() -> dict[str, Any]:
    seed: dict[str, Any] = json.loads(SEED_JOB_JSON)
    return seed


def test_seed_json_round_trips_through_job_info() -> None:
    msg = json_format.Parse(SEED_JOB_JSON, pps_pb2.JobInfo())
    printed = json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=2)
    assert json.loads(printed) == _seed()


def test_job_info_built_by_hand_prints_the_seed() -> None:
    msg = pps_pb2.JobInfo(
        job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="edges"), id="fd9454d06d8e4fa38a75c8cd20b39538"),
        pipeline_version=1,
        output_commit=pfs_pb2.Commit(
            branch=pfs_pb2.Branch(repo=pfs_pb2.Repo(name="edges", type="user"), name="master"),
            id="fd9454d06d8e4fa38a75c8cd20b39538",
        ),
        data_processed=2,
        data_skipped=1,
        data_total=3,
        state=pps_pb2.JOB_SUCCESS,
    )
    msg.stats.download_time.FromNanoseconds(113_263_653)
    msg.stats.process_time.FromNanoseconds(1_020_472_976)
    msg.stats.upload_time.FromNanoseconds(10_323_995)
    msg.stats.download_bytes = 185_424
    msg.stats.upload_bytes = 114_041
    msg.created.FromJsonString("2021-08-02T20:13:10.461841493Z")
    msg.started.FromJsonString("2021-08-02T20:13:32.870023561Z")
    msg.finished.FromJsonString("2021-08-02T20:13:38.691891860Z")
    msg.details.transform.image = "pachyderm/opencv"
    msg.details.transform.cmd.extend(["python3", "/edges.py"])
    msg.details.input.pfs.MergeFrom(
        pps_pb2.PFSInput(
            name="images",
            repo="images",
            repo_type="user",
            branch="master",
            commit="fd9454d06d8e4fa38a75c8cd20b39538",
            glob="/*",
        )
    )
    msg.details.salt = "27bbe39ccae54cc2976e3f960a2e1f94"
    msg.details.datum_tries = 3

    printed = json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=2)

    assert json.loads(printed) == _seed()


def _assert_key_order(value: Any, message: descriptor.Descriptor, path: str) -> None:
    """The seed's keys appear in the order the fields are declared (pachctl prints that order)."""
    if message.full_name.startswith("google.protobuf."):
        return
    declared = [f.name for f in message.fields]
    keys = list(value)
    assert keys == sorted(keys, key=declared.index), f"{path}: {keys} vs declaration order {declared}"
    for key, child in value.items():
        field = message.fields_by_name[key]
        if isinstance(child, dict) and field.message_type is not None:
            _assert_key_order(child, field.message_type, f"{path}.{key}")


def test_declaration_order_matches_pachctl_key_order() -> None:
    _assert_key_order(_seed(), pps_pb2.JobInfo.DESCRIPTOR, "JobInfo")


@pytest.mark.parametrize(
    ("service", "methods"),
    [
        (pfs_pb2.DESCRIPTOR.services_by_name["API"], PFS_METHODS),
        (pps_pb2.DESCRIPTOR.services_by_name["API"], PPS_METHODS),
        (version_pb2.DESCRIPTOR.services_by_name["API"], VERSION_METHODS),
    ],
    ids=["pfs_v2", "pps_v2", "versionpb_v2"],
)
def test_every_wire_rpc_exists_with_its_streaming_shape(
    service: descriptor.ServiceDescriptor, methods: list[tuple[str, bool, bool]]
) -> None:
    for name, client_streaming, server_streaming in methods:
        method = service.methods_by_name.get(name)
        assert method is not None, f"{service.full_name}/{name} missing"
        shape = (method.client_streaming, method.server_streaming)
        assert shape == (client_streaming, server_streaming), name


def test_service_full_names_are_pachyderms() -> None:
    assert pfs_pb2.DESCRIPTOR.services_by_name["API"].full_name == "pfs_v2.API"
    assert pps_pb2.DESCRIPTOR.services_by_name["API"].full_name == "pps_v2.API"
    assert version_pb2.DESCRIPTOR.services_by_name["API"].full_name == "versionpb_v2.API"
    assert hasattr(pfs_pb2_grpc, "APIServicer")
    assert hasattr(pps_pb2_grpc, "APIStub")
    assert hasattr(version_pb2_grpc, "add_APIServicer_to_server")


def test_wait_job_is_server_streaming() -> None:
    method = pps_pb2.DESCRIPTOR.services_by_name["API"].methods_by_name["WaitJob"]
    assert method.input_type.full_name == "pps_v2.WaitJobRequest"
    assert method.output_type.full_name == "pps_v2.WaitJobResponse"
    assert method.server_streaming
    assert not method.client_streaming


@pytest.mark.parametrize(("message", "field", "number", "kind"), FIELD_FACTS)
def test_field_numbers_and_types(message: str, field: str, number: int, kind: str) -> None:
    found = _POOL.FindMessageTypeByName(message).fields_by_name.get(field)
    assert found is not None, f"{message}.{field} missing"
    assert found.number == number
    assert _describe(found) == kind


@pytest.mark.parametrize("message", sorted(EXTENDED))
def test_additions_are_numbered_from_1000(message: str) -> None:
    fields = _POOL.FindMessageTypeByName(message).fields
    added = {f.name for f in fields if f.number >= 1000}
    assert added == EXTENDED[message]


def test_enum_values() -> None:
    assert [(v.name, v.number) for v in pps_pb2.JobState.DESCRIPTOR.values] == [
        ("JOB_STATE_UNKNOWN", 0),
        ("JOB_CREATED", 1),
        ("JOB_STARTING", 2),
        ("JOB_RUNNING", 3),
        ("JOB_FAILURE", 4),
        ("JOB_SUCCESS", 5),
        ("JOB_KILLED", 6),
        ("JOB_EGRESSING", 7),
        ("JOB_FINISHING", 8),
        ("JOB_UNRUNNABLE", 9),
    ]
    assert [(v.name, v.number) for v in pps_pb2.DatumState.DESCRIPTOR.values] == [
        ("UNKNOWN", 0),
        ("FAILED", 1),
        ("SUCCESS", 2),
        ("SKIPPED", 3),
        ("STARTING", 4),
        ("RECOVERED", 5),
    ]
    assert [(v.name, v.number) for v in pfs_pb2.FileType.DESCRIPTOR.values] == [
        ("RESERVED", 0),
        ("FILE", 1),
        ("DIR", 2),
    ]


def test_generated_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
