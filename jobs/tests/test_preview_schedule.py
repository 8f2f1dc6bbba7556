"""`manage.py preview_schedule`: instants, DST markers, JSON, every error."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.management.commands.preview_schedule import (
    MAX_COUNT,
    MSG_AFTER,
    MSG_COUNT,
    MSG_MANUAL,
    MSG_RANGE,
    MSG_SCHEDULE,
)
from jobs.schedule import MSG_TIME, MSG_TIMEZONE
from jobs.schedule_text import describe_schedule

DAILY_0900_HK = '{"type": "daily", "time": "09:00", "timezone": "Asia/Hong_Kong"}'
DAILY_0230_NY = '{"type": "daily", "time": "02:30", "timezone": "America/New_York"}'
HOURLY_30_NY = '{"type": "hourly", "minute": 30, "timezone": "America/New_York"}'


def preview(schedule: str, **options: Any) -> str:
    """Run the command in-process and return what it printed."""
    out = StringIO()
    call_command("preview_schedule", schedule, stdout=out, **options)
    return out.getvalue()


def preview_lines(schedule: str, **options: Any) -> list[str]:
    """Return the printed lines after the first (the schedule in words)."""
    return preview(schedule, **options).splitlines()[1:]


def run_manage(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py` in a real subprocess, bounded in time."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


# --- JSON ----------------------------------------------------------------------


def test_json_lists_utc_instants_in_iso_8601() -> None:
    """Daily 09:00 in Hong Kong is 01:00 UTC, printed with "+00:00"."""
    out = preview(DAILY_0900_HK, after="2026-01-01T00:00Z", count=3, json=True)
    assert json.loads(out) == [
        "2026-01-01T01:00:00+00:00",
        "2026-01-02T01:00:00+00:00",
        "2026-01-03T01:00:00+00:00",
    ]


def test_json_output_is_only_the_array() -> None:
    """Nothing but one JSON array on one line, for scripts to read."""
    out = preview(DAILY_0900_HK, after="2026-01-01T00:00Z", count=1, json=True)
    assert out == '["2026-01-01T01:00:00+00:00"]\n'


def test_instants_are_strictly_after_after() -> None:
    """An instant equal to --after is not listed."""
    out = preview(DAILY_0900_HK, after="2026-01-01T01:00Z", count=1, json=True)
    assert json.loads(out) == ["2026-01-02T01:00:00+00:00"]


def test_dst_gap_in_json_is_the_instant_after_the_gap() -> None:
    """02:30 on the spring-forward day fires at 03:00 EDT = 07:00 UTC."""
    out = preview(DAILY_0230_NY, after="2026-03-07T12:00Z", count=2, json=True)
    assert json.loads(out) == [
        "2026-03-08T07:00:00+00:00",
        "2026-03-09T06:30:00+00:00",
    ]


def test_manual_schedule_json_is_an_empty_array() -> None:
    """A manual schedule never fires on its own."""
    assert preview('{"type": "manual"}', json=True) == "[]\n"


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            '{"type": "weekly", "weekdays": ["mon", "thu"], "time": "18:15", '
            '"timezone": "Europe/London"}',
            ["2026-01-01T18:15:00+00:00", "2026-01-05T18:15:00+00:00"],
        ),
        (
            '{"type": "monthly", "day": 31, "time": "08:00", "timezone": "UTC"}',
            ["2026-01-31T08:00:00+00:00", "2026-02-28T08:00:00+00:00"],
        ),
        (
            '{"type": "yearly", "month": 2, "day": 29, "time": "00:00", '
            '"timezone": "UTC"}',
            ["2026-02-28T00:00:00+00:00", "2027-02-28T00:00:00+00:00"],
        ),
        (
            '{"type": "cron", "expression": "*/20 9 * * 1-5", "timezone": "UTC"}',
            ["2026-01-01T09:00:00+00:00", "2026-01-01T09:20:00+00:00"],
        ),
        (
            '{"type": "interval", "seconds": 5400}',
            ["2026-01-01T01:30:00+00:00", "2026-01-01T03:00:00+00:00"],
        ),
        (
            '{"type": "hourly", "minute": 45, "timezone": "Asia/Kolkata"}',
            ["2026-01-01T00:15:00+00:00", "2026-01-01T01:15:00+00:00"],
        ),
    ],
)
def test_json_for_each_schedule_type(schedule: str, expected: list[str]) -> None:
    """Each type gives its exact UTC instants after 2026-01-01 00:00 UTC."""
    out = preview(schedule, after="2026-01-01T00:00:00+00:00", count=2, json=True)
    assert json.loads(out) == expected


# --- --after and the timezone --------------------------------------------------


def test_missing_timezone_uses_the_portal_default(settings: Any) -> None:
    """A document without "timezone" runs in JOB_PORTAL_TIMEZONE."""
    settings.JOB_PORTAL_TIMEZONE = "Europe/Paris"
    out = preview(
        '{"type": "daily", "time": "09:00"}',
        after="2026-01-01T00:00Z",
        count=1,
        json=True,
    )
    assert json.loads(out) == ["2026-01-01T08:00:00+00:00"]


def test_naive_after_is_read_in_the_schedule_timezone() -> None:
    """--after 2026-01-01T09:00 in Hong Kong is 01:00 UTC: today's 09:00 is out."""
    out = preview(DAILY_0900_HK, after="2026-01-01T09:00", count=1, json=True)
    assert json.loads(out) == ["2026-01-02T01:00:00+00:00"]


