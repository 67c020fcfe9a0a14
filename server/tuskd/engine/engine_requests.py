"""StopJob and RestartDatum on a server that does not run the engine: handed to the leader
through the database (store/postgres_requests.py).

* :func:`forward` (any server): records the request and reads it back every 0.1 s until the
  leader has written its outcome, then returns the result or raises the leader's error (the
  same error class). No outcome within the deadline: UNAVAILABLE naming the leader.
* :class:`RequestRunner` (the leader, while it leads): every half second claims the requests
  not yet claimed by its epoch (those of a leader that died are claimed again; stopping a job
  twice or restarting datums twice is harmless) and runs each on a thread of its own (a StopJob
  with a grace period may take that long).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

from tuskd.domain import errors
from tuskd.domain.errors import TuskError, Unavailable

__all__ = ["RequestPort", "RequestRunner", "forward"]

log = logging.getLogger(__name__)

_POLL_SECONDS: Final = 0.1
_CLAIM_SECONDS: Final = 0.5


class RequestPort(Protocol):
    def submit(self, kind: str, args: dict[str, Any]) -> int: ...

    def outcome(self, request_id: int) -> tuple[bool, Any, str | None, str | None]: ...

    def claim(self, epoch: int) -> list[tuple[int, str, dict[str, Any]]]: ...

    def finish(self, request_id: int, result: Any, error: BaseException | None) -> None: ...


def _raise(error_class: str | None, message: str | None) -> None:
    cls = getattr(errors, error_class or "", None)
    if isinstance(cls, type) and issubclass(cls, TuskError):
        raise cls(message or "")
    raise Unavailable(f"the engine leader failed the request: {message}")


def forward(port: RequestPort, kind: str, args: dict[str, Any], timeout: float, leader: Callable[[], str]) -> Any:
    """Hand a request to the engine leader and wait for its outcome."""
    request_id = port.submit(kind, args)
    deadline = time.monotonic() + timeout
    while True:
        done, result, error_class, message = port.outcome(request_id)
        if done:
            if error_class is not None:
                _raise(error_class, message)
            return result
        if time.monotonic() > deadline:
            raise Unavailable(
                f"the engine leader did not answer within {timeout:g} s (leader: {leader()}); the request stays"
                " queued and runs when a leader takes it",
                reason="NOT_ENGINE_LEADER",
            )
        time.sleep(_POLL_SECONDS)


class RequestRunner:
    """The leader's side: claims and runs requests with ``handlers[kind](args)``."""

    def __init__(self, port: RequestPort, epoch: int, handlers: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
        self._port = port
        self._epoch = epoch
        self._handlers = handlers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tusk-engine-requests", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(_CLAIM_SECONDS):
            try:
                claimed = self._port.claim(self._epoch)
            except Unavailable as exc:
                log.warning("could not read engine requests: %s", exc)
                continue
            for request_id, kind, args in claimed:
                threading.Thread(
                    target=self._run, args=(request_id, kind, args), name=f"engine-request-{request_id}", daemon=True
                ).start()

    def _run(self, request_id: int, kind: str, args: dict[str, Any]) -> None:
        handler = self._handlers.get(kind)
        result: Any = None
        error: BaseException | None = None
        try:
            if handler is None:
                raise Unavailable(f"unknown engine request {kind!r}")
            result = handler(args)
        except TuskError as exc:
            error = exc
        except Exception as exc:
            log.exception("engine request %d (%s) failed", request_id, kind)
            error = Unavailable(f"{kind} failed on the engine leader: {exc}")
        try:
            self._port.finish(request_id, result, error)
        except Unavailable as exc:
            log.warning("could not record the outcome of engine request %d: %s", request_id, exc)
