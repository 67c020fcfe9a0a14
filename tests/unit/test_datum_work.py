"""A datum's task and result are plain values: they pickle and come back equal."""

from __future__ import annotations

import pickle

from tuskd.domain.jobs import Stats
from tuskd.engine.datum_work import (
    Attempt,
    CollectedFile,
    DatumOutcome,
    DatumResult,
    DatumTask,
    InputFile,
    LaidOutInput,
    new_nonce,
)


def test_a_task_pickles_round_trip() -> None:
    task = DatumTask(
        project="default",
        pipeline="edges",
        job_id="0123abcd",
        datum_id="d" * 64,
        nonce=new_nonce(),
        cmd=("python3", "/edges.py"),
        stdin=("line one", "line two"),
        env=(("PACH_JOB_ID", "0123abcd"), ("images", "/pfs/images/a.png")),
        working_dir="/work",
        inputs=(
            LaidOutInput("images", (InputFile("/a.png", "b" * 64, 12), InputFile("/dir/b.png", "c" * 64, 0))),
            LaidOutInput("empty", ()),
        ),
        datum_timeout=2.5,
        output_limit=1 << 20,
        tries=3,
        accept_return_code=(1, 2),
        err_cmd=("true",),
        err_stdin=("x",),
    )
    back = pickle.loads(pickle.dumps(task))
    assert back == task
    assert back is not task


def test_a_result_pickles_round_trip() -> None:
    attempt = Attempt(exit_code=3, signal=None, timed_out=False, cancelled=False, started=1.0, ended=2.5,
                      description="exit code 3")  # fmt: skip
    result = DatumResult(
        datum_id="d1",
        nonce=new_nonce(),
        outcome=DatumOutcome.RECOVERED,
        reason="recovered by err_cmd after exit code 3 (attempt 1 of 1)",
        runs=(attempt,),
        err_attempt=Attempt(0, None, False, False, 2.5, 2.6, "exit code 0"),
        outputs=(CollectedFile("/out.txt", "e" * 64, 7),),
        log=b"--- attempt 1 of 1: exit code 3 ---\n\xff binary too\n",
        stats=Stats(download_time=0.1, process_time=1.5, upload_time=0.01, download_bytes=12, upload_bytes=7),
    )
    back = pickle.loads(pickle.dumps(result))
    assert back == result
    assert back.attempts == 1
    assert back.outcome is DatumOutcome.RECOVERED
