"""The probe, run once per server process: can attempts get a private /pfs mount namespace?"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from tuskd.engine.sandbox_attempt import AttemptSpec, Isolation
from tuskd.engine.sandbox_helper import HelperError
from tuskd.engine.sandbox_layout import PFS_ROOT, _check_inputs

log = logging.getLogger(__name__)


# -- the probe ------------------------------------------------------------------------------------

_probe_lock = threading.Lock()
_probed: Isolation | None = None


def detect_isolation() -> Isolation:
    """Probe once (cached) whether attempts can get a private /pfs mount namespace."""
    global _probed
    with _probe_lock:
        if _probed is None:
            _probed = Isolation.NAMESPACE if _probe() else Isolation.FALLBACK
            if _probed is Isolation.FALLBACK:
                log.warning(
                    "no private mount namespace for user code: /pfs/... paths will not work, only "
                    "relative paths from the working directory and the environment variables do"
                )
            else:
                log.info("user code runs in private mount namespaces (namespace helpers)")
        return _probed


def _probe() -> bool:
    if not os.access("/bin/sh", os.X_OK):
        log.info("/bin/sh missing: no mount namespaces")
        return False
    if not _ensure_mountpoint():
        return False
    with tempfile.TemporaryDirectory(prefix="tusk-probe-") as tmp:
        base = Path(tmp)
        (base / "in").mkdir()
        (base / "in" / "probe").write_bytes(b"")
        check = "test -f /pfs/in/probe && ! (: > /pfs/in/w) 2>/dev/null && : > /pfs/out/ok"
        spec = AttemptSpec(
            cmd=["/bin/sh", "-c", check],
            inputs={"in": base / "in"},
            out_dir=base / "out",
            scratch_dir=base / "scratch",
            timeout=10,
        )
        from tuskd.engine.sandbox_runner import Sandbox  # here: sandbox_runner imports this module

        sandbox = Sandbox(isolation=Isolation.NAMESPACE)
        try:
            result = sandbox._run_helper(spec, threading.Event(), _check_inputs(spec.inputs))
        except (OSError, ValueError, HelperError) as exc:
            log.info("mount namespace probe failed: %s", exc)
            return False
        finally:
            sandbox.close()
        ok = result.exit_code == 0 and (base / "out" / "ok").exists() and not (base / "in" / "w").exists()
        if not ok:
            log.info(
                "mount namespace probe failed (%s): %s",
                result.describe(),
                result.log.decode(errors="replace").strip(),
            )
        return ok


def _ensure_mountpoint() -> bool:
    if os.path.isdir(PFS_ROOT):
        return True
    try:
        os.mkdir(PFS_ROOT, 0o755)
    except FileExistsError:
        return os.path.isdir(PFS_ROOT)
    except OSError as exc:
        log.info("cannot create the %s mount point: %s", PFS_ROOT, exc)
        return False
    return True
