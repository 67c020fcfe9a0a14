"""pps_v2.API job RPCs: InspectJob, ListJob, WaitJob, StopJob, job sets, SubscribeJob, DeleteJob."""

from __future__ import annotations

from tuskd.transport.base import ServicerBase


class JobRpcs(ServicerBase):
    pass
