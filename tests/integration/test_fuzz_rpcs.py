"""Property-based abuse of every RPC served (pfs, pps, version, health, reflection): arbitrary
and malformed requests never crash the server, never get INTERNAL or UNKNOWN, and the server
stays healthy.

Requests are built from the message descriptors (nested messages, nasty strings, integers at
and past every boundary, unknown enum values, Timestamps and Durations out of protobuf's range
or with mixed signs), with a lone UTF-16 surrogate spliced into string fields on the wire
(``_SURROGATE_MARK``), plus raw bytes that are not valid messages at all. Strings also include
forged page tokens (base64 of JSON with deep nesting, huge numbers, escaped surrogates). A
second property forges the fields of real page tokens, so values get past the filter check.
Blocking RPCs get a short deadline; a deadline that the client set is not a server failure.
To hunt harder, set ``TUSK_FUZZ_EXAMPLES`` (examples per RPC, default 25).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf import message as pb_message
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tusk
from tusk.proto.pps_v2 import pps_pb2
from tuskd.transport.not_activated import not_activated_servicers
from tuskd.transport.registry import SERVICE_NAMES

BAD_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
# Streams that stay open after their first answer whatever the request (see _invoke).
ENDLESS_STREAMS = {"/grpc.health.v1.Health/Watch"}

# A 3-byte UTF-8 character (private use) that the payload carries in place of a lone surrogate:
# protobuf will not encode U+D800, so each occurrence is swapped for its 3 bytes after
# serialisation (same length, so every length prefix stays right).
_SURROGATE_MARK = "\ue000"
_MARK_BYTES, _SURROGATE_BYTES = _SURROGATE_MARK.encode(), b"\xed\xa0\x80"

EXTREME_INTS = [0, 1, -1, 2**31 - 1, -(2**31), 2**32, 2**53 + 1, 2**62, 2**63 - 1, -(2**63), 10**30]


def _json_values(depth: int = 0) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.sampled_from([None, True, False, "", "\ud800", "\udfff", "x" * 5000, 1e308, -0.0]),
        st.sampled_from(EXTREME_INTS),
        st.text(max_size=8),
    )
    if depth >= 2:
        return leaves
    inner = _json_values(depth + 1)
    return st.one_of(leaves, st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["v", "r", "d", "f"]), inner))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _forged_token() -> st.SearchStrategy[str]:
    nested = st.integers(1, 200_000).map(lambda n: _b64(b"[" * n))
    huge_int = st.integers(4000, 20_000).map(lambda n: _b64(b'{"v":1,"r":' + b"9" * n + b',"f":""}'))
    structured = _json_values().map(lambda v: _b64(json.dumps(v).encode()))
    return st.one_of(nested, huge_int, structured)

NASTY_STRINGS = [
    "",
    "/",
    "..",
    "../../etc/passwd",
    "/../../etc/passwd",
    "a/../../b",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "master^",
    "master~3",
    "images@master",
    "edges@" + "0" * 32,
    "0" * 32,
    "ZZ" * 16,
    "**/***/[[[",
    "*a*a*a*a*a*a*a*a*a*a*a*a*b",
    "{a,{b,{c,{d,{e}}}}}",
    "[!",
    "(((((",
    "\u202e\u0301",
    "default",
    "user",
    "file:///etc/passwd",
    "http://127.0.0.1:1/x",
    "job stopped",
    "$1$2$99",
    "images",
    "edges",
    "master",
    "/a",
    "/*",
    _SURROGATE_MARK,
    "a" + _SURROGATE_MARK + "b",
    '{"a":' * 2000,
    "[" * 100_000,
]

# Every service the server registers (Pachyderm 2.12's whole API: pfs, pps, version, admin,
# transaction, metadata, the enterprise services, debug, logs, pjs, snapshot, storage), plus
# health and reflection.
SERVICES = [
    *(descriptor_pool.Default().FindServiceByName(name) for name in SERVICE_NAMES),
    *(servicer.SERVICE for _, servicer, _ in not_activated_servicers()),
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
]
METHODS = [m for s in SERVICES for m in s.methods]


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=40), _forged_token())
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_ENUM:
        # proto3 enums are open: unknown numbers travel on the wire.
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-5, 1000))
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return _ints(0, 2**32 - 1)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return _ints(0, 2**64 - 1)
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return _ints(-(2**31), 2**31 - 1)
    return _ints(-(2**63), 2**63 - 1)


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    """Any integer of the type, with its boundaries and the classic trouble-makers often."""
    special = [v for v in [*EXTREME_INTS, low, high, 2**64 - 1, 315_576_000_000, 253_402_300_800] if low <= v <= high]
    return st.one_of(st.sampled_from(special), st.integers(low, high))


# Well-known types left out: their contents are free-form and never interpreted by tusk.
_OPAQUE = {"google.protobuf.Any", "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}


def _message(desc: Descriptor, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                value: st.SearchStrategy[Any] = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2)
            elif depth >= 3 or field.message_type.full_name in _OPAQUE:
                continue
            else:
                value = _message(field.message_type, depth + 1)
        else:
            value = _scalar(field)
        if field.is_repeated and not (field.message_type and field.message_type.GetOptions().map_entry):
            value = st.lists(value, max_size=2)
        fields[field.name] = value
    return st.fixed_dictionaries({}, optional=fields)


def _build(desc: Descriptor, data: dict[str, Any]) -> pb_message.Message:
    msg = message_factory.GetMessageClass(desc)()
    for name, value in data.items():
        field = desc.fields_by_name[name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(msg, name).update(value)
        elif field.message_type is not None:
            if field.is_repeated:
                for item in value:
                    getattr(msg, name).append(_build(field.message_type, item))
            else:
                getattr(msg, name).CopyFrom(_build(field.message_type, value))
        elif field.is_repeated:
            getattr(msg, name).extend(value)
        else:
            setattr(msg, name, value)
    return msg


def _wire(msg: pb_message.Message) -> bytes:
    """The message's bytes with every surrogate mark turned into a lone surrogate (invalid UTF-8)."""
    return msg.SerializeToString().replace(_MARK_BYTES, _SURROGATE_BYTES)


