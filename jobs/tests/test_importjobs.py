"""`manage.py importjobs`: files, stdin, summary, errors without tracebacks."""

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.documents import documents_dump
from jobs.models import Job, Schedule
from jobs.services.jobs import job_save
from jobs.services.transfer import jobs_export

DAILY_0900 = {"type": "daily", "time": "09:00"}
DOCUMENTS: list[dict[str, Any]] = [
    {"name": "alpha", "script": "ok.py", "schedules": [DAILY_0900]},
    {
        "name": "beta",
        "script": "nested/report.sh",
        "timezone": "UTC",
        "schedules": [{"type": "cron", "expression": "*/15 * * * *"}],
        "retry": {"max_attempts": 3},
    },
]
TIME_25 = "Time must be 'HH:MM' in 24-hour form (00:00 to 23:59), got '25:00'."


def import_file(path: Path | str, **options: Any) -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("importjobs", str(path), stdout=out, **options)
    return out.getvalue()


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write `text` to a file in `tmp_path` and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def row_counts() -> tuple[int, int]:
    """Return how many jobs and schedules the database holds."""
    return Job.objects.count(), Schedule.objects.count()


def run_manage(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `manage.py` in a real subprocess, bounded in time."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


# --- importing -----------------------------------------------------------------


@pytest.mark.django_db
def test_json_file_creates_the_jobs(scripts_dir: Path, tmp_path: Path) -> None:
    """A .json file of documents: both jobs created, summary printed."""
    path = write(tmp_path, "jobs.json", json.dumps(DOCUMENTS))
    assert import_file(path) == "Created 2, updated 0, unchanged 0\n"
    job = Job.objects.get(name="beta")
    assert (job.timezone, job.retry_max_attempts) == ("UTC", 3)
    assert job.next_run_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["jobs.yaml", "jobs.yml", "jobs.txt"])
def test_yaml_file_creates_the_jobs(
    scripts_dir: Path, tmp_path: Path, name: str
) -> None:
    """YAML by extension (.yaml, .yml) or, failing that, by content."""
    path = write(tmp_path, name, documents_dump(DOCUMENTS, fmt="yaml"))
    assert import_file(path) == "Created 2, updated 0, unchanged 0\n"
    assert sorted(Job.objects.values_list("name", flat=True)) == ["alpha", "beta"]


@pytest.mark.django_db
def test_jobs_wrapper_object_is_accepted(scripts_dir: Path, tmp_path: Path) -> None:
    """{"jobs": [...]} works as well as a bare list."""
    path = write(tmp_path, "jobs.json", json.dumps({"jobs": DOCUMENTS}))
    assert import_file(path) == "Created 2, updated 0, unchanged 0\n"


