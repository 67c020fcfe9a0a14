"""pachctl's presentation rules, pure: human durations, byte sizes, progress, state words.

These strings are what Pachyderm users read in ``list job`` tables; each rule is pinned by a
unit test with the reference's own examples (``181.1KiB`` for 185446 bytes, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

REASON_LIMIT = 25
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")

# JobState enum names -> the word pachctl prints; CREATED (and the unknown zero) print "-".
_JOB_WORDS = {
    "JOB_STATE_UNKNOWN": "-",
    "JOB_CREATED": "-",
    "JOB_STARTING": "starting",
    "JOB_RUNNING": "running",
    "JOB_FAILURE": "failure",
    "JOB_SUCCESS": "success",
    "JOB_KILLED": "killed",
    "JOB_EGRESSING": "egressing",
    "JOB_FINISHING": "finishing",
    "JOB_UNRUNNABLE": "unrunnable",
}

_DATUM_WORDS = {
    "UNKNOWN": "unknown",
    "FAILED": "failed",
    "SUCCESS": "success",
    "SKIPPED": "skipped",
    "STARTING": "starting",
    "RECOVERED": "recovered",
}


def human_duration(d: timedelta | float) -> str:
    """Docker/pachctl style: ``Less than a second``, ``5 seconds``, ``About an hour``, ``20 hours``."""
    seconds_f = d.total_seconds() if isinstance(d, timedelta) else float(d)
    seconds = int(seconds_f)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_f / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds_f / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_f / 3600) // 24 // 365} years"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``20 hours ago``, or ``-`` when there is no time."""
    if when is None:
        return "-"
    now = now or datetime.now(UTC)
    return f"{human_duration(max(now - when, timedelta(0)))} ago"


def duration_between(start: datetime | None, end: datetime | None) -> str:
    """``5 seconds`` between two times, or ``-`` if either is missing."""
    if start is None or end is None:
        return "-"
    return human_duration(max(end - start, timedelta(0)))


def _g4(value: float) -> str:
    # Go's %.4g and C's agree for these magnitudes; trailing zeros are dropped by %g.
    return f"{value:.4g}"


def bytes_size(n: int) -> str:
    """Binary units with 4 significant digits: 0 -> ``0B``, 185446 -> ``181.1KiB``, 1048576 -> ``1MiB``."""
    value = float(n)
    unit = 0
    while value >= 1024 and unit < len(_BINARY_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{_g4(value)}{_BINARY_UNITS[unit]}"


def progress(processed: int, skipped: int, total: int, recovered: int = 0) -> str:
    """``2 + 1 / 3``; with recovered datums ``2 + 1 + 1 / 4``. Failed datums count only in total."""
    if recovered:
        return f"{processed} + {skipped} + {recovered} / {total}"
    return f"{processed} + {skipped} / {total}"


def trim_reason(reason: str, limit: int = REASON_LIMIT) -> str:
    if len(reason) <= limit:
        return reason
    return reason[:limit].rstrip() + "..."


def job_state_word(state_name: str) -> str:
    """The lowercase word for a JobState enum name (``JOB_SUCCESS`` -> ``success``)."""
    return _JOB_WORDS.get(state_name, state_name.removeprefix("JOB_").lower())


def job_state(state_name: str, reason: str = "") -> str:
    """The STATE column: ``success``, or ``failure: datum 3f9c... failed: e...`` with the reason trimmed."""
    word = job_state_word(state_name)
    return f"{word}: {trim_reason(reason)}" if reason else word


def datum_state_word(state_name: str) -> str:
    return _DATUM_WORDS.get(state_name, state_name.lower())


def full_timestamp(when: datetime | None) -> str:
    return "-" if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns separated by one space, like pachctl's tabwriter output."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append(" ".join(cells).rstrip())
    return "\n".join(lines)
