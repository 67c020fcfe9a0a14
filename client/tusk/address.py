"""Resolves where the tusk server is: argument, TUSK_ADDRESS, PACHD_ADDRESS, or the default."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_ADDRESS = "localhost:30650"


@dataclass(frozen=True)
class Address:
    target: str  # host:port as grpc wants it
    tls: bool

    def __str__(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://{self.target}"


def parse_address(value: str) -> Address:
    """Accept ``host:port``, ``grpc://host:port`` and ``grpcs://host:port`` (TLS).

    A bare host gets Pachyderm's port 30650.
    """
    text = value.strip()
    tls = False
    for scheme, is_tls in (("grpcs://", True), ("https://", True), ("grpc://", False), ("http://", False)):
        if text.startswith(scheme):
            text, tls = text[len(scheme) :], is_tls
            break
    text = text.rstrip("/")
    if not text:
        raise ValueError(f"empty server address {value!r}")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or (host.startswith("[") is False and ":" in host):
        text = f"{text}:30650"
    return Address(target=text, tls=tls)


def resolve_address(explicit: str | None = None) -> Address:
    for candidate in (explicit, os.environ.get("TUSK_ADDRESS"), os.environ.get("PACHD_ADDRESS")):
        if candidate:
            return parse_address(candidate)
    return parse_address(DEFAULT_ADDRESS)
