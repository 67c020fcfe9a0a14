"""The unit of work's outbox: events a write collects, published after COMMIT in commit order.

A write transaction is a unit of work. While it runs, the code that writes adds typed events to
it (``tx.emit(sink, event)``: "job J changed to seq 7", "these wait topics changed") and, for
work that must follow the commit but is no event (stopping processes a change killed), after-
commit actions (``tx.after_commit(fn)``). Nothing is published before COMMIT; on rollback (of
the transaction, or of a nested savepoint) what was collected since is dropped.

Ordering: the store takes a *commit ticket* while it still holds the write lock, right after
COMMIT, so tickets number the commits that carry events in the order they committed. The
:class:`CommitSequencer` hands each ticket's events to their sinks only after every earlier
ticket's events were handed over: a subscriber sees changes in the order they were committed,
whichever writer thread happens to run first after releasing the lock. The after-commit actions
run after the writer's own events are delivered, on the writer's thread, in no global order
(they may write again, which takes a new ticket).

Sinks run inside the sequence, so they must be quick and in-memory (remember a change, wake
waiters) and must never write to the store: a write there would wait for its own ticket.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CommitSequencer", "EventSink", "ImplicitJoin", "UnitOfWork", "check_join"]

log = logging.getLogger(__name__)


class ImplicitJoin(RuntimeError):
    """A programming error: a transaction was opened on a thread already inside a write, or
    ``write(join=tx)`` named a transaction that is not that thread's open write. The unit of
    work is passed explicitly (``tx=tx``); a nested atomic step is ``store.write(join=tx)``."""


def check_join(current: Any, join: Any, kind: str) -> None:
    """Refuse an implicit join of ``current`` (the thread's open write, or None) and a ``join``
    that is not it."""
    if join is None:
        if current is not None:
            raise ImplicitJoin(
                f"store.{kind}() opened on a thread already inside a write transaction: pass that unit of work"
                " down instead (tx=tx), or write(join=tx) for a nested step that rolls back on its own"
            )
    elif join is not current:
        raise ImplicitJoin("store.write(join=tx): tx is not the open write transaction of this thread")


EventSink = Callable[[Sequence[Any]], None]
"""Receives, after COMMIT and in commit order, the events one unit of work emitted to it."""


class UnitOfWork:
    """What one write transaction collected: events per sink and after-commit actions."""

    __slots__ = ("actions", "events")

    def __init__(self) -> None:
        self.events: list[tuple[EventSink, Any]] = []
        self.actions: list[Callable[[], None]] = []

    def mark(self) -> tuple[int, int]:
        """A position to roll back to (a savepoint)."""
        return len(self.events), len(self.actions)

    def rollback_to(self, mark: tuple[int, int]) -> None:
        del self.events[mark[0] :]
        del self.actions[mark[1] :]

    def deliver(self) -> None:
        """Hand the events to their sinks: one call per sink, in the order of each sink's first
        event, each with that sink's events in emission order."""
        batches: dict[EventSink, list[Any]] = {}
        for sink, event in self.events:
            batches.setdefault(sink, []).append(event)
        for sink, events in batches.items():
            try:
                sink(events)
            except Exception:
                log.exception("an event sink failed; its waiters see the change at their next read")

    def run_actions(self) -> None:
        for action in self.actions:
            try:
                action()
            except Exception:
                log.exception("after-commit action failed")


class CommitSequencer:
    """Delivers commit tickets' events strictly in ticket order.

    ``ticket()`` is called under the store's write lock right after COMMIT; ``deliver(ticket,
    fn)`` runs ``fn`` once every earlier ticket has been delivered, blocking the caller until
    then (normally for microseconds: earlier deliveries are in-memory).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._issued = 0
        self._delivered = 0
        self._waiting = 0

    def ticket(self) -> int:
        with self._cond:
            self._issued += 1
            return self._issued

    def deliver(self, ticket: int, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._delivered != ticket - 1:
                self._waiting += 1
                try:
                    while self._delivered != ticket - 1:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
        try:
            fn()
        finally:
            with self._cond:
                self._delivered = ticket
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Committed units of work waiting for an earlier one's delivery (diagnostics, tests)."""
        with self._cond:
            return self._waiting
