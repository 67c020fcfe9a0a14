"""pps_v2.API datum and log RPCs: ListDatum, InspectDatum, RestartDatum, GetLogs."""

from __future__ import annotations

from tuskd.transport.base import ServicerBase


class DatumRpcs(ServicerBase):
    pass
