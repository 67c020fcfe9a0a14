"""The unit of work is passed, never found: a transaction opened on a thread already inside a
write is refused (ImplicitJoin) on every store, and ``write(join=tx)`` is the one way to nest."""

from __future__ import annotations

import threading

import pytest

from tuskd.domain.pfs import RepoKey
from tuskd.store.base import PfsTx, Store
from tuskd.store.outbox import ImplicitJoin

REPO = RepoKey.of("images")
OTHER = RepoKey.of("other")
_OPENED_INSIDE = r"store\.{}\(\) opened on a thread already inside a write transaction: pass that unit of work"
_NOT_OPEN = r"tx is not the open write transaction of this thread"


def _names(store: Store) -> list[str]:
    with store.read() as tx:
        return sorted(r.key.name for r in tx.list_repos())


def test_a_write_or_read_opened_inside_a_write_is_refused_and_the_outer_write_goes_on(store: Store) -> None:
    with store.write() as outer:
        outer.insert_repo(REPO, "", 1)
        with pytest.raises(ImplicitJoin, match=_OPENED_INSIDE.format("write")), store.write():
            pass
        with pytest.raises(ImplicitJoin, match=_OPENED_INSIDE.format("read")), store.read():
            pass
        outer.insert_repo(OTHER, "", 2)
    assert _names(store) == ["images", "other"]
    with store.write() as again:  # the thread is out of the write: a new one opens as usual
        again.insert_repo(RepoKey.of("third"), "", 3)
    assert _names(store) == ["images", "other", "third"]


def test_join_must_name_the_open_write_of_this_thread(store: Store) -> None:
    with store.read() as reader, pytest.raises(ImplicitJoin, match=_NOT_OPEN), store.write(join=reader):
        pass
    with store.write() as finished:
        pass
    with pytest.raises(ImplicitJoin, match=_NOT_OPEN), store.write(join=finished):
        pass
    errors: list[BaseException] = []

    def join_from_another_thread(tx: PfsTx) -> None:
        try:
            with store.write(join=tx):
                pass
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    with store.write() as outer:
        outer.insert_repo(REPO, "", 1)
        thread = threading.Thread(target=join_from_another_thread, args=(outer,))
        thread.start()
        thread.join()
    assert len(errors) == 1 and isinstance(errors[0], ImplicitJoin)
    assert _names(store) == ["images"]


def test_a_joined_step_commits_with_the_write_and_rolls_back_alone(store: Store) -> None:
    with store.write() as outer:
        with store.write(join=outer) as step:
            assert step is outer
            step.insert_repo(REPO, "", 1)
        with pytest.raises(ValueError), store.write(join=outer) as failed:
            failed.insert_repo(OTHER, "", 2)
            raise ValueError("this step only")
    assert _names(store) == ["images"]
