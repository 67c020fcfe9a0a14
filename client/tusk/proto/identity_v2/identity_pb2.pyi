import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("email", "last_authenticated")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LAST_AUTHENTICATED_FIELD_NUMBER: _ClassVar[int]
    email: str
    last_authenticated: _timestamp_pb2.Timestamp
    def __init__(self, email: _Optional[str] = ..., last_authenticated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IdentityServerConfig(_message.Message):
    __slots__ = ("issuer", "id_token_expiry", "rotation_token_expiry")
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    ROTATION_TOKEN_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    issuer: str
    id_token_expiry: str
    rotation_token_expiry: str
    def __init__(self, issuer: _Optional[str] = ..., id_token_expiry: _Optional[str] = ..., rotation_token_expiry: _Optional[str] = ...) -> None: ...

class SetIdentityServerConfigRequest(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: IdentityServerConfig
    def __init__(self, config: _Optional[_Union[IdentityServerConfig, _Mapping]] = ...) -> None: ...

class SetIdentityServerConfigResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetIdentityServerConfigRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetIdentityServerConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: IdentityServerConfig
    def __init__(self, config: _Optional[_Union[IdentityServerConfig, _Mapping]] = ...) -> None: ...

class IdpConnector(_message.Message):
    __slots__ = ("id", "name", "type", "config_version", "json_config", "config")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    JSON_CONFIG_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    type: str
    config_version: int
    json_config: str
    config: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., config_version: _Optional[int] = ..., json_config: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CreateIdpConnectorRequest(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: IdpConnector
    def __init__(self, connector: _Optional[_Union[IdpConnector, _Mapping]] = ...) -> None: ...

class CreateIdpConnectorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateIdpConnectorRequest(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: IdpConnector
    def __init__(self, connector: _Optional[_Union[IdpConnector, _Mapping]] = ...) -> None: ...

class UpdateIdpConnectorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListIdpConnectorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListIdpConnectorsResponse(_message.Message):
    __slots__ = ("connectors",)
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    connectors: _containers.RepeatedCompositeFieldContainer[IdpConnector]
    def __init__(self, connectors: _Optional[_Iterable[_Union[IdpConnector, _Mapping]]] = ...) -> None: ...

class GetIdpConnectorRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetIdpConnectorResponse(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: IdpConnector
    def __init__(self, connector: _Optional[_Union[IdpConnector, _Mapping]] = ...) -> None: ...

class DeleteIdpConnectorRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteIdpConnectorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OidcClient(_message.Message):
    __slots__ = ("id", "redirect_uris", "trusted_peers", "name", "secret")
    ID_FIELD_NUMBER: _ClassVar[int]
    REDIRECT_URIS_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_PEERS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    id: str
    redirect_uris: _containers.RepeatedScalarFieldContainer[str]
    trusted_peers: _containers.RepeatedScalarFieldContainer[str]
    name: str
    secret: str
    def __init__(self, id: _Optional[str] = ..., redirect_uris: _Optional[_Iterable[str]] = ..., trusted_peers: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class CreateOidcClientRequest(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: OidcClient
    def __init__(self, client: _Optional[_Union[OidcClient, _Mapping]] = ...) -> None: ...

class CreateOidcClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: OidcClient
    def __init__(self, client: _Optional[_Union[OidcClient, _Mapping]] = ...) -> None: ...

class GetOidcClientRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetOidcClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: OidcClient
    def __init__(self, client: _Optional[_Union[OidcClient, _Mapping]] = ...) -> None: ...

class ListOidcClientsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListOidcClientsResponse(_message.Message):
    __slots__ = ("clients",)
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    clients: _containers.RepeatedCompositeFieldContainer[OidcClient]
    def __init__(self, clients: _Optional[_Iterable[_Union[OidcClient, _Mapping]]] = ...) -> None: ...

class UpdateOidcClientRequest(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: OidcClient
    def __init__(self, client: _Optional[_Union[OidcClient, _Mapping]] = ...) -> None: ...

class UpdateOidcClientResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteOidcClientRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteOidcClientResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteAllRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteAllResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