def test_after_may_be_a_date_alone() -> None:
    """A bare date means its midnight in the schedule's zone."""
    out = preview(DAILY_0900_HK, after="2026-01-01", count=1, json=True)
    assert json.loads(out) == ["2026-01-01T01:00:00+00:00"]


def test_after_may_be_a_datetime_from_python() -> None:
    """call_command callers can pass an aware datetime."""
    after = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    out = preview(DAILY_0900_HK, after=after, count=1, json=True)
    assert json.loads(out) == ["2026-01-02T01:00:00+00:00"]


def test_naive_datetime_from_python_is_in_the_schedule_timezone() -> None:
    """A naive datetime is wall time in the schedule's zone, like the CLI."""
    naive = datetime(2026, 1, 1, 8, 59)  # noqa: DTZ001 - naive on purpose
    out = preview(DAILY_0900_HK, after=naive, count=1, json=True)
    assert json.loads(out) == ["2026-01-01T01:00:00+00:00"]


def test_after_defaults_to_now() -> None:
    """Without --after, the first instant is within one interval of now."""
    before = datetime.now(UTC)
    out = preview('{"type": "interval", "seconds": 60}', count=1, json=True)
    first = datetime.fromisoformat(json.loads(out)[0])
    assert before < first <= datetime.now(UTC) + timedelta(seconds=60)


def test_count_defaults_to_five() -> None:
    """Five instants unless --count says otherwise."""
    out = preview(DAILY_0900_HK, after="2026-01-01T00:00Z", json=True)
    assert len(json.loads(out)) == 5


def test_count_may_be_a_string_as_from_the_command_line() -> None:
    """ "3" from argv and 3 from Python mean the same."""
    out = preview(DAILY_0900_HK, after="2026-01-01T00:00Z", count="3", json=True)
    assert len(json.loads(out)) == 3


# --- human output ----------------------------------------------------------------


def test_first_line_says_the_schedule_in_words() -> None:
    """The first line is describe_schedule's text for the document."""
    out = preview(DAILY_0900_HK, after="2026-01-01T00:00Z", count=1)
    expected = describe_schedule(
        {"type": "daily", "time": "09:00", "timezone": "Asia/Hong_Kong"},
        timezone=django_settings.JOB_PORTAL_TIMEZONE,
    )
    assert out.splitlines()[0] == expected


def test_each_instant_in_local_time_with_offset_and_in_utc() -> None:
    """One line per instant: local with zone and offset, then UTC."""
    lines = preview_lines(DAILY_0900_HK, after="2026-01-01T00:00Z", count=2)
    assert lines == [
        "2026-01-01 09:00 HKT (+08:00)  =  2026-01-01 01:00 UTC",
        "2026-01-02 09:00 HKT (+08:00)  =  2026-01-02 01:00 UTC",
    ]


def test_instant_moved_by_a_dst_gap_is_marked() -> None:
    """New York 2026-03-08: 02:30 does not exist and fires at 03:00 EDT."""
    lines = preview_lines(DAILY_0230_NY, after="2026-03-07T00:00-05:00", count=3)
    assert lines == [
        "2026-03-07 02:30 EST (-05:00)  =  2026-03-07 07:30 UTC",
        "2026-03-08 03:00 EDT (-04:00)  =  2026-03-08 07:00 UTC"
        "   moved from 02:30 (DST gap)",
        "2026-03-09 02:30 EDT (-04:00)  =  2026-03-09 06:30 UTC",
    ]


def test_both_instants_of_a_dst_fold_are_marked() -> None:
    """New York 2026-11-01: hourly :30 fires at both 01:30s, each labelled."""
    lines = preview_lines(HOURLY_30_NY, after="2026-11-01T00:45-04:00", count=3)
    assert lines == [
        "2026-11-01 01:30 EDT (-04:00)  =  2026-11-01 05:30 UTC"
        "   first of two 01:30s (DST fold)",
        "2026-11-01 01:30 EST (-05:00)  =  2026-11-01 06:30 UTC"
        "   second 01:30 (DST fold)",
        "2026-11-01 02:30 EST (-05:00)  =  2026-11-01 07:30 UTC",
    ]


def test_seconds_are_shown_when_an_instant_has_them() -> None:
    """An interval off the minute shows seconds on every line."""
    lines = preview_lines(
        '{"type": "interval", "seconds": 90, "timezone": "UTC"}',
        after="2026-01-01T00:00Z",
        count=2,
    )
    assert lines == [
        "2026-01-01 00:01:30 UTC (+00:00)  =  2026-01-01 00:01:30 UTC",
        "2026-01-01 00:03:00 UTC (+00:00)  =  2026-01-01 00:03:00 UTC",
    ]


