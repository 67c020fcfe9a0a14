"""RenderTemplate: a jsonnet pipeline template rendered into pipeline specs, out of the server.

jsonnet can loop or allocate without bound, so each render runs in a process of its own
(tuskd.services.template_worker) with an address-space limit, a CPU limit and a wall-clock
timeout; past any of them the caller gets RESOURCE_EXHAUSTED and the server is untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from tuskd.domain.errors import InvalidArgument, ResourceExhausted

__all__ = ["TemplateLimits", "render_template"]


@dataclass(frozen=True)
class TemplateLimits:
    memory_bytes: int = 512 * 1024 * 1024
    seconds: float = 10.0


def render_template(template: str, args: dict[str, str], limits: TemplateLimits = TemplateLimits()) -> str:
    """The JSON text the template renders to (INVALID_ARGUMENT with jsonnet's message on error)."""
    request = json.dumps({"template": template, "args": args})
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tuskd.services.template_worker",
                str(limits.memory_bytes),
                str(int(limits.seconds) + 1),
            ],
            input=request,
            capture_output=True,
            text=True,
            timeout=limits.seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResourceExhausted(
            f"the template did not render within {limits.seconds:g}s", reason="TEMPLATE_TIME_LIMIT"
        ) from None
    if done.returncode != 0 or not done.stdout:
        raise ResourceExhausted(
            "rendering the template ran out of memory or CPU time "
            f"(limit {limits.memory_bytes // (1024 * 1024)} MiB, {limits.seconds:g}s)",
            reason="TEMPLATE_LIMIT",
        )
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise InvalidArgument(f"template err: {answer['error']}", reason="INVALID_TEMPLATE", field="template")
    return str(answer["json"])
