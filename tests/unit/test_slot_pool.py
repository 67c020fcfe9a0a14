"""Slots (datum trees with their sandboxes) kept across jobs, and the janitor that tidies them.

Real directories and a real Workspace; a stand-in sandbox only where a fault (a reset that
hangs) is injected.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tuskd.blobs.local import LocalBlobStore
from tuskd.engine.datum_tree import InputFile, LaidOutInput, Slot
from tuskd.engine.janitor import Janitor
from tuskd.engine.slot_pool import SlotPool
from tuskd.engine.workspace import Workspace

pytestmark = pytest.mark.timeout(30)


def test_the_janitor_runs_work_by_due_time_and_close_runs_what_is_left_at_once() -> None:
    janitor = Janitor()
    ran: list[str] = []
    first = threading.Event()
    janitor.submit(lambda: ran.append("later"), delay=3600)
    janitor.submit(lambda: (ran.append("now"), first.set()))
    assert first.wait(10)
    assert ran == ["now"]  # the hour-late one waits
    janitor.submit(lambda: 1 / 0)  # a failure is logged, the next work still runs
    janitor.close()
    assert ran == ["now", "later"]


def test_a_jobs_slot_is_kept_for_the_next_job_and_handed_over_empty(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    ref = blobs.put_bytes(b"data")
    ws = Workspace(tmp_path / "work", blobs, link=False, scratch_root=tmp_path / "scratch")
    ws.reset()
    try:
        job = ws.open_job("a")
        with job.slot() as slot:
            tree = job.prepare(slot, [LaidOutInput("in", [InputFile("/f", ref.hash, ref.size)])])
            (tree.out_dir / "result").write_text("a's output")
            (tree.tmp_dir / "scratch-file").write_text("a's temp")
        job.retire()  # dirty: tidied by the janitor later, or by the next taker now
        other = ws.open_job("b")
        with other.slot() as again:
            assert again is slot
            assert list(again.out_dir.iterdir()) == [] and list(again.tmp_dir.iterdir()) == []
            assert list(again.in_root.iterdir()) == []
        other.retire()
    finally:
        ws.close()
    assert list((tmp_path / "work").iterdir()) == []


def test_slots_beyond_the_kept_number_are_removed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work", LocalBlobStore(tmp_path / "blobs"), link=False, keep=1)
    ws.reset()
    try:
        job = ws.open_job("a")
        with job.slot() as one, job.slot() as two:
            pass
        job.close()
        kept = [s for s in (one, two) if s.root.exists()]
        assert len(kept) == 1
        with ws.open_job("b").slot() as again:
            assert again is kept[0]
    finally:
        ws.close()


class _HangingReset:
    """A sandbox whose reset waits for ``go`` (fault injection: a helper slow to answer)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.resetting = threading.Event()

    def begin_reset(self) -> None:
        pass

    def reset(self) -> None:
        self.resetting.set()
        self.go.wait(20)

    def close(self) -> None:
        pass


def test_a_taker_waits_for_the_slot_being_tidied_rather_than_make_a_new_one(tmp_path: Path) -> None:
    made: list[int] = []

    def make(number: int) -> Slot:
        made.append(number)
        base = tmp_path / str(number)
        slot = Slot(base, tmp_path / f"s{number}", base / "in", base / "out", base / "tmp", link=False)
        for d in (slot.in_root, slot.out_dir, slot.tmp_dir):
            d.mkdir(parents=True)
        return slot

    janitor = Janitor()
    pool = SlotPool(make, lambda slot: None, janitor, keep=4, tidy_after=0)
    slot = pool.take()
    sandbox = _HangingReset()
    slot.sandbox = sandbox  # type: ignore[assignment]
    pool.give_back([slot])
    assert sandbox.resetting.wait(10)  # the janitor is tidying it now
    got: list[Slot] = []
    taker = threading.Thread(target=lambda: got.append(pool.take()))
    taker.start()
    taker.join(0.3)
    assert taker.is_alive() and got == []  # waiting, not making a second slot
    sandbox.go.set()
    taker.join(10)
    assert got == [slot] and made == [1]
    janitor.close()