def _invoke(channel: grpc.Channel, method: MethodDescriptor, payloads: list[bytes]) -> None:
    path = f"/{method.containing_service.full_name}/{method.name}"
    ident = lambda b: b  # noqa: E731 - raw bytes both ways
    timeout = 1.0
    try:
        if method.client_streaming:
            fn = (
                channel.stream_stream(path, request_serializer=ident, response_deserializer=ident)
                if method.server_streaming
                else channel.stream_unary(path, request_serializer=ident, response_deserializer=ident)
            )
            result = fn(iter(payloads), timeout=timeout)
        elif method.server_streaming:
            result = channel.unary_stream(path, request_serializer=ident, response_deserializer=ident)(
                payloads[0], timeout=timeout
            )
        else:
            result = channel.unary_unary(path, request_serializer=ident, response_deserializer=ident)(
                payloads[0], timeout=timeout
            )
        if isinstance(result, Iterator):
            # An endless stream (Health.Watch) sends its one answer and then nothing until the
            # status changes: reading past that answer would only wait out the deadline.
            limit = 1 if path in ENDLESS_STREAMS else 50
            for _ in zip(range(limit), result, strict=False):
                pass
            result.cancel()  # type: ignore[attr-defined]
    except grpc.RpcError as err:
        code = err.code()  # type: ignore[attr-defined]
        assert code not in BAD_CODES, f"{path} answered {code.name}: {err.details()}"  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.conftest import start_server, stop_server
    from tuskd.config import ServerConfig

    config = ServerConfig(
        address="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("fuzz") / "data", rpc_workers=64, datum_workers=2
    )
    running = start_server(config)
    _seed(running)
    yield running
    stop_server(running)


