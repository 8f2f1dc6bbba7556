"""The legacy mapping rules (pure): versions, schedules, paths, args, logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobs import legacy_mapping as rules

V1 = ["id", "name", "script_path", "interval_seconds", "is_active", "next_run"]
V2_COLUMNS = ["schedule_type", "schedule_time", "schedule_day"]
V2 = [*V1[:4], *V2_COLUMNS, "is_active", "next_run"]
V3 = [*V2, "last_dispatched_at", "dispatch_lock_until"]
V4 = [*V2[:8], "script_args", "next_run"]


@pytest.mark.parametrize(
    ("columns", "version", "layout"),
    [
        (V1, "v1", "v1"),
        ([*V1, *V2_COLUMNS], "v2", "v1 with the v2 columns added by hand"),
        (V2, "v2", "v2"),
        (V3, "v3", "v3, or a v2 file upgraded to v3"),
        ([*V3, "script_args"], "v4", "script_args added by hand"),
        (V4, "v4", "created by v4"),
        ([c.upper() for c in V4], "v4", "created by v4"),
    ],
)
def test_schema_version_comes_from_the_columns_by_name(
    columns: list[str], version: str, layout: str
) -> None:
    assert rules.schema_detect(columns) == rules.Schema(version, layout)


def test_a_table_without_a_needed_column_is_refused_by_name() -> None:
    with pytest.raises(rules.LegacyDataError, match=r"scheduled_jobs\.script_path"):
        rules.schema_detect(["id", "name", "interval_seconds", "is_active"])


def _schedule(kind: str | None, time: Any = None, day: Any = None) -> dict[str, Any]:
    row = {"schedule_type": kind, "schedule_time": time, "schedule_day": day}
    document = rules.schedule_map(row | {"interval_seconds": 0}, [])
    assert document is not None
    return document


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (("daily", "01:00", None), {"type": "daily", "time": "09:00"}),
        (("daily", "16:00", None), {"type": "daily", "time": "00:00"}),
        (("daily", "23:59", None), {"type": "daily", "time": "07:59"}),
        (("daily", "", None), {"type": "daily", "time": "08:00"}),
        (
            ("weekly", "19:00", 6),
            {"type": "weekly", "weekdays": ["mon"], "time": "03:00"},
        ),
        (
            ("weekly", "18:00", 5),
            {"type": "weekly", "weekdays": ["sun"], "time": "02:00"},
        ),
        (
            ("weekly", "16:05", 4),
            {"type": "weekly", "weekdays": ["sat"], "time": "00:05"},
        ),
        (
            ("weekly", "01:00", None),
            {"type": "weekly", "weekdays": ["mon"], "time": "09:00"},
        ),
        (("monthly", "21:00", 31), {"type": "monthly", "day": 1, "time": "05:00"}),
        (("monthly", "16:30", 14), {"type": "monthly", "day": 15, "time": "00:30"}),
        (("monthly", "23:00", 30), {"type": "monthly", "day": 31, "time": "07:00"}),
        (("monthly", "12:00", 31), {"type": "monthly", "day": 31, "time": "20:00"}),
        (("monthly", "01:00", None), {"type": "monthly", "day": 1, "time": "09:00"}),
    ],
)
def test_fixed_times_become_hong_kong_wall_clock(
    stored: tuple[str, str, int | None], expected: dict[str, Any]
) -> None:
    assert _schedule(*stored) == expected | {"timezone": "Asia/Hong_Kong"}


@pytest.mark.parametrize(
    ("kind", "time", "expected"),
    [
        ("hourly", "00:45", {"type": "hourly", "minute": 45}),
        ("hourly", "45", {"type": "hourly", "minute": 45}),
        ("hourly", None, {"type": "hourly", "minute": 0}),
        (" Manual ", None, {"type": "manual"}),
        (None, None, {"type": "interval", "seconds": 0}),
    ],
)
def test_hourly_is_never_shifted_and_types_are_trimmed(
    kind: str | None, time: str | None, expected: dict[str, Any]
) -> None:
    row = {"schedule_type": kind, "schedule_time": time, "interval_seconds": 3600}
    if expected["type"] == "interval":
        expected = {"type": "interval", "seconds": 3600}
    assert rules.schedule_map(row, []) == expected


def test_an_interval_keeps_its_phase_from_next_run() -> None:
    """Issue 16, item 3: the legacy next_run becomes the interval's start."""
    row = {"interval_seconds": 86400, "next_run": "2025-12-20T06:10:00"}
    assert rules.schedule_map(row, []) == {
        "type": "interval",
        "seconds": 86400,
        "start": "2025-12-20T06:10:00Z",
    }
    unreadable = {"interval_seconds": 60, "next_run": "soon"}
    assert rules.schedule_map(unreadable, []) == {"type": "interval", "seconds": 60}


