"""`manage.py exportjobs`: stable JSON or YAML, to stdout or a file."""

import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.documents import documents_dump
from jobs.models import Job
from jobs.services.jobs import job_save
from jobs.services.transfer import jobs_export

pytestmark = pytest.mark.django_db


def export(**options: Any) -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("exportjobs", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def two_jobs(scripts_dir: Path, now: datetime) -> list[Job]:
    """Save two jobs, made in reverse name order."""
    return [
        job_save(
            job=Job(
                name=name, script="ok.py", timezone="UTC", env={"B": "2", "A": "1"}
            ),
            schedules=[{"type": "daily", "time": "09:00"}],
            now=now,
        )
        for name in ("zeta", "alpha")
    ]


def test_default_is_indented_sorted_json_on_stdout(two_jobs: list[Job]) -> None:
    """JSON with two-space indent and sorted keys, jobs by name."""
    out = export()
    assert out == documents_dump(jobs_export(), fmt="json")
    assert out.startswith('[\n  {\n    "active": true,\n    "args": [],\n')
    assert [d["name"] for d in json.loads(out)] == ["alpha", "zeta"]


def test_output_is_stable(two_jobs: list[Job]) -> None:
    """Exporting twice gives the same text."""
    assert export(format="yaml") == export(format="yaml")
    assert export() == export()


def test_yaml_format(two_jobs: list[Job]) -> None:
    """--format yaml: the same documents, name first."""
    out = export(format="yaml")
    assert yaml.safe_load(out) == jobs_export()
    assert out.startswith("- name: alpha\n  description: ''\n")


def test_no_jobs_is_an_empty_list() -> None:
    """An empty portal exports an empty list, not nothing."""
    assert export() == "[]\n"


def test_output_file_takes_its_format_from_the_extension(
    two_jobs: list[Job], tmp_path: Path
) -> None:
    """--output jobs.yaml writes YAML and says where it went."""
    path = tmp_path / "jobs.yaml"
    out = export(output=str(path))
    assert out == f"Exported 2 job(s) to {path}.\n"
    assert path.read_text(encoding="utf-8") == documents_dump(jobs_export(), fmt="yaml")


def test_format_option_wins_over_the_extension(
    two_jobs: list[Job], tmp_path: Path
) -> None:
    """--format json with a .yaml file name writes JSON."""
    path = tmp_path / "jobs.yaml"
    export(output=str(path), format="json")
    assert json.loads(path.read_text(encoding="utf-8")) == jobs_export()


def test_unknown_extension_means_json(two_jobs: list[Job], tmp_path: Path) -> None:
    """Any other file name gets JSON."""
    path = tmp_path / "jobs.txt"
    export(output=str(path))
    assert json.loads(path.read_text(encoding="utf-8")) == jobs_export()


def test_unwritable_output_is_a_command_error(tmp_path: Path) -> None:
    """A missing folder is reported, not a traceback."""
    path = tmp_path / "missing" / "jobs.json"
    with pytest.raises(CommandError) as caught:
        export(output=str(path))
    assert str(caught.value) == f"Cannot write {path}: No such file or directory."
