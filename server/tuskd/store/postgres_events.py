"""Wake-ups across the servers of one PostgreSQL database: ``NOTIFY`` in the writing transaction,
a ``LISTEN`` thread in every server.

The events of a unit of work (store/outbox.py) are delivered in the process that wrote them.
Another server on the same database learns of the change through PostgreSQL:

* **send** (:func:`notify_topics`): a write transaction whose events name wait topics (an event
  with a ``topics`` attribute: ``TopicsChanged``, ``JobChanged``) runs ``pg_notify`` with them
  just before its ``COMMIT``. PostgreSQL delivers a notification only if, and when, its
  transaction commits, so a woken reader elsewhere always finds the change. A payload too long
  for ``NOTIFY`` (8000 bytes) is sent as "everything changed".
* **receive** (:class:`PgEventListener`): one connection per server ``LISTEN``s and hands each
  notification from another server to ``on_remote(topics)`` (the wiring publishes the topics on
  the hub and forgets the job changes it remembered, so waiters re-read from the store). Its own
  notifications are skipped (its waiters were woken in process).
* **loss**: when the listening connection breaks, notifications sent meanwhile are lost, so
  ``on_remote(None)`` wakes every waiter to re-read, and again once the listener is back.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

import psycopg

from .postgres_tx import PgTx

__all__ = ["CHANNEL", "PgEventListener", "RemoteHandler", "new_sender", "notify_topics"]

log = logging.getLogger(__name__)

CHANNEL: Final = "tusk_events"
_MAX_PAYLOAD: Final = 7900  # NOTIFY's limit is 8000 bytes
_RETRY_SECONDS: Final = 1.0

RemoteHandler = Callable[[Sequence[str] | None], None]
"""Told the topics another server changed; None: anything may have changed."""


def _payload(sender: str, topics: Sequence[str] | None) -> str:
    text = json.dumps({"from": sender, "topics": topics})
    if len(text.encode()) > _MAX_PAYLOAD:
        text = json.dumps({"from": sender, "topics": None})
    return text


def notify_topics(tx: PgTx, sender: str) -> None:
    """Inside a write, just before COMMIT: notify the other servers of the topics its events name."""
    topics: dict[str, None] = {}
    for _sink, event in tx._work.events:
        named = getattr(event, "topics", None)
        if isinstance(named, tuple | list):
            topics.update(dict.fromkeys(str(t) for t in named))
    if topics:
        tx._x("SELECT pg_notify(%s, %s)", (CHANNEL, _payload(sender, list(topics))))


class PgEventListener:
    """A thread holding a ``LISTEN`` connection; see the module docstring."""

    def __init__(self, conninfo: str, kwargs: dict[str, Any], sender: str, on_remote: RemoteHandler) -> None:
        self._conninfo = conninfo
        self._kwargs = kwargs
        self._sender = sender
        self._on_remote = on_remote
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="tusk-pg-listener", daemon=True)
        self.connected = threading.Event()  # set while listening (tests, diagnostics)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        lost = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, **self._kwargs) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    if lost:  # what was sent while nobody listened is gone: everyone re-reads
                        self._wake_all()
                    self._listen(conn)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("lost the database's change notifications (%s): waiters re-read; reconnecting", exc)
            self.connected.clear()
            if not self._stop.is_set():
                lost = True
                self._wake_all()
                self._stop.wait(_RETRY_SECONDS)

    def _listen(self, conn: psycopg.Connection) -> None:
        while not self._stop.is_set():
            for note in conn.notifies(timeout=0.5):
                self._received(note.payload)

    def _received(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message.get("from") == self._sender:
                return
            topics = message.get("topics")
            self._deliver(None if topics is None else [str(t) for t in topics])
        except (ValueError, AttributeError):
            log.warning("ignoring a malformed change notification: %.200s", payload)

    def _wake_all(self) -> None:
        self._deliver(None)

    def _deliver(self, topics: Sequence[str] | None) -> None:
        try:
            self._on_remote(topics)
        except Exception:
            log.exception("handling a change notification failed")


def new_sender() -> str:
    """A name for this server's notifications, unique per store opened."""
    return uuid.uuid4().hex
