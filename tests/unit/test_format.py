"""pachctl presentation rules, pinned with the reference's own examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tusk import format as fmt


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "Less than a second"),
        (0.999, "Less than a second"),
        (1, "1 second"),
        (1.9, "1 second"),
        (5, "5 seconds"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * 60 + 59, "59 minutes"),
        (3600, "About an hour"),
        (5399, "About an hour"),  # rounds to the nearest hour
        (5400, "2 hours"),
        (20 * 3600, "20 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (13 * 86400, "13 days"),
        (14 * 86400, "2 weeks"),
        (59 * 86400, "8 weeks"),
        (60 * 86400, "2 months"),
        (729 * 86400, "24 months"),
        (730 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert fmt.human_duration(seconds) == text
    assert fmt.human_duration(timedelta(seconds=seconds)) == text


def test_ago_and_duration_match_the_seed_table() -> None:
    now = datetime(2021, 8, 3, 16, 13, 40, tzinfo=UTC)
    started = datetime(2021, 8, 2, 20, 13, 32, 870023, tzinfo=UTC)
    finished = datetime(2021, 8, 2, 20, 13, 38, 691891, tzinfo=UTC)
    assert fmt.ago(started, now) == "20 hours ago"
    assert fmt.duration_between(started, finished) == "5 seconds"
    assert fmt.duration_between(started, started + timedelta(milliseconds=300)) == "Less than a second"
    assert fmt.ago(None) == "-"
    assert fmt.duration_between(started, None) == "-"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (1, "1B"),
        (1023, "1023B"),
        (1024, "1KiB"),
        (185446, "181.1KiB"),
        (185424, "181.1KiB"),
        (114041, "111.4KiB"),
        (58645, "57.27KiB"),
        (22753, "22.22KiB"),
        (1048576, "1MiB"),
        (1536 * 1024 * 1024, "1.5GiB"),
    ],
)
def test_bytes_size(n: int, text: str) -> None:
    assert fmt.bytes_size(n) == text


def test_progress_forms() -> None:
    assert fmt.progress(2, 1, 3) == "2 + 1 / 3"
    assert fmt.progress(1, 0, 1) == "1 + 0 / 1"
    assert fmt.progress(0, 0, 0) == "0 + 0 / 0"
    assert fmt.progress(2, 1, 4, recovered=1) == "2 + 1 + 1 / 4"


def test_state_words_and_reason_trimming() -> None:
    assert fmt.job_state("JOB_SUCCESS") == "success"
    assert fmt.job_state("JOB_CREATED") == "-"
    assert fmt.job_state("JOB_STARTING") == "starting"
    assert fmt.job_state("JOB_EGRESSING") == "egressing"
    assert fmt.job_state("JOB_FINISHING") == "finishing"
    assert fmt.job_state("JOB_UNRUNNABLE") == "unrunnable"
    assert fmt.job_state("JOB_KILLED", "job stopped") == "killed: job stopped"
    long_reason = "datum 3f9c0a5e1b2d4c6f8a7b9c0d1e2f3a4b failed: exit code 3 (attempt 3 of 3)"
    assert fmt.job_state("JOB_FAILURE", long_reason) == "failure: datum 3f9c0a5e1b2d4c6f8a7..."
    assert fmt.trim_reason("x" * 25) == "x" * 25
    assert fmt.trim_reason("x" * 26) == "x" * 25 + "..."


def test_table_layout_matches_the_seed() -> None:
    rows = [
        [
            "fd9454d06d8e4fa38a75c8cd20b39538",
            "edges",
            "20 hours ago",
            "5 seconds",
            "0",
            "2 + 1 / 3",
            "181.1KiB",
            "111.4KiB",
            "success",
        ],
        [
            "7dcd77a2f7f34ff384a6096d1139e922",
            "edges",
            "20 hours ago",
            "Less than a second",
            "0",
            "0 + 0 / 0",
            "0B",
            "0B",
            "success",
        ],
    ]
    out = fmt.table(["ID", "PIPELINE", "STARTED", "DURATION", "RESTART", "PROGRESS", "DL", "UL", "STATE"], rows)
    assert out.splitlines() == [
        "ID                               PIPELINE STARTED      DURATION           RESTART PROGRESS  DL       UL       STATE",
        "fd9454d06d8e4fa38a75c8cd20b39538 edges    20 hours ago 5 seconds          0       2 + 1 / 3 181.1KiB 111.4KiB success",
        "7dcd77a2f7f34ff384a6096d1139e922 edges    20 hours ago Less than a second 0       0 + 0 / 0 0B       0B       success",
    ]
