"""`manage.py import_legacy`: legacy databases of every version, messy data."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from accounts.models import AuditEvent
from jobs import legacy_mapping as rules
from jobs.models import Job, JobRun, JobVersion, RunEvent, Script
from jobs.services import legacy
from jobs.services.approval import script_block_reason
from jobs.tests.legacy_fixtures import SCRIPTS, job, legacy_db, log

pytestmark = pytest.mark.django_db

MEGABYTE_OUTPUT = ("x" * 1023 + "\n") * 1024


def _import(source: Path | str, *args: str, tmp_path: Path) -> dict[str, Any]:
    """Run the command with a report and return the report."""
    report = tmp_path / "report.json"
    call_command(
        "import_legacy", str(source), "--report", str(report), *args, stdout=StringIO()
    )
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def _by_legacy(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {entry["legacy_id"]: entry for entry in report["jobs"]}


def _runs_in_database() -> dict[str, int]:
    counts = Counter(
        JobRun.objects.filter(legacy_id__isnull=False).values_list("status", flat=True)
    )
    return {status: counts.get(status, 0) for status in legacy.STATUSES}


def _messy(path: Path) -> Path:
    """A v4 database with every status, duplicates and messy values."""
    jobs = [
        job(1, "report", schedule_type="daily", schedule_time="01:00", script_args=""),
        job(2, "report", schedule_type="interval", interval_seconds=300),
        job(
            3,
            "args",
            schedule_type="hourly",
            schedule_time="00:15",
            script_args="--to 'a b'",
        ),
        job(4, "quotes", schedule_type="manual", script_args="--name 'open"),
        job(
            5,
            "outside",
            script_path="C:\\tools\\ok.py",
            interval_seconds=60,
            schedule_type="interval",
        ),
        job(
            6,
            "nested",
            script_path=SCRIPTS + "nested\\report.sh",
            schedule_type="weekly",
            schedule_time="19:00",
            schedule_day=6,
            is_active=0,
        ),
    ]
    logs = [
        log(1, 1, "SUCCESS"),
        log(2, 1, "FAILURE", log_output="STDOUT:\n\nSTDERR:\nboom\n\nExit Code: 2"),
        log(3, 1, "FAILURE", log_output="Execution timed out after 300 seconds."),
        log(4, 2, "ERROR", log_output="Script not found: x"),
        log(
            5,
            2,
            "TIMEOUT",
            log_output="Job timed out after 600s. Worker w went offline.",
        ),
        log(6, 2, "UNKNOWN", log_output=None),
        log(7, 3, "RUNNING"),
        log(8, 3, "success", log_output="nul\x00here\r\n"),
        log(9, 3, "weird"),
        log(10, 3, "SUCCESS", log_output=MEGABYTE_OUTPUT),
        log(11, 99, "SUCCESS"),  # orphan: job 99 was deleted
        log(12, 1, "SUCCESS", run_time="2025-12-20 01:00:01.000000"),
        log(13, 1, "SUCCESS", run_time="2025-12-20 01:00:01.000000"),
    ]
    return legacy_db(path, "v4", jobs, logs)


def test_every_job_and_log_is_imported_with_the_report(
    scripts_dir: Path, tmp_path: Path
) -> None:
    report = _import(_messy(tmp_path / "legacy.db"), tmp_path=tmp_path)

    entries = _by_legacy(report)
    assert report["schema_version"] == "v4"
    assert entries[1]["schedule"] == {
        "type": "daily",
        "time": "09:00",
        "timezone": "Asia/Hong_Kong",
    }
    assert entries[2]["name"] == "report [legacy 2]"
    assert report["renamed"] == {"2": "report [legacy 2]"}
    assert entries[3]["args"] == ["--to", "a b"]
    assert entries[6]["script"] == "nested/report.sh"
    assert report["orphan_logs"] == [11]
    assert entries[1]["runs"] == {"succeeded": 3, "failed": 1, "timed_out": 1}
    assert entries[2]["runs"] == {"succeeded": 0, "failed": 2, "timed_out": 1}
    assert entries[3]["runs"] == {"succeeded": 2, "failed": 2, "timed_out": 0}
    assert rules.W_STATUS.format(count=1, status="weird") in entries[3]["warnings"]
    assert report["totals"]["runs"] == _runs_in_database()
    assert report["totals"]["runs_created"] == JobRun.objects.count() == 12


def test_imported_jobs_are_inactive_without_activate(
    scripts_dir: Path, tmp_path: Path
) -> None:
    _import(_messy(tmp_path / "legacy.db"), tmp_path=tmp_path)

    assert list(Job.objects.filter(is_active=True)) == []
    assert Job.objects.count() == 6


def test_activate_takes_the_legacy_flag_except_where_the_rules_say(
    scripts_dir: Path, tmp_path: Path
) -> None:
    report = _import(_messy(tmp_path / "legacy.db"), "--activate", tmp_path=tmp_path)

    active = {e["legacy_id"] for e in report["jobs"] if e["is_active"]}
    # 4: unbalanced quotes; 5: outside the scripts directory; 6: inactive.
    assert active == {1, 2, 3}
    assert set(
        Job.objects.filter(is_active=True).values_list("legacy_id", flat=True)
    ) == {
        1,
        2,
        3,
    }
    assert Job.objects.get(legacy_id=1).next_run_at is not None


def test_a_path_outside_the_scripts_directory_is_reported_and_inactive(
    scripts_dir: Path, tmp_path: Path
) -> None:
    report = _import(_messy(tmp_path / "legacy.db"), "--activate", tmp_path=tmp_path)

    entry = _by_legacy(report)[5]
    assert entry["is_active"] is False
    assert entry["legacy_script"] == "C:\\tools\\ok.py"
    assert rules.W_OUTSIDE.format(path="C:\\tools\\ok.py") in entry["warnings"]


def test_unsplittable_arguments_keep_the_raw_string(
    scripts_dir: Path, tmp_path: Path
) -> None:
    _import(_messy(tmp_path / "legacy.db"), "--activate", tmp_path=tmp_path)

    imported = Job.objects.get(legacy_id=4)
    assert imported.args == []
    assert imported.is_active is False
    assert "Legacy arguments: --name 'open" in imported.description


def test_output_is_kept_exactly_but_null_and_nul(
    scripts_dir: Path, tmp_path: Path
) -> None:
    _import(_messy(tmp_path / "legacy.db"), tmp_path=tmp_path)

    assert JobRun.objects.get(legacy_id=8).output == "nul\ufffdhere\r\n"
    assert JobRun.objects.get(legacy_id=6).output == ""
    assert JobRun.objects.get(legacy_id=10).output == MEGABYTE_OUTPUT


def test_logs_at_the_same_instant_become_attempts(
    scripts_dir: Path, tmp_path: Path
) -> None:
    _import(_messy(tmp_path / "legacy.db"), tmp_path=tmp_path)

    attempts = [JobRun.objects.get(legacy_id=i).attempt for i in (1, 12, 13)]
    assert attempts == [1, 2, 3]


def test_statuses_reasons_and_no_run_events(scripts_dir: Path, tmp_path: Path) -> None:
    _import(_messy(tmp_path / "legacy.db"), tmp_path=tmp_path)

    timed_out = JobRun.objects.get(legacy_id=3)
    assert (timed_out.status, timed_out.reason_code) == ("timed_out", "timed_out")
    failed = JobRun.objects.get(legacy_id=4)
    assert (failed.status, failed.reason, failed.reason_code) == (
        "failed",
        "Legacy status ERROR.",
        "legacy_failed",
    )
    assert RunEvent.objects.count() == 0


def test_jobs_are_saved_as_versions_audited_by_import_legacy(
    scripts_dir: Path, tmp_path: Path
) -> None:
    _import(_messy(tmp_path / "legacy.db"), tmp_path=tmp_path)

    imported = Job.objects.get(legacy_id=1)
    version = JobVersion.objects.get(job=imported)
    assert version.author is not None
    assert version.author.username == "import_legacy"
    event = AuditEvent.objects.get(
        target_type="jobs.job", target_id=str(imported.pk), action="create"
    )
    assert event.actor_repr == "import_legacy"


@pytest.mark.usefixtures("require_approval")
def test_imported_scripts_wait_for_review_and_block_runs(
    scripts_dir: Path, tmp_path: Path, now: datetime
) -> None:
    _import(_messy(tmp_path / "legacy.db"), "--activate", tmp_path=tmp_path)

    statuses = dict(Script.objects.values_list("path", "status"))
    assert statuses == {"ok.py": "pending", "nested/report.sh": "pending"}
    imported = Job.objects.get(legacy_id=1)
    reason = script_block_reason(script_path=imported.script, now=now)
    assert reason is not None
    assert "pending review" in reason


def test_a_second_import_brings_only_new_logs(
    scripts_dir: Path, tmp_path: Path
) -> None:
    path = _messy(tmp_path / "legacy.db")
    first = _import(path, tmp_path=tmp_path)
    job_ids = {e["legacy_id"]: e["job_id"] for e in first["jobs"]}
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO job_execution_logs VALUES "
            "(14, 1, '2025-12-21 01:00:00.000000', 'SUCCESS', 'new')"
        )
    connection.close()

    second = _import(path, tmp_path=tmp_path)

    assert {e["legacy_id"]: e["job_id"] for e in second["jobs"]} == job_ids
    assert second["totals"]["jobs_created"] == 0
    assert second["totals"]["runs_created"] == 1
    assert second["totals"]["runs"] == _runs_in_database()
    assert Job.objects.count() == 6
    assert JobVersion.objects.count() == 6
    assert JobRun.objects.get(legacy_id=14).output == "new"


def test_a_failure_halfway_writes_nothing(scripts_dir: Path, tmp_path: Path) -> None:
    path = legacy_db(
        tmp_path / "legacy.db",
        "v2",
        [job(1, "a", schedule_type="interval", interval_seconds=60)],
        [log(i, 1) for i in range(1, 500)] + [log(500, 1, run_time="not a time")],
    )

    with pytest.raises(CommandError, match="nothing was written: Log 500: run_time"):
        call_command("import_legacy", str(path), stdout=StringIO())

    assert Job.objects.count() == 0
    assert JobRun.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_dry_run_writes_nothing_and_reports_the_same(
    scripts_dir: Path, tmp_path: Path
) -> None:
    path = _messy(tmp_path / "legacy.db")
    dry = _import(path, "--dry-run", tmp_path=tmp_path)

    assert Job.objects.count() == 0
    assert JobRun.objects.count() == 0
    assert {e["job_id"] for e in dry["jobs"]} == {None}
    real = _import(path, tmp_path=tmp_path)
    assert dry["totals"] == real["totals"]


def test_a_job_whose_script_is_missing_is_left_out_and_reported(
    scripts_dir: Path, tmp_path: Path
) -> None:
    path = legacy_db(
        tmp_path / "legacy.db",
        "v1",
        [job(1, "gone", script_path="/srv/app/scripts/gone.py", interval_seconds=60)],
        [log(1, 1), log(2, 1)],
    )

    report = _import(path, tmp_path=tmp_path)

    entry = report["jobs"][0]
    assert entry["job_id"] is None
    assert entry["warnings"][-1].startswith("not imported: script: ")
    assert entry["warnings"][-1].endswith("its 2 log(s) were left out")
    assert report["totals"]["logs_left_out"] == 2
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("layout", "version"),
    [
        ("v1", "v1"),
        ("v1+v2", "v2"),
        ("v2", "v2"),
        ("v3", "v3"),
        ("v3+args", "v4"),
        ("v4", "v4"),
    ],
)
def test_every_schema_version_imports(
    scripts_dir: Path, tmp_path: Path, layout: str, version: str
) -> None:
    row = job(1, "a", interval_seconds=120, next_run="2025-12-20 01:02:03.456789")
    if layout != "v1":
        row |= {"schedule_type": "daily", "schedule_time": "16:00"}
    path = legacy_db(tmp_path / "legacy.db", layout, [row], [log(1, 1)])

    report = _import(path, tmp_path=tmp_path)

    assert report["schema_version"] == version
    expected = (
        {"type": "interval", "seconds": 120, "start": "2025-12-20T01:02:03Z"}
        if layout == "v1"
        else {"type": "daily", "time": "00:00", "timezone": "Asia/Hong_Kong"}
    )
    imported = Job.objects.get(legacy_id=1)
    assert [s.document for s in imported.schedules.all()] == [expected]
    assert imported.timezone == "Asia/Hong_Kong"


def test_v3_leftovers_are_ignored_and_work_in_flight_reported(
    scripts_dir: Path, tmp_path: Path
) -> None:
    dispatch = (
        "INSERT INTO job_dispatch (id, job_id, created_at, status, retry_count) "
        "VALUES ({id}, 1, '2025-12-18 00:00:00', '{status}', 0)"
    )
    path = legacy_db(
        tmp_path / "legacy.db",
        "v3",
        [job(1, "a", schedule_type="interval", interval_seconds=60)],
        [log(1, 1)],
        extra_sql=[
            dispatch.format(id=1, status="PENDING"),
            dispatch.format(id=2, status="IN_PROGRESS"),
            dispatch.format(id=3, status="COMPLETED"),
            "CREATE TABLE alembic_version (version_num VARCHAR(32))",
        ],
    )

    report = _import(path, tmp_path=tmp_path)

    assert report["ignored_tables"] == [
        "alembic_version",
        "job_dispatch",
        "worker_registration",
    ]
    assert report["work_in_flight"] == 2
    assert legacy.NOTE_IN_FLIGHT.format(count=2) in report["notes"]


def test_the_summary_lists_the_warnings(scripts_dir: Path, tmp_path: Path) -> None:
    out = StringIO()
    call_command("import_legacy", str(_messy(tmp_path / "l.db")), stdout=out)

    text = out.getvalue()
    assert text.startswith("Schema v4 (created by v4): 6 legacy jobs, 6 created")
    assert "legacy job 5: script path outside" in text


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/nonexistent/legacy.db", "no such file"),
        ("mysql://x/y", "only SQLite files and sqlite:// or postgres:// URLs"),
    ],
)
def test_a_source_that_cannot_be_opened_is_named(source: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("import_legacy", source, stdout=StringIO())


def test_a_database_without_the_legacy_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()

    with pytest.raises(CommandError, match="table 'scheduled_jobs' is missing"):
        call_command("import_legacy", str(path), stdout=StringIO())


# --- the SQL Server-like v2 shape, on PostgreSQL ------------------------------

PG_SCHEMA = "legacy_fixture_sqlserver"
PG_DDL = (
    f"CREATE SCHEMA {PG_SCHEMA}",
    f"""CREATE TABLE {PG_SCHEMA}.scheduled_jobs (
        id INT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name VARCHAR(255) NOT NULL, script_path VARCHAR(1024) NOT NULL,
        interval_seconds INT NOT NULL,
        schedule_type VARCHAR(50) NOT NULL DEFAULT 'interval',
        schedule_time VARCHAR(10), schedule_day INT,
        is_active BOOLEAN NOT NULL DEFAULT TRUE, next_run TIMESTAMP)""",
    f"""CREATE TABLE {PG_SCHEMA}.job_execution_logs (
        id INT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        job_id INT NOT NULL REFERENCES {PG_SCHEMA}.scheduled_jobs (id)
            ON DELETE CASCADE,
        run_time TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
        status VARCHAR(50) NOT NULL, log_output TEXT)""",
)
PG_URL = "postgres://postgres@127.0.0.1:5432/jobportal_legacy"


@pytest.fixture
def pg_legacy() -> Iterator[str]:
    """A SQL Server-shaped v2 legacy database in a schema of our own database."""
    psycopg = pytest.importorskip("psycopg")
    try:
        connection = psycopg.connect(PG_URL, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL for the legacy fixture is not reachable")
    connection.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
    for sql in PG_DDL:
        connection.execute(sql)
    jobs = [
        job(
            1,
            "weekly",
            schedule_type="weekly",
            schedule_time="16:05",
            schedule_day=4,
            is_active=True,
        ),
        job(
            2,
            "weekly",
            schedule_type="monthly",
            schedule_time="23:00",
            schedule_day=30,
            is_active=True,
        ),
    ]
    with connection.cursor() as cursor:
        for row in jobs:
            cursor.execute(
                f"INSERT INTO {PG_SCHEMA}.scheduled_jobs ({', '.join(row)}) "  # noqa: S608
                f"VALUES ({', '.join('%s' for _ in row)})",
                tuple(row.values()),
            )
        for i in range(1, 451):
            cursor.execute(
                f"INSERT INTO {PG_SCHEMA}.job_execution_logs "  # noqa: S608
                "(id, job_id, run_time, status, log_output) VALUES (%s, %s, "
                "'2025-12-13 08:00:00'::timestamp + %s * interval '1 minute', %s, %s)",
                (i, 1 + i % 2, i, "SUCCESS" if i % 3 else "FAILURE", f"out {i}"),
            )
    yield f"{PG_URL}?options=-csearch_path%3D{PG_SCHEMA}"
    connection.execute(f"DROP SCHEMA {PG_SCHEMA} CASCADE")
    connection.close()


def test_a_sql_server_shaped_database_on_postgresql_imports(
    scripts_dir: Path, tmp_path: Path, pg_legacy: str
) -> None:
    report = _import(pg_legacy, "--activate", tmp_path=tmp_path)

    entries = _by_legacy(report)
    assert report["schema_version"] == "v2"
    assert entries[1]["schedule"]["weekdays"] == ["sat"]
    assert entries[2]["schedule"] == {
        "type": "monthly",
        "day": 31,
        "time": "07:00",
        "timezone": "Asia/Hong_Kong",
    }
    assert rules.W_CARRY.format(day=31) in entries[2]["warnings"]
    assert report["totals"]["runs"] == _runs_in_database()
    assert report["totals"]["runs"] == {"succeeded": 300, "failed": 150, "timed_out": 0}
    first = JobRun.objects.get(legacy_id=1)
    assert first.scheduled_for.isoformat() == "2025-12-13T08:01:00+00:00"


# --- eras and fire times ----------------------------------------------------

ERAS = [
    # (era, stored row, new schedule): the stored value is what ran.
    ("A: no offset, 09:00 typed", ("daily", "09:00", None), {"time": "17:00"}),
    ("B: +07:37, 09:00 typed", ("daily", "01:23", None), {"time": "09:23"}),
    ("C: +08:00, 09:00 typed", ("daily", "01:00", None), {"time": "09:00"}),
    (
        "D: +07:37, Monday 07:30 typed",
        ("weekly", "23:53", 6),
        {"weekdays": ["mon"], "time": "07:53"},
    ),
    (
        "E: +08:00, day 15 00:30 typed",
        ("monthly", "16:30", 14),
        {"day": 15, "time": "00:30"},
    ),
]


@pytest.mark.parametrize(("era", "stored", "expected"), ERAS)
def test_every_era_keeps_the_time_the_legacy_system_ran(
    scripts_dir: Path,
    tmp_path: Path,
    era: str,
    stored: tuple[str, str, int | None],
    expected: dict[str, Any],
) -> None:
    kind, time, day = stored
    row = job(1, era, schedule_type=kind, schedule_time=time, schedule_day=day)
    path = legacy_db(tmp_path / "legacy.db", "v2", [row])

    report = _import(path, tmp_path=tmp_path)

    assert report["jobs"][0]["schedule"] == {"type": kind} | expected | {
        "timezone": "Asia/Hong_Kong"
    }


@pytest.mark.parametrize(
    ("stored", "next_run_at"),
    [
        # 2026-03-01 00:00 UTC is a Sunday, 08:00 in Hong Kong.
        (("daily", "01:00", None), "2026-03-01T01:00:00+00:00"),
        (("weekly", "19:00", 6), "2026-03-01T19:00:00+00:00"),
        (("monthly", "21:00", 31), "2026-03-31T21:00:00+00:00"),
        (("hourly", "00:45", None), "2026-03-01T00:45:00+00:00"),
    ],
)
def test_activated_jobs_fire_when_the_legacy_executor_did(
    scripts_dir: Path,
    tmp_path: Path,
    frozen_clock: Any,
    stored: tuple[str, str, int | None],
    next_run_at: str,
) -> None:
    kind, time, day = stored
    row = job(1, "a", schedule_type=kind, schedule_time=time, schedule_day=day)
    path = legacy_db(tmp_path / "legacy.db", "v2", [row])

    _import(path, "--activate", tmp_path=tmp_path)

    imported = Job.objects.get(legacy_id=1)
    assert imported.next_run_at is not None
    assert imported.next_run_at.isoformat() == next_run_at


def test_messy_names_are_renamed_deterministically(
    scripts_dir: Path, tmp_path: Path
) -> None:
    long_name = "n" * 300
    jobs = [
        job(1, "  spaced  ", interval_seconds=60),
        job(2, long_name, interval_seconds=60),
        job(3, "", interval_seconds=60),
        job(4, "nul\x00name", interval_seconds=60),
        job(5, "  spaced  ", interval_seconds=60),
    ]
    path = legacy_db(tmp_path / "legacy.db", "v1", jobs)

    report = _import(path, tmp_path=tmp_path)

    assert report["renamed"] == {
        "2": "n" * 189 + " [legacy 2]",
        "3": "legacy job 3",
        "4": "nul\ufffdname",
        "5": "  spaced   [legacy 5]",
    }
    assert _by_legacy(report)[1]["name"] == "  spaced  "
    assert Job.objects.count() == 5


def test_era_bd_converts_the_named_jobs_at_0737(
    scripts_dir: Path, tmp_path: Path
) -> None:
    jobs = [
        job(1, "b", schedule_type="daily", schedule_time="01:23"),
        job(2, "c", schedule_type="daily", schedule_time="01:23"),
    ]
    path = legacy_db(tmp_path / "legacy.db", "v2", jobs)

    report = _import(path, "--era-bd", "1", tmp_path=tmp_path)

    times = {e["legacy_id"]: e["schedule"]["time"] for e in report["jobs"]}
    assert times == {1: "09:00", 2: "09:23"}


def test_era_bd_refuses_what_is_not_a_list_of_ids(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--era-bd takes legacy job ids"):
        call_command("import_legacy", "x.db", "--era-bd", "1,two", stdout=StringIO())


def test_a_database_error_halfway_writes_nothing(
    scripts_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def runs_end_then_clash(**kwargs: Any) -> list[JobRun]:
        calls.append(1)
        if len(calls) == 2:
            raise IntegrityError("UNIQUE constraint failed: jobs_jobrun.legacy_id")
        return real_runs_end(**kwargs)

    real_runs_end = legacy.runs_end
    monkeypatch.setattr(legacy, "runs_end", runs_end_then_clash)
    path = legacy_db(
        tmp_path / "legacy.db",
        "v4",
        [job(1, "a", schedule_type="interval", interval_seconds=60)],
        [log(i, 1) for i in range(1, 120)],
    )

    with pytest.raises(CommandError, match=legacy.MSG_CONCURRENT):
        call_command("import_legacy", str(path), stdout=StringIO())

    assert len(calls) == 2
    assert (Job.objects.count(), JobRun.objects.count()) == (0, 0)
