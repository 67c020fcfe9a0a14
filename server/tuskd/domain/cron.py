"""Cron schedules of cron inputs, and the names of their tick files (pure).

A spec is what Pachyderm 2.12 accepts (robfig/cron v1 ``ParseStandard`` plus ``@never``):

* five fields ``minute hour day-of-month month day-of-week``, each a ``,`` list of ``*``/``?``,
  ``N``, ``N-M``, with an optional ``/step`` (``N/step`` runs from N to the field's maximum);
  months ``1-12`` or ``jan``..``dec``, days of the week ``0-6`` (Sunday 0) or ``sun``..``sat``.
  When both day fields are restricted a day matching either one matches (as in cron(8));
* ``@yearly`` / ``@annually``, ``@monthly``, ``@weekly``, ``@daily`` / ``@midnight``, ``@hourly``;
* ``@every <Go duration>`` (``@every 90s``, ``@every 1h30m``): whole seconds, at least one;
* ``@never``: never ticks on its own (RunCron still does).

Times are UTC (pachd runs in UTC). A tick file is named by its tick time in RFC 3339 at whole
seconds, ``2025-01-07T15:04:05Z``, which also sorts by time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from .errors import InvalidArgument

__all__ = ["Schedule", "parse_go_duration", "parse_schedule", "tick_name", "tick_time"]

_MONTHS: Final = {
    m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_DAYS: Final = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (name, minimum, maximum, names) of the five standard fields, in order.
_FIELDS: Final[tuple[tuple[str, int, int, dict[str, int]], ...]] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
_DESCRIPTORS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EVERY: Final = "@every "
_SEARCH_YEARS: Final = 5  # as robfig/cron: a spec matching no time within 5 years never ticks
_GO_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_TERM: Final = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


class CronSpecError(InvalidArgument):
    """A cron spec that does not parse (the message says why)."""

    reason = "INVALID_CRON_SPEC"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a cron input ticks. ``every`` (seconds) for ``@every``; ``never`` for ``@never``;
    otherwise the allowed values of the five fields."""

    spec: str
    every: int = 0
    never: bool = False
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    any_day: bool = False  # day of month or day of week is "*": a day must match both
    # (otherwise a day matching either field matches)

    def next(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after`` (UTC, whole seconds), or None if none comes
        (also when it would fall past the year 9999, the end of the calendar)."""
        try:
            return self._next(after)
        except (OverflowError, ValueError):  # datetime's range ends at 9999-12-31
            return None

    def _next(self, after: datetime) -> datetime | None:
        after = after.astimezone(UTC)
        if self.never:
            return None
        if self.every:
            return after.replace(microsecond=0) + timedelta(seconds=self.every)
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t.year + _SEARCH_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                t = datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=UTC)
            elif not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.weekday() + 1) % 7 in self.weekdays
        return (dom and dow) if self.any_day else (dom or dow)


def _error(message: str) -> CronSpecError:
    return CronSpecError(f"error parsing cron-spec: {message}")


def _number(text: str, names: dict[str, int], expr: str) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        if text.startswith("-") and text[1:].isdigit():
            raise _error(f"negative number ({text}) not allowed: {expr}")
        raise _error(f"failed to parse int from {text!r}: {expr}")
    return int(text)


def _field(expr: str, what: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is a star."""
    values: set[int] = set()
    star = False
    for part in expr.split(","):
        range_step = part.split("/")
        if len(range_step) > 2:
            raise _error(f"too many slashes: {part}")
        bounds = range_step[0].split("-")
        if bounds[0] in ("*", "?"):
            if len(bounds) > 1:
                raise _error(f"too many hyphens: {part}")
            start, end, star = low, high, True
        elif len(bounds) > 2:
            raise _error(f"too many hyphens: {part}")
        else:
            start = _number(bounds[0], names, part)
            end = _number(bounds[1], names, part) if len(bounds) == 2 else start
        step = 1
        if len(range_step) == 2:
            step = _number(range_step[1], {}, part)
            if len(bounds) == 1:
                end = high  # "N/step" runs to the maximum
        if start < low:
            raise _error(f"{what}: beginning of range ({start}) below minimum ({low}): {part}")
        if end > high:
            raise _error(f"{what}: end of range ({end}) above maximum ({high}): {part}")
        if start > end:
            raise _error(f"{what}: beginning of range ({start}) beyond end of range ({end}): {part}")
        if step == 0:
            raise _error(f"step of range should be a positive number: {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


def parse_go_duration(text: str) -> float:
    """A Go ``time.ParseDuration`` string (``1h30m``, ``1.5s``, ``-2m``, ``0``) -> seconds."""
    body = text
    sign = 1.0
    if body[:1] in ("+", "-"):
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(body):
        m = _GO_TERM.match(body, pos)
        assert m is not None  # every group may be empty
        whole, frac, unit = m.groups()
        if not whole and not frac:
            raise ValueError(f"invalid duration {text!r}")
        if not unit:
            raise ValueError(f"missing unit in duration {text!r}")
        if unit not in _GO_UNITS:
            raise ValueError(f"unknown unit {unit!r} in duration {text!r}")
        total += float(f"{whole or 0}.{frac or 0}") * _GO_UNITS[unit]
        pos = m.end()
    return sign * total


def parse_schedule(spec: str) -> Schedule:
    """Parse a cron input's spec; CronSpecError (INVALID_ARGUMENT) ``error parsing cron-spec: ...``."""
    if spec.strip() == "@never":
        return Schedule(spec, never=True)
    if not spec:
        raise _error("empty spec string")
    text = spec
    if spec.startswith("@"):
        if spec.startswith(_EVERY):
            try:
                seconds = parse_go_duration(spec[len(_EVERY) :])
            except ValueError as err:
                raise _error(f"failed to parse duration {spec}: {err}") from None
            return Schedule(spec, every=max(1, int(seconds)))  # whole seconds, at least one
        if spec not in _DESCRIPTORS:
            raise _error(f"unrecognized descriptor: {spec}")
        text = _DESCRIPTORS[spec]
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise _error(f"expected exactly {len(_FIELDS)} fields, found {len(parts)}: {spec}")
    (minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star) = (
        _field(part, *field) for part, field in zip(parts, _FIELDS, strict=True)
    )
    return Schedule(
        spec,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        any_day=dom_star or dow_star,
    )


def tick_name(when: datetime) -> str:
    """The tick file's name: RFC 3339 in UTC at whole seconds (Go's ``time.RFC3339``)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tick_time(name: str) -> datetime | None:
    """The time a tick file's name (or path) holds; None if it is not a tick name."""
    base = name.rsplit("/", 1)[-1]
    try:
        parsed = datetime.fromisoformat(base.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
