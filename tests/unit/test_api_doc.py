"""docs/api.md's table of every method says what the server's registry serves, and every method
of Pachyderm 2.12's API (as pachyderm-sdk 2.12.2 calls it) is in the contract."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool

from tuskd.transport.registry import api_status

REPO = Path(__file__).resolve().parents[2]


def test_the_table_in_docs_api_md_is_made_from_the_registry() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "api_doc.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_every_listed_method_is_registered_once() -> None:
    names = [s.method for s in api_status()]
    assert len(names) == len(set(names))
    assert "pps_v2.API/WaitJob" in names and "auth_v2.API/WhoAmI" in names


SDK_MODULES = ["pfs", "pps", "admin", "auth", "version", "transaction", "metadata", "identity", "license",
               "enterprise", "debug", "logs", "storage", "pjs", "snapshot"]


@pytest.mark.parametrize("module", SDK_MODULES)
def test_every_method_the_sdk_calls_is_in_our_contract_with_the_same_types(module: str) -> None:
    sdk = importlib.import_module(f"pachyderm_sdk.api.{module}")
    source = inspect.getsource(sdk)
    calls = re.findall(r'"/([\w.]+)/(\w+)",\s*request_serializer=([\w.]+)\.SerializeToString', source)
    assert calls, module
    listed = {s.method for s in api_status()}
    pool = descriptor_pool.Default()
    for service, method, request in calls:
        assert f"{service}/{method}" in listed
        ours = pool.FindServiceByName(service).FindMethodByName(method)
        sdk_request = getattr(sdk, request.split(".")[-1]) if "." not in request else None
        if sdk_request is not None:  # same-package request: compare field numbers and names
            # betterproto spells names in snake case (paginationMarker -> pagination_marker, from -> from_)
            fields = {f.number: f.name.replace("_", "").lower() for f in ours.input_type.fields}
            for name, meta in sdk_request()._betterproto.meta_by_field_name.items():
                assert fields.get(meta.number) == name.replace("_", "").lower(), (method, name)
