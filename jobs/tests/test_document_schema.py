"""The job document schema: the import's validation answers as the API's does.

`document_validate` is the schema below the import and the API; the API's
`JobDocumentSerializer` states the same fields for DRF. Each document here,
valid or not, gets the same values or the same errors (key -> messages)
from both.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.api.serializers import JobDocumentSerializer
from jobs.document_schema import (
    MSG_NO_DATA,
    MSG_NOT_BOOLEAN,
    MSG_NOT_CHOICE,
    MSG_NOT_LIST,
    MSG_NOT_MAPPING,
    MSG_NULL,
    MSG_PRIORITY,
    MSG_REQUIRED,
    NON_FIELD_ERRORS_KEY,
    DocumentInvalidError,
    document_validate,
)
from jobs.models import Job, Secret
from jobs.services.secrets import secret_save
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

DAILY = {"type": "daily", "time": "09:00"}
BASE = {"name": "nightly", "script": "ok.py", "schedules": [DAILY]}
# One document per rule the schema states, valid and not.
DOCUMENTS: list[Any] = [
    None,
    7,
    "nightly",
    [BASE],
    {},
    BASE,
    {**BASE, "actve": False},
    {**BASE, "name": "  spaced  ", "description": "  "},
    {**BASE, "name": ""},
    {**BASE, "name": "   "},
    {**BASE, "name": None},
    {**BASE, "name": 12},
    {**BASE, "name": 1.5},
    {**BASE, "name": True},
    {**BASE, "name": ["a"]},
    {**BASE, "name": "x" * 201},
    {**BASE, "name": "taken"},
    {**BASE, "name": "nul\x00"},
    {**BASE, "script": "missing.py"},
    {**BASE, "script": "../etc/passwd"},
    {**BASE, "working_dir": "/abs"},
    {**BASE, "timezone": "Mars/Base"},
    {**BASE, "timezone": "Asia/Hong_Kong"},
    {**BASE, "timezone": ""},
    {**BASE, "args": ["a", 1]},
    {**BASE, "args": "a b"},
    {**BASE, "args": None},
    {**BASE, "args": ["nul\x00"]},
    {**BASE, "args": [float("inf")]},
    {**BASE, "schedules": [{"type": "interval", "seconds": float("nan")}]},
    {**BASE, "env": {"A": "1"}},
    {**BASE, "env": {"A": 1}},
    {**BASE, "env": {"A\ud800": "1"}},
    {**BASE, "active": "yes"},
    {**BASE, "active": "Off"},
    {**BASE, "active": 1.0},
    {**BASE, "active": 2},
    {**BASE, "active": []},
    {**BASE, "active": None},
    {**BASE, "priority": "5"},
    {**BASE, "priority": "5.0"},
    {**BASE, "priority": 5.5},
    {**BASE, "priority": "1" * 1001},
    {**BASE, "priority": 2**70},
    {**BASE, "priority": True},
    {**BASE, "priority": "high"},
    {**BASE, "priority": " Low "},
    {**BASE, "priority": "normal"},
    {**BASE, "priority": "urgent"},
    {**BASE, "priority": -10},
    {**BASE, "timeout_seconds": None},
    {**BASE, "timeout_seconds": 0},
    {**BASE, "timeout_seconds": " 30 "},
    {**BASE, "secrets": ["API_TOKEN"]},
    {**BASE, "secrets": ["NOPE"]},
    {**BASE, "secrets": "API_TOKEN"},
    {**BASE, "secrets": {"API_TOKEN": 1}},
    {**BASE, "secrets": None},
    {**BASE, "secrets": [5]},
    {**BASE, "schedules": []},
    {**BASE, "schedules": None},
    {**BASE, "schedules": DAILY},
    {**BASE, "schedules": [DAILY, None, {"type": "daily", "time": "25:00"}]},
    {**BASE, "schedules": [DAILY, {"type": "daily", "time": "25:00"}]},
    {**BASE, "schedules": [{"type": "cron", "expression": "nul\x00"}]},
    {k: v for k, v in BASE.items() if k != "schedules"},
    {k: v for k, v in BASE.items() if k != "script"},
    {**BASE, "retry": None},
    {**BASE, "retry": []},
    {**BASE, "retry": {}},
    {**BASE, "retry": {"max_attempts": 0, "backoff": "never", "atempts": 1}},
    {**BASE, "retry": {"max_attempts": 0, "backoff": "never"}},
    {**BASE, "retry": {"max_attempts": 101, "delay_seconds": -1}},
    {**BASE, "retry": {"exit_codes": [0, 256]}, "misfire": {"policy": "skip"}},
    {**BASE, "retry": {"on_timeout": "true", "max_total_seconds": None}},
    {**BASE, "concurrency": {"policy": "replace", "max_concurrent": "2"}},
    {**BASE, "concurrency": {"policy": 1}},
    {**BASE, "misfire": {"policy": "", "grace_seconds": None}},
    {**BASE, "dependency_mode": "any_success"},
    {**BASE, "dependency_mode": "some"},
    {**BASE, "dependencies": [{"job": "taken"}]},
    {**BASE, "dependencies": [{"job": " taken ", "window_hours": "5"}]},
    {**BASE, "dependencies": [{"job": ""}, {"job": None}, {"job": True}]},
    {**BASE, "dependencies": [{"window_hours": 0, "extra": 1}]},
    {**BASE, "dependencies": [{"job": 5, "window_hours": 9000}]},
    {**BASE, "dependencies": [{"job": "a", "window_hours": None}, "taken"]},
    {**BASE, "dependencies": [{"job": "x" * 201}, {"job": "nul\x00"}]},
    {**BASE, "dependencies": "taken"},
    {**BASE, "dependencies": None},
    {**BASE, "dependencies": []},
]


@pytest.fixture
def existing(scripts_dir: Path, now: datetime) -> Job:
    """Save a job named "taken" and a secret named API_TOKEN."""
    secret_save(secret=Secret(name="API_TOKEN"), value="s3cret", now=now)
    return JobFactory.create(name="taken", schedules=[DAILY], now=now)


def api_answer(data: Any, instance: Job | None = None) -> tuple[str, Any]:
    """Return the API serializer's validated values or errors."""
    serializer = JobDocumentSerializer(instance=instance, data=data)
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data)
    return "invalid", serializer.errors