def test_a_v1_row_is_an_interval_job() -> None:
    assert rules.schedule_map({"interval_seconds": 300}, []) == {
        "type": "interval",
        "seconds": 300,
    }


def test_a_monthly_carry_into_a_short_day_is_reported() -> None:
    warnings: list[str] = []
    rules.schedule_map(
        {"schedule_type": "monthly", "schedule_time": "23:00", "schedule_day": 30},
        warnings,
    )
    assert rules.W_CARRY.format(day=31) in warnings


def test_the_era_warning_names_the_time_typed_at_plus_0737() -> None:
    warnings: list[str] = []
    rules.schedule_map({"schedule_type": "daily", "schedule_time": "01:23"}, warnings)
    assert warnings == [
        rules.W_ERA.format(stored="01:23", local="09:23", era_local="09:00")
    ]


@pytest.mark.parametrize(
    ("row", "warning"),
    [
        ({"schedule_type": "yearly"}, rules.W_UNKNOWN_TYPE.format(value="yearly")),
        ({"interval_seconds": 0}, rules.W_BAD_INTERVAL.format(value=0)),
        (
            {"schedule_type": "daily", "schedule_time": "9am"},
            rules.W_BAD_TIME.format(value="9am"),
        ),
        (
            {"schedule_type": "weekly", "schedule_time": "01:00", "schedule_day": 7},
            rules.W_BAD_DAY.format(value=7),
        ),
    ],
)
def test_an_unusable_schedule_becomes_manual_and_inactive(
    row: dict[str, Any], warning: str
) -> None:
    mapped = rules.job_map(
        {"id": 1, "name": "x", "script_path": "/p/app/scripts/a.py", "is_active": 1}
        | row
    )
    assert mapped.schedule == {"type": "manual"}
    assert mapped.is_importable_active is False
    assert warning in mapped.warnings


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/portal/app/scripts/report.py", ("report.py", True)),
        ("C:\\Users\\me\\portal\\app\\scripts\\report.py", ("report.py", True)),
        (
            "C:\\x\\APP\\Scripts\\reports\\monthly_summary.py",
            ("reports/monthly_summary.py", True),
        ),
        ("/a/app/scripts/b/app/scripts/c.sh", ("c.sh", True)),
        ("scripts/report.py", ("scripts/report.py", False)),
        ("/home/me/report.py", ("/home/me/report.py", False)),
        ("/srv/app/scripts/", ("/srv/app/scripts/", False)),
        ("/srv/app/scripts/../../etc/x.py", ("/srv/app/scripts/../../etc/x.py", False)),
    ],
)
def test_script_paths_are_made_relative_to_the_scripts_directory(
    path: str, expected: tuple[str, bool]
) -> None:
    assert rules.script_map(path) == expected


def test_a_named_legacy_scripts_directory_is_used_first() -> None:
    assert rules.script_map("D:\\jobs\\tools\\x.py", legacy_dir="d:\\jobs\\") == (
        "tools/x.py",
        True,
    )


def test_arguments_split_shell_like() -> None:
    assert rules.args_split("--to 'a b' \"c d\" e\\ f") == (
        ["--to", "a b", "c d", "e f"],
        None,
    )
    assert rules.args_split(None) == ([], None)
    assert rules.args_split("   ") == ([], None)


def test_unbalanced_quotes_keep_the_raw_string_and_make_the_job_inactive() -> None:
    mapped = rules.job_map(
        {
            "id": 3,
            "name": "x",
            "script_path": "/p/app/scripts/a.py",
            "interval_seconds": 60,
            "is_active": 1,
            "script_args": "--name 'unclosed",
        }
    )
    assert mapped.args == []
    assert mapped.args_raw == "--name 'unclosed"
    assert mapped.is_importable_active is False
    assert mapped.warnings == [
        rules.W_ARGS.format(problem="No closing quotation", raw="--name 'unclosed")
    ]


