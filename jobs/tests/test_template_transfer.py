"""Templates through `exportjobs --templates` and `importjobs`."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.models import JobTemplate
from jobs.services.template_transfer import templates_import
from jobs.services.templates import template_document
from jobs.services.transfer import JobImportError
from jobs.tests.template_helpers import template_library

__all__ = ["template_library"]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("frozen_clock", "template_library"),
]


def export(*args: str) -> str:
    """Return what `exportjobs --templates` prints."""
    out = StringIO()
    call_command("exportjobs", "--templates", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_templates_round_trip_through_export_and_import(
    tmp_path: Path, fmt: str
) -> None:
    """Export, delete, import: the same templates come back, each at v1."""
    before = [template_document(t) for t in JobTemplate.objects.order_by("name")]
    path = tmp_path / f"templates.{fmt}"
    path.write_text(export("--format", fmt))
    JobTemplate.objects.all().delete()
    out = StringIO()
    call_command("importjobs", str(path), stdout=out)
    after = [template_document(t) for t in JobTemplate.objects.order_by("name")]
    assert after == before
    assert out.getvalue() == "Created 4, updated 0, unchanged 0\n"
    assert {t.versions.count() for t in JobTemplate.objects.all()} == {1}


def test_the_export_is_a_templates_document() -> None:
    """JSON with one top-level key, the library sorted by name."""
    data = json.loads(export())
    assert list(data) == ["templates"]
    assert [t["name"] for t in data["templates"]] == [
        "API data fetch",
        "Database backup",
        "File cleanup",
        "Report generation",
    ]


def test_an_import_updates_by_name_as_a_new_version(tmp_path: Path) -> None:
    """A changed document updates the template in place: version 2."""
    data = yaml.safe_load(export("--format", "yaml"))
    data["templates"][2]["category"] = "Housekeeping"
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    out = StringIO()
    call_command("importjobs", str(path), stdout=out)
    assert out.getvalue() == "Created 0, updated 1, unchanged 3\n"
    template = JobTemplate.objects.get(name="File cleanup")
    assert (template.category, template.versions.count()) == ("Housekeeping", 2)


def test_an_invalid_template_fails_the_whole_import(tmp_path: Path) -> None:
    """One bad template (named, with the field) and nothing is written."""
    documents = [
        {"name": "fine", "body": {"script": "ok.py"}},
        {"name": "bad", "body": {"script": "{{ nope }}"}},
        {"name": "worse", "colour": "red", "body": {}},
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"templates": documents}))
    with pytest.raises(CommandError) as caught:
        call_command("importjobs", str(path))
    assert str(caught.value) == (
        "Invalid template documents; nothing was written:\n"
        '  Template "bad": body: Placeholder {{ nope }} names no declared parameter.\n'
        '  Template "worse": unknown key(s): colour; allowed: name, category, '
        "description, parameters, body."
    )
    assert not JobTemplate.objects.filter(name="fine").exists()


def test_a_dry_run_writes_nothing(now: datetime) -> None:
    """The result is reported, the database unchanged."""
    result = templates_import(
        documents=[{"name": "new", "body": {"script": "ok.py"}}], now=now, dry_run=True
    )
    assert result.created == ["new"]
    assert not JobTemplate.objects.filter(name="new").exists()
    with pytest.raises(JobImportError):
        templates_import(documents=[{"name": ""}], now=now, dry_run=True)
