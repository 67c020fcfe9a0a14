"""The in-process change notification hub used by blocking waits."""

from __future__ import annotations

import threading
import time

import pytest

from tuskd.services.events import CancelToken, EventHub, ServerShuttingDown, WaitCancelled


def test_publish_wakes_a_waiter_on_its_topic() -> None:
    hub = EventHub()
    woke = threading.Event()
    with hub.subscribe("a") as sub:

        def wait() -> None:
            if sub.wait(10):
                woke.set()

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.05)
        assert not woke.is_set()
        hub.publish("a")
        t.join(5)
    assert woke.is_set()


def test_publish_before_wait_is_not_lost() -> None:
    hub = EventHub()
    with hub.subscribe("a") as sub:
        hub.publish("a")  # lands between "subscribe" and "wait": the next wait returns at once
        start = time.monotonic()
        assert sub.wait(5)
        assert time.monotonic() - start < 1
        # Consumed: the next wait blocks until the timeout.
        assert not sub.wait(0.05)


def test_other_topics_do_not_wake() -> None:
    hub = EventHub()
    with hub.subscribe("a", "b") as sub:
        hub.publish("c")
        assert not sub.wait(0.05)
        hub.publish("b")
        assert sub.wait(0.05)


def test_wait_times_out_without_polling() -> None:
    hub = EventHub()
    with hub.subscribe("a") as sub:
        start = time.monotonic()
        assert sub.wait(0.2) is False
        assert time.monotonic() - start >= 0.19


def test_closed_subscriptions_are_forgotten() -> None:
    hub = EventHub()
    sub = hub.subscribe("a", "b")
    assert hub.subscriber_count() == 1
    sub.close()
    assert hub.subscriber_count() == 0
    hub.publish("a")  # nothing to wake, no error


def test_add_topics_widens_a_subscription() -> None:
    hub = EventHub()
    with hub.subscribe("a") as sub:
        hub.add_topics(sub, ["b"])
        hub.publish("b")
        assert sub.wait(0.1)
    assert hub.subscriber_count() == 0


def test_cancel_token_wakes_and_marks_cancelled() -> None:
    hub = EventHub()
    token = CancelToken()
    with hub.subscribe("a", cancel=token) as sub:
        threading.Timer(0.05, token.cancel).start()
        assert sub.wait(10)
        assert sub.cancelled
        with pytest.raises(WaitCancelled):
            sub.check()
        assert sub.wait(0.01)  # stays woken for good


def test_cancel_token_already_cancelled() -> None:
    token = CancelToken()
    token.cancel()
    token.cancel()  # idempotent
    calls: list[int] = []
    token.add_callback(lambda: calls.append(1))
    assert calls == [1]
    with EventHub().subscribe("a", cancel=token) as sub:
        assert sub.cancelled


def test_cancel_token_callbacks_can_be_removed() -> None:
    token = CancelToken()
    calls: list[int] = []
    remove = token.add_callback(lambda: calls.append(1))
    remove()
    token.cancel()
    assert calls == []


def test_shutdown_wakes_everyone_with_unavailable() -> None:
    hub = EventHub()
    subs = [hub.subscribe(f"t{i}") for i in range(3)]
    hub.shutdown()
    for sub in subs:
        assert sub.wait(1)
        with pytest.raises(ServerShuttingDown):
            sub.check()
        sub.close()
    late = hub.subscribe("t0")
    with pytest.raises(ServerShuttingDown):
        late.check()


def test_hundreds_of_waiters_all_wake_on_one_publish() -> None:
    hub = EventHub()
    count = 300
    woken = []
    lock = threading.Lock()
    ready = threading.Barrier(count + 1)

    def waiter() -> None:
        with hub.subscribe("topic") as sub:
            ready.wait(10)
            if sub.wait(10):
                with lock:
                    woken.append(1)

    threads = [threading.Thread(target=waiter) for _ in range(count)]
    for t in threads:
        t.start()
    ready.wait(10)
    assert hub.subscriber_count() == count
    hub.publish("topic")
    for t in threads:
        t.join(10)
    assert len(woken) == count
    assert hub.subscriber_count() == 0
