"""Property-based abuse of every RPC: arbitrary and malformed requests never crash the server,
never get INTERNAL or UNKNOWN, and the server stays healthy.

Requests are built from the message descriptors (nested messages, nasty strings, huge and
negative numbers, unknown enum values), plus raw bytes that are not valid messages at all
(e.g. invalid UTF-8 in a string field). Blocking RPCs get a short deadline; a deadline that
the client set is not a server failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import message as pb_message
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tusk
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tusk.proto.versionpb_v2 import version_pb2

BAD_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}

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
]

SERVICES = [
    pfs_pb2.DESCRIPTOR.services_by_name["API"],
    pps_pb2.DESCRIPTOR.services_by_name["API"],
    version_pb2.DESCRIPTOR.services_by_name["API"],
]
METHODS = [m for s in SERVICES for m in s.methods]


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=40))
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
        return st.integers(0, 2**32 - 1)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return st.integers(-(2**31), 2**31 - 1)
    return st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([-1, 0, 1, 2**62]))


def _message(desc: Descriptor, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                value: st.SearchStrategy[Any] = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2)
            elif depth >= 3 or field.message_type.full_name.startswith("google.protobuf."):
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
            for _ in zip(range(50), result, strict=False):
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
    yield running
    stop_server(running)


@pytest.mark.slow
@pytest.mark.timeout(600)
# Inputs include 10,000-character names on purpose; Hypothesis warns when it prints them.
@pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.full_name}.{m.name}")
def test_arbitrary_requests_never_break_the_server(fuzz_server: Any, method: MethodDescriptor) -> None:
    request_strategy = _message(method.input_type, 0)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.lists(request_strategy, min_size=1, max_size=3), garbage=st.binary(max_size=32))
    def check(data: list[dict[str, Any]], garbage: bytes) -> None:
        with grpc.insecure_channel(fuzz_server.address) as channel:
            payloads = [_build(method.input_type, d).SerializeToString() for d in data]
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
