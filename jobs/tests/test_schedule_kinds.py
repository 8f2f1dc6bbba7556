"""Tests for the table of schedule kinds (`jobs.schedule.KINDS`).

Every kind the engine knows must be editable in the admin and described in
words: adding a kind to the table without a form layout or a description
fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobs.admin.jobs import ScheduleInline
from jobs.forms import ScheduleForm, fields_from_document
from jobs.schedule import KINDS, parse_schedule
from jobs.schedule_text import DESCRIBERS, describe_schedule

# One valid document per kind, with its words in Asia/Hong_Kong.
EXAMPLES: dict[str, tuple[dict[str, Any], str]] = {
    "interval": ({"type": "interval", "seconds": 5400}, "Every 90 minutes"),
    "hourly": (
        {"type": "hourly", "minute": 5},
        "Every hour at :05 (Asia/Hong_Kong)",
    ),
    "daily": ({"type": "daily", "time": "09:00"}, "Daily at 09:00 (Asia/Hong_Kong)"),
    "weekly": (
        {"type": "weekly", "weekdays": ["mon", "fri"], "time": "09:00"},
        "Weekly on Mon, Fri at 09:00 (Asia/Hong_Kong)",
    ),
    "monthly": (
        {"type": "monthly", "day": "last", "time": "09:00"},
        "Monthly on the last day at 09:00 (Asia/Hong_Kong)",
    ),
    "yearly": (
        {"type": "yearly", "month": 2, "day": 29, "time": "09:00"},
        "Yearly on 29 February at 09:00 (Asia/Hong_Kong)",
    ),
    "cron": (
        {"type": "cron", "expression": "30 2 * * 1-5"},
        "Cron 30 2 * * 1-5: At 02:30, Monday through Friday (Asia/Hong_Kong)",
    ),
    "once": (
        {"type": "once", "at": "2026-12-24T09:00"},
        "Once on 2026-12-24 at 09:00 (Asia/Hong_Kong)",
    ),
    "manual": ({"type": "manual"}, "Manual only"),
}
HONG_KONG = "Asia/Hong_Kong"


def test_the_examples_cover_every_kind() -> None:
    """A new kind needs an example here, which the tests below then check."""
    assert list(EXAMPLES) == list(KINDS)


def test_kinds_are_keyed_by_their_name() -> None:
    """The table's keys are the kinds' names."""
    assert all(name == kind.name for name, kind in KINDS.items())


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_normalises_exactly_its_fields(name: str) -> None:
    """A kind's parser keeps the fields the kind lists, and no others."""
    document, _ = EXAMPLES[name]
    parsed = parse_schedule(document, default_timezone=HONG_KONG)
    assert parsed.kind == name
    assert set(parsed.document) == {"type", *KINDS[name].fields}


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_has_a_form_layout_and_a_description(name: str) -> None:
    """The admin offers the kind, edits its fields, and words describe it."""
    kind = KINDS[name]
    document, words = EXAMPLES[name]
    form = ScheduleForm(data=fields_from_document(document), job_timezone=HONG_KONG)

    # A ChoiceField, whose choices the stubs type loosely (callables too).
    choices = form.fields["type"].choices  # type: ignore[attr-defined]
    assert (name, kind.label) in choices
    assert set(kind.fields) <= set(form.fields)
    assert set(kind.fields) <= set(ScheduleInline.fields)
    assert form.is_valid(), form.errors
    assert (
        form.cleaned_data["document"]
        == parse_schedule(document, default_timezone=HONG_KONG).document
    )
    assert name in DESCRIBERS
    assert describe_schedule(document, timezone=HONG_KONG) == words