def schema_answer(data: Any, instance: Job | None = None) -> tuple[str, Any]:
    """Return the document schema's validated values or errors."""
    try:
        return "valid", document_validate(data, instance=instance)
    except DocumentInvalidError as exc:
        return "invalid", exc.errors


@pytest.mark.parametrize("data", DOCUMENTS)
def test_the_schema_answers_as_the_api_serializer(existing: Job, data: Any) -> None:
    """Same values for a valid document, same key -> messages for an invalid one."""
    assert schema_answer(data) == api_answer(data)


def test_a_job_keeps_its_own_name(existing: Job) -> None:
    """Updating the job named "taken" with its own name is no clash."""
    data = {**BASE, "name": "taken"}
    assert schema_answer(data, existing)[0] == "valid"
    assert schema_answer(data, existing) == api_answer(data, existing)


def test_the_messages_are_the_apis(existing: Job) -> None:
    """The schema's own texts, as the import reports them."""
    data = {
        "name": None,
        "active": "maybe",
        "priority": "urgent",
        "secrets": 5,
        "retry": None,
        "misfire": {"policy": "never"},
    }
    assert schema_answer(data) == (
        "invalid",
        {
            "name": [MSG_NULL],
            "script": [MSG_REQUIRED],
            "active": [MSG_NOT_BOOLEAN],
            "priority": [MSG_PRIORITY],
            "secrets": [MSG_NOT_LIST.format(input_type="int")],
            "schedules": [MSG_REQUIRED],
            "retry": [MSG_NULL],
            "misfire": {"policy": [MSG_NOT_CHOICE.format(input="never")]},
        },
    )
    assert schema_answer(None) == ("invalid", {NON_FIELD_ERRORS_KEY: [MSG_NO_DATA]})
    assert schema_answer(7) == (
        "invalid",
        {NON_FIELD_ERRORS_KEY: [MSG_NOT_MAPPING.format(datatype="int")]},
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(
        ["", " ", "1", "1.0", "yes", "off", "skip", "ok.py", "UTC", "high", "Low"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = [
    "name",
    "description",
    "script",
    "args",
    "env",
    "working_dir",
    "timezone",
    "active",
    "priority",
    "timeout_seconds",
    "secrets",
    "schedules",
]
GROUP_KEYS = {
    "retry": ["max_attempts", "backoff", "exit_codes", "on_lost", "max_total_seconds"],
    "concurrency": ["policy", "max_concurrent"],
    "misfire": ["policy", "grace_seconds"],
}
DOCUMENT_VALUES = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(KEYS, JSON_VALUES),
        **{
            group: st.fixed_dictionaries({}, optional=dict.fromkeys(keys, JSON_VALUES))
            | JSON_VALUES
            for group, keys in GROUP_KEYS.items()
        },
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=DOCUMENT_VALUES)
def test_any_document_gets_the_same_answer(
    existing: Job, changes: dict[str, Any]
) -> None:
    """Whatever values a document holds, both give the same answer."""
    data = {**BASE, **changes}
    assert schema_answer(data) == api_answer(data)
