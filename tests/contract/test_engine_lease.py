"""The engine lease on a real PostgreSQL (store/postgres_lease.py): one holder at a time, taken
only once it lapsed or was released, on the database's clock; each take raises the epoch; a
renewal by a holder that was taken over fails; and writes fenced at an old epoch are refused
with nothing written."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tuskd.domain.errors import Unavailable
from tuskd.domain.pfs import RepoKey
from tuskd.store.postgres import Fenced, PostgresStore

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _until_lapsed(store: PostgresStore, seconds: float) -> None:
    lease = store.lease(seconds)
    while lease.holder().live:  # the database's clock decides, not ours
        time.sleep(0.05)


def test_one_holder_at_a_time_and_a_lapsed_lease_goes_to_the_next_with_a_new_epoch(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    lease_a, lease_b = a.lease(60), b.lease(60)
    first = lease_a.take("server A")
    assert first is not None
    assert lease_b.take("server B") is None  # live: refused
    assert lease_a.renew(first)
    holder = lease_b.holder()
    assert (holder.epoch, holder.holder, holder.live) == (first, "server A", True)
    assert "server A" in holder.describe()

    short_a = a.lease(0.2)
    assert short_a.renew(first)  # now lapses in 0.2 s
    _until_lapsed(b, 0.2)
    second = lease_b.take("server B")
    assert second == first + 1
    assert not lease_a.renew(first)  # taken over: A learns it
    assert lease_a.take("server A") is None


def test_a_released_lease_is_taken_at_once(stores: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = stores
    epoch = a.lease(60).take("server A")
    assert epoch is not None
    b.lease(60).release(epoch - 1)  # an old epoch's release changes nothing
    assert b.lease(60).take("server B") is None
    a.lease(60).release(epoch)
    assert b.lease(60).take("server B") == epoch + 1


def test_writes_fenced_at_a_taken_over_epoch_are_refused_and_nothing_is_written(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    old = a.lease(0.2).take("server A")
    assert old is not None
    a.fence(old)
    with a.write() as tx:  # the leader's writes go through while it holds the lease
        tx.insert_repo(RepoKey.of("before"), "", 1)
    _until_lapsed(b, 0.2)
    new = b.lease(60).take("server B")
    assert new == old + 1
    b.fence(new)
    with pytest.raises(Fenced, match=f"epoch {old}.*taken over by epoch {new}") as caught, a.write() as tx:
        tx.insert_repo(RepoKey.of("late"), "", 2)
    assert isinstance(caught.value, Unavailable)  # a client of the stale server sees UNAVAILABLE
    with b.write() as tx:
        tx.insert_repo(RepoKey.of("after"), "", 3)
    with b.read() as tx:
        assert tx.get_repo(RepoKey.of("late")) is None
        assert tx.get_repo(RepoKey.of("before")) is not None
        assert tx.get_repo(RepoKey.of("after")) is not None
    a.fence(None)  # a server that stepped down writes again (API calls)
    with a.write() as tx:
        tx.insert_repo(RepoKey.of("api"), "", 4)