@pytest.mark.parametrize(
    ("status", "output", "expected"),
    [
        ("SUCCESS", "", (rules.SUCCEEDED, True)),
        (" success ", "", (rules.SUCCEEDED, True)),
        ("TIMEOUT", "Job timed out after 600s.", (rules.TIMED_OUT, True)),
        ("FAILURE", "Execution timed out after 300 seconds.", (rules.TIMED_OUT, True)),
        ("FAILURE", "Execution timed out after 600 seconds", (rules.TIMED_OUT, True)),
        ("FAILURE", "STDOUT:\n\nSTDERR:\nboom", (rules.FAILED, True)),
        ("ERROR", "Script not found: x", (rules.FAILED, True)),
        ("UNKNOWN", "", (rules.FAILED, True)),
        ("RUNNING", "", (rules.FAILED, True)),
        ("weird", "", (rules.FAILED, False)),
        (None, "", (rules.FAILED, False)),
    ],
)
def test_statuses_map_case_insensitively(
    status: str | None, output: str, expected: tuple[str, bool]
) -> None:
    assert rules.status_map(status, output) == expected


def test_output_is_kept_except_null_and_nul() -> None:
    assert rules.output_clean(None) == ""
    assert rules.output_clean("a\x00b\r\n\u00e9") == "a\ufffdb\r\n\u00e9"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-19 12:00:00.123456", datetime(2025, 12, 19, 12, 0, 0, 123456, UTC)),
        ("2025-12-19T12:00:00", datetime(2025, 12, 19, 12, tzinfo=UTC)),
        ("2025-12-19 12:00", datetime(2025, 12, 19, 12, tzinfo=UTC)),
        ("2025-12-19T20:00:00+0800", datetime(2025, 12, 19, 12, tzinfo=UTC)),
        ("2025-12-19T20:00:00+08:00", datetime(2025, 12, 19, 12, tzinfo=UTC)),
        ("2025-12-19T12:00:00Z", datetime(2025, 12, 19, 12, tzinfo=UTC)),
        (datetime(2025, 12, 19, 12), datetime(2025, 12, 19, 12, tzinfo=UTC)),  # noqa: DTZ001
    ],
)
def test_run_times_are_read_as_utc(value: Any, expected: datetime) -> None:
    assert rules.run_time_parse(value, legacy_id=1) == expected


def test_a_bad_run_time_names_the_log() -> None:
    with pytest.raises(rules.LegacyDataError, match="Log 7: run_time 'yesterday'"):
        rules.run_time_parse("yesterday", legacy_id=7)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        # Era B: 09:00 typed, stored at +07:37 as 01:23.
        (("daily", "01:23", None), {"type": "daily", "time": "09:00"}),
        # Era D: Monday 07:30 typed, stored as Sunday 23:53.
        (
            ("weekly", "23:53", 6),
            {"type": "weekly", "weekdays": ["mon"], "time": "07:30"},
        ),
        # Era D: day 1 07:00 typed, stored as day 31 23:23.
        (("monthly", "23:23", 31), {"type": "monthly", "day": 1, "time": "07:00"}),
    ],
)
def test_an_era_b_or_d_job_can_be_converted_at_0737_on_request(
    stored: tuple[str, str, int | None], expected: dict[str, Any]
) -> None:
    kind, time, day = stored
    row = {
        "id": 9,
        "name": "x",
        "script_path": "/p/app/scripts/a.py",
        "is_active": 1,
        "schedule_type": kind,
        "schedule_time": time,
        "schedule_day": day,
    }

    plain = rules.job_map(row)
    asked = rules.job_map(row, era_bd_ids=frozenset({9}))

    assert asked.schedule == expected | {"timezone": "Asia/Hong_Kong"}
    assert plain.schedule != asked.schedule
    assert asked.warnings[-1].startswith("stored " + time + " UTC converted at +07:37")


def test_a_pending_run_now_of_a_manual_job_is_reported() -> None:
    warnings: list[str] = []
    document = rules.schedule_map(
        {"schedule_type": "manual", "next_run": "2025-12-19 10:00:00.000000"}, warnings
    )
    assert document == {"type": "manual"}
    assert warnings == [rules.W_RUN_NOW]
