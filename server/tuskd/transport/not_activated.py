"""auth_v2, identity_v2, license_v2 and enterprise_v2: served as pachd without enterprise answers.

Pachyderm's enterprise services are not part of tusk (its own token auth is described in
docs/operations.md). Every auth and identity method answers UNIMPLEMENTED with pachd's text
"the auth service is not activated", which both Pachyderm SDKs turn into AuthServiceNotActivated
(python_pachyderm's delete_all relies on it). The license and enterprise services answer as pachd
2.11 did without a license: state NONE, DeleteAll and Deactivate succeed, the rest are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from tusk.proto.auth_v2 import auth_pb2, auth_pb2_grpc
from tusk.proto.enterprise_v2 import enterprise_pb2, enterprise_pb2_grpc
from tusk.proto.identity_v2 import identity_pb2, identity_pb2_grpc
from tusk.proto.license_v2 import license_pb2, license_pb2_grpc
from tuskd.domain.errors import Unimplemented

__all__ = ["AUTH_NOT_ACTIVATED", "not_activated_servicers"]

AUTH_NOT_ACTIVATED = "the auth service is not activated"
_ENTERPRISE_OFF = "cluster does not have enterprise features enabled"
_WHY = "tusk has no Pachyderm enterprise features; see docs/operations.md for its token auth"


def _refuse(text: str) -> Callable[..., Any]:
    def handler(self: object, request: object, context: grpc.ServicerContext) -> Any:
        raise Unimplemented(f"{text} ({_WHY})")

    return handler


def _answer(make: Callable[[], Any]) -> Callable[..., Any]:
    def handler(self: object, request: object, context: grpc.ServicerContext) -> Any:
        return make()

    return handler


def _servicer(base: type, service: ServiceDescriptor, text: str, answers: dict[str, Callable[[], Any]]) -> Any:
    methods: dict[str, Any] = {
        m.name: (_answer(answers[m.name]) if m.name in answers else _refuse(text)) for m in service.methods
    }
    methods["SERVICE"] = service

    def answer_of(self: object, method: str) -> str:
        """What ``method`` answers, for docs/api.md."""
        if method in answers:
            return f"OK: {_describe(answers[method]())}"
        return f"UNIMPLEMENTED `{text}`"

    methods["answer_of"] = answer_of
    return type(f"NotActivated{service.full_name.replace('.', '')}", (base,), methods)()


def _describe(message: Any) -> str:
    state = getattr(message, "state", None)
    if state is not None:
        return f"state {enterprise_pb2.State.Name(state)}"
    return "empty answer"


def not_activated_servicers() -> list[tuple[Callable[[Any, grpc.Server], None], Any, str]]:
    """(add-to-server function, servicer, service full name) for each of the four services."""
    auth = auth_pb2.DESCRIPTOR.services_by_name["API"]
    identity = identity_pb2.DESCRIPTOR.services_by_name["API"]
    license_ = license_pb2.DESCRIPTOR.services_by_name["API"]
    enterprise = enterprise_pb2.DESCRIPTOR.services_by_name["API"]
    none = enterprise_pb2.State.NONE
    return [
        (
            auth_pb2_grpc.add_APIServicer_to_server,
            _servicer(auth_pb2_grpc.APIServicer, auth, AUTH_NOT_ACTIVATED, {}),
            auth.full_name,
        ),
        (
            identity_pb2_grpc.add_APIServicer_to_server,
            _servicer(identity_pb2_grpc.APIServicer, identity, AUTH_NOT_ACTIVATED, {}),
            identity.full_name,
        ),
        (
            license_pb2_grpc.add_APIServicer_to_server,
            _servicer(
                license_pb2_grpc.APIServicer,
                license_,
                _ENTERPRISE_OFF,
                {
                    "GetActivationCode": lambda: license_pb2.GetActivationCodeResponse(state=none),
                    "DeleteAll": license_pb2.DeleteAllResponse,
                    "ListUserClusters": license_pb2.ListUserClustersResponse,
                },
            ),
            license_.full_name,
        ),
        (
            enterprise_pb2_grpc.add_APIServicer_to_server,
            _servicer(
                enterprise_pb2_grpc.APIServicer,
                enterprise,
                _ENTERPRISE_OFF,
                {
                    "GetState": lambda: enterprise_pb2.GetStateResponse(state=none),
                    "GetActivationCode": lambda: enterprise_pb2.GetActivationCodeResponse(state=none),
                    "Deactivate": enterprise_pb2.DeactivateResponse,
                },
            ),
            enterprise.full_name,
        ),
    ]
