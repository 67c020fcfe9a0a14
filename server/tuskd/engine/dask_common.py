"""What the Dask executor (engine/dask_executor.py) and ``tusk worker`` (engine/dask_worker.py)
agree on: the executor URL, the address rules, TLS from files and the version resource.

A tusk worker offers ``slots`` units of the resource :func:`version_resource` (named after its
tusk version) and every datum set asks for one unit, so the scheduler gives a set only to a
worker of the server's own version, and a worker runs at most ``slots`` sets at once. Plain
``tcp://`` is refused outside loopback unless asked for (``insecure``): Dask's protocol
unpickles what it receives, so anyone who can reach an unencrypted, unauthenticated scheduler or
worker can run code as it. This module imports nothing of Dask (it is imported to parse flags).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from tuskd.domain.errors import InvalidArgument
from tuskd.version import tusk_version

if TYPE_CHECKING:
    from distributed.security import Security

__all__ = ["DaskTarget", "TlsFiles", "check_address", "parse_executor_url", "version_resource"]

_USAGE = "expected dask://HOST:PORT or tls://HOST:PORT[?ca=FILE&cert=FILE&key=FILE] (docs/operations.md)"
_QUERY_KEYS = ("ca", "cert", "key", "slots", "wait", "insecure")


def version_resource(version: str | None = None) -> str:
    """The Dask resource a worker of ``version`` (default: this one) offers, one unit per slot."""
    return f"tusk-{version or tusk_version()}"


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for Dask's TLS: the CA that signs every party, and this party's own pair."""

    ca: Path
    cert: Path
    key: Path

    def security(self) -> Security:
        from distributed.security import Security  # Dask only where TLS is used

        return Security(
            tls_ca_file=str(self.ca),
            tls_client_cert=str(self.cert),
            tls_client_key=str(self.key),
            tls_worker_cert=str(self.cert),
            tls_worker_key=str(self.key),
            require_encryption=True,
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addrs) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addrs)


def check_address(address: str, *, insecure: bool, what: str) -> str:
    """``address`` as Dask spells it (``tcp://`` or ``tls://``); plain TCP to a host that is not
    loopback is refused unless ``insecure``."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    scheme = parts.scheme.lower()
    if scheme == "dask":
        scheme = "tcp"
    if scheme not in ("tcp", "tls") or not parts.hostname or parts.port is None:
        raise InvalidArgument(f"{what} {address!r}: {_USAGE}")
    host = parts.hostname
    if scheme == "tcp" and not insecure and not _is_loopback(host):
        raise InvalidArgument(
            f"{what} {address!r}: plain TCP to {host} would let anyone on the network run code on the "
            "scheduler and workers; use tls:// with certificates, or say --insecure (a trusted network)"
        )
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{parts.port}"


@dataclass(frozen=True)
class DaskTarget:
    """Where the server sends its datums (``--executor``)."""

    address: str
    """``tcp://host:port`` or ``tls://host:port``."""
    tls: TlsFiles | None = None
    slots: int | None = None
    """Datums at once over the cluster; None: the slots of the workers present at start-up."""
    wait: float = 30.0
    """Seconds the server waits at start-up for a worker of its own version."""

    def security(self) -> Security | None:
        return None if self.tls is None else self.tls.security()


def parse_executor_url(url: str) -> DaskTarget | None:
    """None for ``local`` (or empty); a :class:`DaskTarget` for ``dask://`` or ``tls://``."""
    if url in ("", "local"):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("dask", "tcp", "tls"):
        raise InvalidArgument(f"--executor {url!r}: {_USAGE}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_QUERY_KEYS))
    if unknown:
        raise InvalidArgument(f"--executor {url!r}: unknown option {unknown[0]!r} (known: {', '.join(_QUERY_KEYS)})")
    insecure = options.get("insecure", "").lower() in ("1", "true", "yes")
    address = check_address(f"{parts.scheme}://{parts.netloc}", insecure=insecure, what="--executor")
    tls = None
    if address.startswith("tls://"):
        missing = [k for k in ("ca", "cert", "key") if not options.get(k)]
        if missing:
            raise InvalidArgument(
                f"--executor {url!r}: tls:// needs ?ca=FILE&cert=FILE&key=FILE (missing {missing[0]})"
            )
        tls = TlsFiles(Path(options["ca"]), Path(options["cert"]), Path(options["key"]))
    try:
        slots = int(options["slots"]) if "slots" in options else None
        wait = float(options.get("wait", 30.0))
    except ValueError:
        raise InvalidArgument(
            f"--executor {url!r}: slots must be a whole number and wait a number of seconds"
        ) from None
    if (slots is not None and slots < 1) or wait < 0:
        raise InvalidArgument(f"--executor {url!r}: slots must be at least 1 and wait not negative")
    return DaskTarget(address=address, tls=tls, slots=slots, wait=wait)