def test_manual_schedule_says_it_runs_only_when_triggered() -> None:
    """A manual schedule prints one sentence and no instants."""
    assert preview('{"type": "manual"}') == MSG_MANUAL + "\n"


# --- errors ----------------------------------------------------------------------


def test_invalid_json_is_refused_with_its_position() -> None:
    """The parser's message and position are in the error."""
    with pytest.raises(CommandError) as caught:
        preview('{"type": "daily",}')
    assert str(caught.value) == (
        "The schedule is not valid JSON: Expecting property name enclosed in "
        "double quotes (line 1, column 18)."
    )


def test_invalid_schedule_names_the_field() -> None:
    """The engine's message, with the field, is the error."""
    with pytest.raises(CommandError) as caught:
        preview('{"type": "daily", "time": "25:00"}')
    error = "time: " + MSG_TIME.format(value="25:00")
    assert str(caught.value) == MSG_SCHEDULE.format(error=error)


def test_unknown_timezone_names_the_field() -> None:
    """A bad zone in the document is a "timezone" error."""
    with pytest.raises(CommandError) as caught:
        preview('{"type": "daily", "time": "09:00", "timezone": "Mars/Base"}')
    error = "timezone: " + MSG_TIMEZONE.format(value="Mars/Base")
    assert str(caught.value) == MSG_SCHEDULE.format(error=error)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    """Valid JSON that is not an object is an invalid schedule."""
    with pytest.raises(CommandError, match=r"^Invalid schedule: schedule: "):
        preview('["daily"]')


@pytest.mark.parametrize("after", ["yesterday", "2026-13-01", "2026-01-01T25:00"])
def test_bad_after_is_refused(after: str) -> None:
    """--after must be ISO 8601."""
    with pytest.raises(CommandError) as caught:
        preview(DAILY_0900_HK, after=after)
    assert str(caught.value) == MSG_AFTER.format(value=after)


@pytest.mark.parametrize("count", [0, -1, MAX_COUNT + 1, "many", "2.5"])
def test_count_out_of_range_is_refused(count: object) -> None:
    """--count must be a whole number from 1 to 1000."""
    with pytest.raises(CommandError) as caught:
        preview(DAILY_0900_HK, count=count)
    assert str(caught.value) == MSG_COUNT.format(maximum=MAX_COUNT, value=count)


def test_count_of_a_thousand_is_allowed() -> None:
    """The upper bound itself is fine."""
    out = preview(DAILY_0900_HK, after="2026-01-01T00:00Z", count=1000, json=True)
    assert len(json.loads(out)) == 1000


def test_instants_past_the_calendar_end_are_refused() -> None:
    """Near year 9999 the error says so instead of overflowing."""
    with pytest.raises(CommandError) as caught:
        preview(DAILY_0900_HK, after="9999-12-31T00:00", count=3)
    assert str(caught.value) == MSG_RANGE.format(value="9999-12-31T00:00", count=3)


# --- a real process --------------------------------------------------------------


def test_command_line_prints_json() -> None:
    """The real command line gives the same JSON and exits 0."""
    result = run_manage(
        "preview_schedule",
        DAILY_0900_HK,
        "--after",
        "2026-01-01T00:00Z",
        "--count",
        "2",
        "--json",
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == [
        "2026-01-01T01:00:00+00:00",
        "2026-01-02T01:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (['{"type": "daily", "time": "25:00"}'], "Invalid schedule: time: "),
        (["{nope"], "The schedule is not valid JSON: "),
        ([DAILY_0900_HK, "--after", "soon"], "--after must be an ISO-8601 "),
        ([DAILY_0900_HK, "--count", "0"], "--count must be a whole number "),
        ([DAILY_0900_HK, "--count", "x"], "--count must be a whole number "),
    ],
)
def test_command_line_errors_exit_1_without_traceback(
    args: list[str], message: str
) -> None:
    """Bad input: exit status 1, "CommandError: ..." and no traceback."""
    result = run_manage("preview_schedule", *args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"CommandError: {message}")
    assert result.stdout == ""


def test_help_states_the_json_instant_format() -> None:
    """--help documents the "+00:00" form of the JSON instants."""
    result = run_manage("preview_schedule", "--help")
    assert result.returncode == 0
    assert "2026-01-01T01:00:00+00:00" in " ".join(result.stdout.split())


def test_words_name_the_default_timezone_when_the_document_has_none(
    settings: Any,
) -> None:
    """Without "timezone", the words name JOB_PORTAL_TIMEZONE."""
    settings.JOB_PORTAL_TIMEZONE = "Europe/Paris"
    out = preview('{"type": "daily", "time": "09:00"}', after="2026-01-01", count=1)
    assert out.splitlines() == [
        "Daily at 09:00 (Europe/Paris)",
        "2026-01-01 09:00 CET (+01:00)  =  2026-01-01 08:00 UTC",
    ]