def _seed(server: Any) -> None:
    """A repo with a file, a pipeline and its finished job, so that requests naming them get past
    NOT_FOUND; their names and IDs join NASTY_STRINGS. Recreated when a fuzzed call deleted them."""
    from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in, put, wait_job
    from tuskd.domain.errors import TuskError

    if any(r.repo.name == "edges" for r in server.deps.pfs.list_repos()):
        return
    if not any(r.repo.name == "images" for r in server.deps.pfs.list_repos()):
        create_repo(server, "images")
    try:
        create_pipeline(server, make_spec("edges", "cp -r /pfs/images/* /pfs/out/", pfs_in("images")))
    except TuskError:  # a pipeline half-deleted by a fuzzed call: fuzz without it
        return
    job_id = put(server, "images", {"/a": b"1", "/b": b"2"})
    wait_job(server, "edges", job_id)
    NASTY_STRINGS.extend(v for v in (job_id, f"edges@{job_id}", f"images@{job_id}") if v not in NASTY_STRINGS)


@pytest.mark.slow
@pytest.mark.timeout(600)
# Inputs include 10,000-character names on purpose; Hypothesis warns when it prints them.
@pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.full_name}.{m.name}")
def test_arbitrary_requests_never_break_the_server(fuzz_server: Any, method: MethodDescriptor) -> None:
    _seed(fuzz_server)
    request_strategy = _message(method.input_type, 0)
    examples = int(os.environ.get("TUSK_FUZZ_EXAMPLES", "25"))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.lists(request_strategy, min_size=1, max_size=3), garbage=st.binary(max_size=32))
    def check(data: list[dict[str, Any]], garbage: bytes) -> None:
        with grpc.insecure_channel(fuzz_server.address) as channel:
            payloads = [_wire(_build(method.input_type, d)) for d in data]
            _invoke(channel, method, payloads)
            # Field 1 (or 2) as a length-delimited string holding invalid UTF-8, then random bytes.
            _invoke(channel, method, [b"\x0a\x02\xff\xfe", b"\x12\x03\xc3\x28\xa0"][: len(payloads)] or [b""])
            _invoke(channel, method, [garbage])

    check()
    with tusk.Client(fuzz_server.address) as client:
        assert client.health() == "SERVING"


def test_oversized_message_is_resource_exhausted(client: tusk.Client) -> None:
    call = client.channel.unary_unary(
        "/pps_v2.API/InspectJob", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    huge = b"\x0a" + b"\x80\x80\x80\x28" + b"x" * (80 * 1024 * 1024)  # 80 MiB field, limit is 64 MiB
    with pytest.raises(grpc.RpcError) as info:
        call(huge, timeout=60)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert client.health() == "SERVING"


def _call_ok(call: Any) -> None:
    """Run a call (draining a stream); any status but INTERNAL/UNKNOWN is fine."""
    try:
        result = call()
        if isinstance(result, Iterator):
            list(result)
    except grpc.RpcError as err:
        assert err.code() not in BAD_CODES, err.details()  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_forged_page_tokens_never_break_the_server(server: Any, client: tusk.Client) -> None:
    """Real tokens (so the filter fingerprint matches) with one field replaced or dropped."""
    from tests.integration.test_engine import create_pipeline, create_repo, make_spec, pfs_in, put, wait_job

    create_repo(server, "images")
    create_pipeline(server, make_spec("p", "true", pfs_in("images")))
    for files in ({"/a": b"1", "/b": b"2"}, {"/c": b"3"}):
        job_id = put(server, "images", files)
        wait_job(server, "p", job_id)
    stub = client.pps.stub
    job = pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="p"), id=job_id)
    listings = [
        lambda token: stub.ListJob(pps_pb2.ListJobRequest(page_size=1, page_token=token), timeout=10),
        lambda token: stub.ListDatum(pps_pb2.ListDatumRequest(job=job, page_size=1, page_token=token), timeout=10),
    ]
    real = [list(listing(""))[-1].page_token for listing in listings]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(key=st.sampled_from(["v", "r", "d", "f"]), value=_json_values(), drop=st.booleans())
    def check(key: str, value: Any, drop: bool) -> None:
        for token, listing in zip(real, listings, strict=True):
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if drop:
                data.pop(key, None)
            else:
                data[key] = value
            forged = _b64(json.dumps(data).encode())
            _call_ok(lambda: listing(forged))  # noqa: B023 - called at once

    check()
    assert client.health() == "SERVING"