@pytest.mark.django_db
def test_stdin_is_read_for_a_dash(
    scripts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FILE "-" reads standard input; the format comes from the content."""
    monkeypatch.setattr(
        sys, "stdin", io.StringIO(documents_dump(DOCUMENTS, fmt="yaml"))
    )
    assert import_file("-") == "Created 2, updated 0, unchanged 0\n"
    assert Job.objects.count() == 2


@pytest.mark.django_db
def test_second_import_reports_everything_unchanged(
    scripts_dir: Path, tmp_path: Path
) -> None:
    """Importing the same file twice is idempotent."""
    path = write(tmp_path, "jobs.json", json.dumps(DOCUMENTS))
    import_file(path)
    assert import_file(path) == "Created 0, updated 0, unchanged 2\n"


@pytest.mark.django_db
def test_changed_job_is_updated(scripts_dir: Path, tmp_path: Path) -> None:
    """A changed document updates the job of that name in place."""
    path = write(tmp_path, "jobs.json", json.dumps(DOCUMENTS))
    import_file(path)
    pk = Job.objects.get(name="alpha").pk
    changed = [{**DOCUMENTS[0], "priority": 9}, DOCUMENTS[1]]
    write(tmp_path, "jobs.json", json.dumps(changed))
    assert import_file(path) == "Created 0, updated 1, unchanged 1\n"
    assert Job.objects.get(pk=pk).priority == 9


@pytest.mark.django_db
def test_dry_run_writes_nothing(scripts_dir: Path, tmp_path: Path) -> None:
    """--dry-run reports what would happen and says nothing was written."""
    path = write(tmp_path, "jobs.json", json.dumps(DOCUMENTS))
    out = import_file(path, dry_run=True)
    assert out == "Created 2, updated 0, unchanged 0 (dry run: nothing written)\n"
    assert row_counts() == (0, 0)


@pytest.mark.django_db
def test_verbose_lists_each_job(scripts_dir: Path, tmp_path: Path) -> None:
    """-v 2 names each job and what happened to it."""
    path = write(tmp_path, "jobs.json", json.dumps(DOCUMENTS))
    assert import_file(path, verbosity=2) == (
        "created: alpha\ncreated: beta\nCreated 2, updated 0, unchanged 0\n"
    )


@pytest.mark.django_db
def test_export_then_import_round_trips_through_files(
    scripts_dir: Path, tmp_path: Path, now: datetime
) -> None:
    """exportjobs' output imported into an empty database: the same jobs."""
    for name, zone in (("hk", "Asia/Hong_Kong"), ("ny", "America/New_York")):
        job = Job(name=name, script="ok.py", timezone=zone, env={"Z": "1", "A": "2"})
        job_save(job=job, schedules=[DAILY_0900, {"type": "manual"}], now=now)
    for fmt in ("json", "yaml"):
        path = tmp_path / f"jobs.{fmt}"
        call_command("exportjobs", output=str(path), stdout=StringIO())
        exported = jobs_export()
        Job.objects.all().delete()
        assert import_file(path) == "Created 2, updated 0, unchanged 0\n"
        assert jobs_export() == exported


# --- errors --------------------------------------------------------------------


@pytest.mark.django_db
def test_invalid_job_writes_nothing_and_is_named(
    scripts_dir: Path, tmp_path: Path
) -> None:
    """A bad job in the middle: nothing written, the error names job and field."""
    bad = {
        "name": "nightly-export",
        "script": "ok.py",
        "schedules": [DAILY_0900, {"type": "daily", "time": "25:00"}],
    }
    path = write(tmp_path, "jobs.json", json.dumps([DOCUMENTS[0], bad, DOCUMENTS[1]]))
    with pytest.raises(CommandError) as caught:
        import_file(path)
    assert str(caught.value) == (
        "Invalid job documents; nothing was written:\n"
        f'  Job "nightly-export": schedules: schedule 2: time: {TIME_25}'
    )
    assert row_counts() == (0, 0)


def test_missing_file_is_a_command_error(tmp_path: Path) -> None:
    """An unreadable path is reported with the system's reason."""
    path = tmp_path / "missing.json"
    with pytest.raises(CommandError) as caught:
        import_file(path)
    assert str(caught.value) == f"Cannot read {path}: No such file or directory."


def test_directory_is_a_command_error(tmp_path: Path) -> None:
    """A folder instead of a file is reported too."""
    with pytest.raises(CommandError) as caught:
        import_file(tmp_path)
    assert str(caught.value) == f"Cannot read {tmp_path}: Is a directory."


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    """The parser's position is passed on."""
    path = write(tmp_path, "jobs.json", '[\n  {"name": "a"\n]')
    with pytest.raises(CommandError) as caught:
        import_file(path)
    assert str(caught.value) == (
        f"{path}: Not valid JSON: line 3 column 1: Expecting ',' delimiter."
    )


def test_bad_yaml_names_line_and_column(tmp_path: Path) -> None:
    """YAML errors carry the line too."""
    path = write(tmp_path, "jobs.yaml", "- name: a\n  script: ok.py\n bad: [\n")
    with pytest.raises(CommandError) as caught:
        import_file(path)
    assert str(caught.value).startswith(f"{path}: Not valid YAML: line 3 column 2: ")


def test_not_utf8_is_a_command_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 say where they start."""
    path = tmp_path / "jobs.json"
    path.write_bytes(b'[{"name": "caf\xe9"}]')
    with pytest.raises(CommandError) as caught:
        import_file(path)
    assert (
        str(caught.value)
        == f"Cannot read {path}: not UTF-8 text (bad byte at offset 14)."
    )


def test_wrong_top_level_is_a_command_error(tmp_path: Path) -> None:
    """An object that is not {"jobs": [...]} is refused before any database work."""
    path = write(tmp_path, "jobs.json", '{"name": "a"}')
    with pytest.raises(CommandError) as caught:
        import_file(path)
    assert str(caught.value) == (
        f'{path}: Unknown top-level key(s): name; only "jobs" is allowed there.'
    )


# --- a real process ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"name": "a",]', "Not valid JSON: line 1 column 15: "),
        ("- name: [a\n", "Not valid YAML: line 2 column 1: "),
        ('"just a string"', "Expected a list of job documents"),
    ],
)
def test_bad_file_exits_1_without_traceback(
    tmp_path: Path, text: str, message: str
) -> None:
    """A real `manage.py importjobs` on a bad file: exit 1, a one-line error."""
    path = write(tmp_path, "jobs.txt", text)
    result = run_manage("importjobs", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"CommandError: {path}: {message}")


def test_bad_stdin_exits_1_without_traceback() -> None:
    """Standard input gets the same treatment as a file."""
    result = run_manage("importjobs", "-", stdin="{oops")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError: -: Not valid JSON: line 1 column 2")


def test_missing_file_exits_1_without_traceback(tmp_path: Path) -> None:
    """An unreadable path from the command line: exit 1, no traceback."""
    result = run_manage("importjobs", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        f"CommandError: Cannot read {tmp_path / 'nope.yaml'}: "
        "No such file or directory.\n"
    )
