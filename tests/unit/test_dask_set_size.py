"""How many datums a Dask datum set takes (engine/dask_executor.py): one until the batch has
measured its datums, then enough that dispatch stays under a quarter of the work, within the
set's share of the batch's free window."""

from __future__ import annotations

from tuskd.engine.dask_executor import MAX_SET, _Sizer
from tuskd.engine.datum_runner import DatumOutcome
from tuskd.engine.datum_work import Attempt, DatumResult


def _result(seconds: float) -> DatumResult:
    run = Attempt(0, None, False, False, 100.0, 100.0 + seconds, "exit code 0")
    return DatumResult("d", "n", DatumOutcome.SUCCESS, runs=(run,))


def test_one_datum_a_set_until_datums_are_measured() -> None:
    sizer = _Sizer()
    assert sizer.size(room=100, limit=1) == 1
    sizer.measure(wall=0.5, results=[DatumResult("d", "n", DatumOutcome.CANCELLED)])  # no run: nothing learnt
    assert sizer.size(room=100, limit=1) == 1


def test_long_datums_go_one_per_set() -> None:
    sizer = _Sizer()
    sizer.measure(wall=2.01, results=[_result(2.0)])  # 10 ms of dispatch against 2 s of work
    assert sizer.size(room=100, limit=1) == 1


def test_tiny_datums_share_a_set_within_the_window_share() -> None:
    sizer = _Sizer()
    sizer.measure(wall=0.012, results=[_result(0.002)])  # 10 ms of dispatch against 2 ms of work
    assert sizer.size(room=100, limit=1) in (20, 21)  # ceil(0.010 / (0.25 * 0.002)), give or take float rounding
    assert sizer.size(room=8, limit=4) == 2  # its share of the free window
    assert sizer.size(room=1, limit=4) == 1  # never fewer than one
    assert sizer.size(room=10_000, limit=1) <= MAX_SET
