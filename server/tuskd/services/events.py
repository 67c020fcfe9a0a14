"""In-process change notification for blocking waits (InspectCommit wait, SubscribeCommit, WaitJob).

The hub carries no data, only "something under this topic changed": a waiter re-reads the state
from the store after every wake-up. The pattern that never misses an update:

    with hub.subscribe(topic, cancel=token) as sub:   # 1. register first
        while True:
            state = read()                             # 2. then read
            if done(state):
                return state
            sub.wait(timeout)                          # 3. sleep until a publish (or cancel)

A publish that lands between (1) and (3) leaves the subscription flagged, so (3) returns at
once. Writers do not publish themselves: they emit a :class:`TopicsChanged` (or a richer event
whose sink ends in :meth:`EventHub.deliver`) on their unit of work, which the store delivers
after COMMIT in commit order (store/outbox.py), so a woken reader always sees the change and
wake-ups follow the order of the commits. Waiting blocks on a per-subscription condition: no polling, and a
publish only touches the subscriptions of its topics, so hundreds of idle waiters cost nothing.

Cancellation: a :class:`CancelToken` (set from gRPC's ``context.add_callback``, or by server
shutdown through :meth:`EventHub.shutdown`) wakes its subscriptions for good; waiters then raise
:class:`WaitCancelled` instead of holding a thread for a client that has gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

from tuskd.cancel import CancelToken, ServerShuttingDown, WaitCancelled  # re-exported: they moved to tuskd.cancel

__all__ = [
    "ActiveCount",
    "CancelToken",
    "EventHub",
    "ServerShuttingDown",
    "Subscription",
    "TopicsChanged",
    "WaitCancelled",
]


@dataclass(frozen=True, slots=True)
class TopicsChanged:
    """An outbox event: something under these wait topics changed (waiters re-read)."""

    topics: tuple[str, ...]


class Subscription:
    """Registration for wake-ups on some topics. Use as a context manager (or call ``close``)."""

    def __init__(self, hub: EventHub, topics: tuple[str, ...]) -> None:
        self._hub = hub
        self.topics = topics
        self._cond = threading.Condition(threading.Lock())
        self._pending = False
        self._cancelled = False
        self._shutdown = False
        self._removers: list[Callable[[], None]] = []

    # -- waking -----------------------------------------------------------------------------

    def notify(self) -> None:
        with self._cond:
            self._pending = True
            self._cond.notify_all()

    def cancel(self) -> None:
        """Wake the waiter for good; ``cancelled`` turns true (usable as a gRPC callback)."""
        with self._cond:
            self._cancelled = True
            self._pending = True
            self._cond.notify_all()

    def _shut(self) -> None:
        with self._cond:
            self._shutdown = True
        self.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise if the subscription was cancelled (WaitCancelled) or the hub shut down."""
        if self._shutdown:
            raise ServerShuttingDown("the server is shutting down")
        if self._cancelled:
            raise WaitCancelled("the wait was cancelled")

    # -- waiting ----------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a publish or cancel since the last wake-up; False if ``timeout`` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._pending:
                if deadline is None:
                    self._cond.wait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            # Consumed before the caller re-reads state, so a later publish is never lost.
            self._pending = self._cancelled
            return True

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        for remover in self._removers:
            remover()
        self._removers.clear()
        self._hub._unregister(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventHub:
    """Topic -> subscriptions. ``publish`` wakes every subscription of the given topics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, set[Subscription]] = {}
        self._closed = False

    def subscribe(self, *topics: str, cancel: CancelToken | None = None) -> Subscription:
        sub = Subscription(self, tuple(dict.fromkeys(topics)))
        with self._lock:
            closed = self._closed
            if not closed:
                for topic in sub.topics:
                    self._topics.setdefault(topic, set()).add(sub)
        if closed:
            sub._shut()
        if cancel is not None:
            sub._removers.append(cancel.add_callback(sub.cancel))
        return sub

    def add_topics(self, sub: Subscription, topics: Iterable[str]) -> None:
        """Widen a live subscription (e.g. a wait that learns which commits it depends on)."""
        new = tuple(t for t in topics if t not in sub.topics)
        if not new:
            return
        sub.topics = sub.topics + new
        with self._lock:
            if self._closed:
                return
            for topic in new:
                self._topics.setdefault(topic, set()).add(sub)

    def deliver(self, events: Sequence[TopicsChanged]) -> None:
        """The outbox sink for :class:`TopicsChanged`: one wake-up per topic for a unit of work."""
        self.publish(*dict.fromkeys(t for event in events for t in event.topics))

    def publish(self, *topics: str) -> None:
        with self._lock:
            targets: set[Subscription] = set()
            for topic in topics:
                targets.update(self._topics.get(topic, ()))
        for sub in targets:
            sub.notify()

    def publish_all(self) -> None:
        """Wake every subscription (a change of unknown topics: e.g. notifications were lost)."""
        with self._lock:
            targets = {s for subs in self._topics.values() for s in subs}
        for sub in targets:
            sub.notify()

    def _unregister(self, sub: Subscription) -> None:
        with self._lock:
            for topic in sub.topics:
                subs = self._topics.get(topic)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._topics[topic]

    def subscriber_count(self) -> int:
        with self._lock:
            return len({s for subs in self._topics.values() for s in subs})

    def shutdown(self) -> None:
        """Wake every waiter for good (they raise ServerShuttingDown); later subscriptions too."""
        with self._lock:
            self._closed = True
            subs = {s for group in self._topics.values() for s in group}
        for sub in subs:
            sub._shut()


class ActiveCount:
    """Counts things in progress (e.g. RPCs blocked in a wait) so shutdown can let them end."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def enter(self) -> Callable[[], None]:
        """Count one more; returns the (idempotent) function that counts it out again."""
        with self._cond:
            self._count += 1
        done = threading.Event()

        def leave() -> None:
            if done.is_set():
                return
            done.set()
            with self._cond:
                self._count -= 1
                self._cond.notify_all()

        return leave

    def wait_idle(self, timeout: float) -> bool:
        """Block until the count is zero or ``timeout`` passes; True if it reached zero."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
