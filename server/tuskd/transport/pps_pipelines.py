"""pps_v2.API pipeline RPCs: Create/Inspect/List/Delete/Start/Stop/RerunPipeline."""

from __future__ import annotations

from tuskd.transport.base import ServicerBase


class PipelineRpcs(ServicerBase):
    pass
