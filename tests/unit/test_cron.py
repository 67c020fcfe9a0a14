"""Cron inputs in the domain: the schedule parser, tick names, validation, the stored and wire
forms, and datum planning over tick files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tuskd.domain.cron import parse_go_duration, parse_schedule, tick_name, tick_time
from tuskd.domain.datums import FileEntry, plan_datums
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.inputs import CronInput, Input, PfsInput, cron_inputs, input_repos, validate_input, with_cron_start
from tuskd.domain.pipelines import PipelineSpec, Transform, spec_from_dict, spec_to_dict, validate_pipeline_spec
from tuskd.transport import pipeline_convert as convert

# Thursday 3 December 2026, 13:07:30.5 UTC
NOW = datetime(2026, 12, 3, 13, 7, 30, 500_000, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("* * * * *", NOW, at(2026, 12, 3, 13, 8)),
        ("*/15 * * * *", NOW, at(2026, 12, 3, 13, 15)),
        ("5/20 * * * *", NOW, at(2026, 12, 3, 13, 25)),  # N/step runs from N to the maximum
        ("0,30 9-17 * * *", NOW, at(2026, 12, 3, 13, 30)),
        ("0 12 * * mon-fri", NOW, at(2026, 12, 4, 12, 0)),  # Thursday noon is past: Friday's
        ("0 0 1 JAN *", NOW, at(2027, 1, 1)),
        ("0 0 13 * *", NOW, at(2026, 12, 13)),
        ("0 0 13 * fri", NOW, at(2026, 12, 4)),  # both days restricted: either matches
        ("0 0 ? * 0", NOW, at(2026, 12, 6)),  # Sunday is 0
        ("0 0 29 2 *", NOW, at(2028, 2, 29)),
        ("0 0 30 2 *", NOW, None),  # never within 5 years: never
        ("@hourly", NOW, at(2026, 12, 3, 14)),
        ("@daily", NOW, at(2026, 12, 4)),
        ("@midnight", NOW, at(2026, 12, 4)),
        ("@weekly", NOW, at(2026, 12, 6)),
        ("@monthly", NOW, at(2027, 1, 1)),
        ("@yearly", NOW, at(2027, 1, 1)),
        ("@annually", NOW, at(2027, 1, 1)),
        ("* * * * *", at(2026, 12, 31, 23, 59), at(2027, 1, 1)),
        ("@every 1s", NOW, at(2026, 12, 3, 13, 7, 31)),  # whole seconds, as robfig/cron
        ("@every 1h30m", NOW, at(2026, 12, 3, 14, 37, 30)),
        ("@every 2.9s", NOW, at(2026, 12, 3, 13, 7, 32)),  # truncated to whole seconds
        ("@every 10ms", NOW, at(2026, 12, 3, 13, 7, 31)),  # at least a second
        ("@never", NOW, None),
        ("  @never ", NOW, None),
    ],
)
def test_next_tick(spec: str, after: datetime, expected: datetime | None) -> None:
    assert parse_schedule(spec).next(after) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec string"),
        ("* * * *", "expected exactly 5 fields, found 4: * * * *"),
        ("0 0 0 * * *", "expected exactly 5 fields, found 6"),
        ("60 * * * *", "minute: end of range (60) above maximum (59): 60"),
        ("* 24 * * *", "hour: end of range (24) above maximum (23)"),
        ("* * 0 * *", "day of month: beginning of range (0) below minimum (1)"),
        ("* * * 13 *", "month: end of range (13) above maximum (12)"),
        ("* * * * 7", "day of week: end of range (7) above maximum (6)"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1)"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1/2/3 * * * *", "too many slashes: 1/2/3"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("x * * * *", "failed to parse int from 'x': x"),
        ("* * * * funday", "failed to parse int from 'funday'"),
        ("@every", "unrecognized descriptor: @every"),
        ("@every 1d", "failed to parse duration @every 1d: unknown unit 'd' in duration '1d'"),
        ("@every 5", "missing unit in duration '5'"),
        ("@sometimes", "unrecognized descriptor: @sometimes"),
    ],
)
def test_bad_specs_say_why(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_schedule(spec)
    assert err.value.message.startswith("error parsing cron-spec: ")
    assert message in err.value.message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0.0), ("1h30m", 5400.0), ("1.5s", 1.5), ("-2m", -120.0), ("250ms", 0.25), (".5h", 1800.0), ("3µs", 3e-6)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1", "1x", "1..2s", "+"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_go_duration(text)


def test_tick_names_are_rfc3339_utc_whole_seconds() -> None:
    assert tick_name(NOW) == "2026-12-03T13:07:30Z"
    assert tick_time("/2026-12-03T13:07:30Z") == at(2026, 12, 3, 13, 7, 30)
    assert tick_time("notes.txt") is None
    assert tick_time("2026-12-03T13:07:30") is None  # no zone: not a tick name


# -- inputs ----------------------------------------------------------------------------------


def test_cron_defaults_and_what_it_reads() -> None:
    node = validate_input(Input(cron=CronInput(name="tick", spec="@daily")), "lab", "report")
    assert node.cron == CronInput(name="tick", spec="@daily", repo="report_tick", project="lab")
    assert input_repos(node) == [PfsInput(name="tick", repo="report_tick", glob="/*", project="lab")]
    started = with_cron_start(Input(cross=(node, Input(pfs=PfsInput(repo="a", glob="/")))), NOW)
    assert [c.start for c in cron_inputs(started)] == [NOW]
    kept = with_cron_start(Input(cron=CronInput(name="t", spec="@daily", start=at(2020, 1, 1))), NOW)
    assert kept.cron is not None and kept.cron.start == at(2020, 1, 1)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (Input(cron=CronInput(spec="@daily")), "input must specify a name"),
        (Input(cron=CronInput(name="out", spec="@daily")), 'input name "out" is reserved'),
        (Input(cron=CronInput(name="t", spec="daily")), "error parsing cron-spec: expected exactly 5 fields"),
        (
            Input(cross=(Input(cron=CronInput(name="a", spec="@daily")), Input(pfs=PfsInput(repo="a", glob="/")))),
            'name "a" was used more than once',
        ),
        (
            Input(join=(Input(cron=CronInput(name="t", spec="@daily")),)),
            "every input of a join must be a pfs input, not a cron",
        ),
        (Input(cron=CronInput(name="t", spec="@daily"), pfs=PfsInput(repo="a", glob="/")), "multiple input types"),
    ],
)
def test_bad_cron_inputs(node: Input, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        validate_input(node, "default", "p")


def cron_pipeline() -> PipelineSpec:
    cron = CronInput(name="tick", spec="*/5 * * * *", overwrite=True, start=at(2026, 1, 2, 3, 4, 5))
    return validate_pipeline_spec(
        PipelineSpec(
            name="p",
            project="lab",
            transform=Transform(cmd=("true",)),
            input=Input(cross=(Input(cron=cron), Input(pfs=PfsInput(repo="a", glob="/*")))),
        )
    )


def test_cron_spec_round_trips_through_the_stored_json() -> None:
    spec = cron_pipeline()
    stored = json.loads(json.dumps(spec_to_dict(spec)))
    assert stored["input"]["cross"][0] == {
        "cron": {"name": "tick", "repo": "p_tick", "spec": "*/5 * * * *", "start": "2026-01-02T03:04:05.000000Z",
                 "overwrite": True}
    }
    assert spec_from_dict(stored) == spec


def test_cron_input_round_trips_through_the_wire_form() -> None:
    spec = cron_pipeline()
    pb = convert.input_to_proto(spec.input, spec.project)
    cron = pb.cross[0].cron
    assert (cron.name, cron.repo, cron.project, cron.overwrite) == ("tick", "p_tick", "lab", True)
    assert cron.start.ToDatetime(tzinfo=UTC) == at(2026, 1, 2, 3, 4, 5)
    assert convert.input_from_proto(pb) == spec.input


def test_a_cron_input_has_one_datum_per_tick_file() -> None:
    node = validate_input(Input(cron=CronInput(name="tick", spec="@daily")), "default", "p")
    files = [FileEntry(f"/2026-12-0{d}T00:00:00Z", False, 0, "e3b0") for d in (1, 2, 3)]
    datums = plan_datums(node, lambda pfs: files if pfs.repo == "p_tick" and pfs.branch == "master" else [])
    assert sorted(d.inputs[0].path for d in datums) == [f.path for f in files]
    assert {d.inputs[0].name for d in datums} == {"tick"}


@pytest.mark.parametrize("spec", ["0 0 * * *", "@every 100000h", "0 0 30 2 *", "@every 1s"])
def test_no_tick_past_the_end_of_the_calendar(spec: str) -> None:
    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_schedule(spec).next(late) is None
