"""Job documents: mapping a job, reading and writing files, the serializer."""

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobportal.api.serializers import MSG_UNKNOWN_FIELDS
from jobs.api.serializers import JobDocumentSerializer
from jobs.documents import (
    MODEL_FIELDS,
    MSG_EMPTY,
    MSG_TOP_LEVEL,
    MSG_TOP_LEVEL_KEYS,
    DocumentError,
    document_path,
    documents_dump,
    documents_load,
    format_for_path,
    job_to_document,
    schedule_document,
)
from jobs.models import Job
from jobs.tests.factories import JobFactory

DAILY_0900 = {"type": "daily", "time": "09:00"}
KNOWN_FIELDS = (
    "name, description, script, args, env, working_dir, timezone, active, "
    "priority, timeout_seconds, blackout_action, pre_hook, post_hook, "
    "dependency_mode, secrets, schedules, parameters, blackouts, retry, "
    "concurrency, misfire, retention, dependencies"
)


def make_job(now: datetime, **fields: object) -> Job:
    """Save a job through the service, with every policy away from default."""
    values: dict[str, object] = {
        "name": "nightly-export",
        "description": "Export the day's orders.",
        "script": "nested/report.sh",
        "args": ["--day", "yesterday"],
        "env": {"REGION": "apac", "MODE": "full"},
        "working_dir": "nested",
        "timezone": "Europe/London",
        "is_active": False,
        "priority": 7,
        "timeout_seconds": 600,
        "retry_max_attempts": 3,
        "retry_delay_seconds": 30,
        "retry_backoff": Job.RetryBackoff.EXPONENTIAL,
        "retry_max_delay_seconds": 900,
        "retry_exit_codes": [2, 75],
        "retry_on_timeout": True,
        "retry_on_lost": False,
        "retry_max_total_seconds": 7200,
        "concurrency_policy": Job.ConcurrencyPolicy.ALLOW,
        "max_concurrent": 2,
        "misfire_policy": Job.MisfirePolicy.SKIP,
        "misfire_grace_seconds": 300,
        "blackout_action": Job.BlackoutAction.DEFER,
        "retention_days": 14,
        "output_retention_days": 0,
    }
    values.update(fields)
    schedules: list[dict[str, Any]] = [
        {"type": "weekly", "weekdays": ["fri", "mon"], "time": "9:30"},
        {"type": "cron", "expression": "0 2 * * *", "timezone": "UTC"},
    ]
    return JobFactory.create(schedules=schedules, now=now, **values)


EXPECTED = {
    "name": "nightly-export",
    "description": "Export the day's orders.",
    "script": "nested/report.sh",
    "args": ["--day", "yesterday"],
    "env": {"MODE": "full", "REGION": "apac"},
    "secrets": [],
    "working_dir": "nested",
    "timezone": "Europe/London",
    "active": False,
    "priority": 7,
    "timeout_seconds": 600,
    "blackout_action": "defer",
    "pre_hook": "",
    "post_hook": "",
    "dependency_mode": "all_success",
    "schedules": [
        {"type": "weekly", "time": "09:30", "weekdays": ["mon", "fri"]},
        {"type": "cron", "expression": "0 2 * * *", "timezone": "UTC"},
    ],
    "parameters": [],
    "blackouts": [],
    "retry": {
        "max_attempts": 3,
        "delay_seconds": 30,
        "backoff": "exponential",
        "max_delay_seconds": 900,
        "exit_codes": [2, 75],
        "on_timeout": True,
        "on_lost": False,
        "max_total_seconds": 7200,
    },
    "concurrency": {"policy": "allow", "max_concurrent": 2},
    "misfire": {"policy": "skip", "grace_seconds": 300},
    "retention": {"days": 14, "runs": None, "output_days": 0},
    "dependencies": [],
}


# --- mapping a job -------------------------------------------------------------


@pytest.mark.django_db
def test_job_to_document_maps_every_field(scripts_dir: Path, now: datetime) -> None:
    """Every field lands under its document key, schedules normalised."""
    assert job_to_document(make_job(now)) == EXPECTED


@pytest.mark.django_db
def test_job_to_document_key_order_is_fixed(scripts_dir: Path, now: datetime) -> None:
    """Keys come out in document order; env and schedules in a fixed order."""
    document = job_to_document(make_job(now))
    assert list(document) == list(EXPECTED)
    assert list(document["env"]) == ["MODE", "REGION"]
    assert [list(s) for s in document["schedules"]] == [
        ["type", "time", "weekdays"],
        ["type", "expression", "timezone"],
    ]


@pytest.mark.django_db
def test_job_to_document_can_take_unsaved_schedules(
    scripts_dir: Path, now: datetime
) -> None:
    """`schedules=` replaces the stored schedules in the document."""
    document = job_to_document(make_job(now), schedules=[{"type": "manual"}])
    assert document["schedules"] == [{"type": "manual"}]


def test_documents_cover_every_editable_job_field_but_the_owner() -> None:
    """A document sets every column the job form edits, except the owner."""
    editable = {
        field.name
        for field in Job._meta.concrete_fields
        if field.editable and not field.primary_key
    }
    assert set(MODEL_FIELDS) == editable - {"owner"}


def test_document_path_names_nested_keys() -> None:
    """Model field names are translated into the document's terms."""
    assert document_path("retry_max_attempts") == "retry.max_attempts"
    assert document_path("is_active") == "active"
    assert document_path("misfire_policy") == "misfire.policy"
    assert document_path("script") == "script"


def test_schedule_document_puts_type_first() -> None:
    """A schedule document's keys: "type", then alphabetical."""
    document = {"timezone": "UTC", "time": "09:00", "type": "daily"}
    assert list(schedule_document(document)) == ["type", "time", "timezone"]


# --- files ---------------------------------------------------------------------


def test_json_dump_is_indented_sorted_and_ends_with_newline() -> None:
    """JSON: two-space indent, sorted keys, non-ASCII kept."""
    text = documents_dump([{"name": "café", "args": []}], fmt="json")
    assert text == '[\n  {\n    "args": [],\n    "name": "café"\n  }\n]\n'


def test_yaml_dump_keeps_document_order_and_quotes_times() -> None:
    """YAML: name first; a time stays a quoted string, never base 60."""
    text = documents_dump(
        [{"name": "a", "schedules": [{"type": "daily", "time": "10:30"}]}],
        fmt="yaml",
    )
    assert text == "- name: a\n  schedules:\n  - type: daily\n    time: '10:30'\n"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_dump_then_load_gives_the_documents_back(fmt: str) -> None:
    """Both formats round-trip exactly."""
    assert documents_load(documents_dump([EXPECTED], fmt=fmt), fmt=fmt) == [EXPECTED]


def test_unquoted_yaml_time_is_read_as_a_string() -> None:
    """A hand-written `time: 10:30` stays "10:30" (YAML 1.1 would say 630)."""
    text = "- name: a\n  schedules:\n  - {type: daily, time: 10:30}\n  priority: 3\n"
    assert documents_load(text, fmt="yaml") == [
        {"name": "a", "schedules": [{"type": "daily", "time": "10:30"}], "priority": 3}
    ]


def test_jobs_key_at_the_top_is_accepted() -> None:
    """{"jobs": [...]} is the same as the bare list."""
    assert documents_load('{"jobs": [{"name": "a"}]}') == [{"name": "a"}]


@pytest.mark.parametrize(
    ("text", "fmt"),
    [('[{"name": "a"}]', None), ("- name: a\n", None), ("[{name: a}]", "yaml")],
)
def test_format_is_guessed_from_the_content(text: str, fmt: str | None) -> None:
    """Without a format, "[" or "{" means JSON and anything else YAML."""
    assert documents_load(text, fmt=fmt) == [{"name": "a"}]


def test_bad_json_reports_line_and_column() -> None:
    """The JSON parser's position is in the message."""
    with pytest.raises(DocumentError) as caught:
        documents_load('[\n  {"name": "a",}\n]', fmt="json")
    assert str(caught.value) == (
        "Not valid JSON: line 2 column 16: "
        "Expecting property name enclosed in double quotes."
    )


def test_bad_yaml_reports_line_and_column() -> None:
    """The YAML parser's position is in the message."""
    with pytest.raises(DocumentError) as caught:
        documents_load("- name: a\n  script: [ok.py\n", fmt="yaml")
    assert str(caught.value) == (
        "Not valid YAML: line 3 column 1: expected ',' or ']', but got '<stream end>'."
    )


def test_yaml_python_tags_are_refused() -> None:
    """The loader is a safe one: no Python objects from a file."""
    with pytest.raises(DocumentError, match=r"^Not valid YAML: line 1 column 3: "):
        documents_load("- !!python/object/apply:os.system ['true']\n", fmt="yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", MSG_EMPTY),
        ('"jobs"', MSG_TOP_LEVEL.format(kind="a string")),
        ("3", MSG_TOP_LEVEL.format(kind="a number")),
        ('{"job": []}', MSG_TOP_LEVEL_KEYS.format(keys="job")),
        ("{}", MSG_TOP_LEVEL.format(kind="an object without jobs")),
        ('{"jobs": {"name": "a"}}', MSG_TOP_LEVEL.format(kind="dict")),
    ],
)
def test_top_level_must_be_a_list_or_jobs(text: str, message: str) -> None:
    """Anything but a list or {"jobs": [...]} is refused, saying what it got."""
    with pytest.raises(DocumentError) as caught:
        documents_load(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("jobs.json", "json"), ("a/b.YAML", "yaml"), ("x.yml", "yaml"), ("-", None)],
)
def test_format_for_path_reads_the_extension(path: str, fmt: str | None) -> None:
    """.json, .yaml and .yml are known; anything else is for the content."""
    assert format_for_path(path) == fmt


# --- the serializer --------------------------------------------------------------


@pytest.mark.django_db
def test_serializer_output_is_the_document(scripts_dir: Path, now: datetime) -> None:
    """The API shows a job exactly as `job_to_document` maps it."""
    assert JobDocumentSerializer(make_job(now)).data == EXPECTED


@pytest.mark.django_db
def test_serializer_flattens_groups_into_model_fields(scripts_dir: Path) -> None:
    """validated_data uses the model's names and normalised schedules."""
    serializer = JobDocumentSerializer(data=EXPECTED)
    assert serializer.is_valid(), serializer.errors
    data = dict(serializer.validated_data)
    assert data.pop("schedules") == EXPECTED["schedules"]
    assert data.pop("secrets") == []
    assert data.pop("parameters") == []
    assert data.pop("blackouts") == []
    assert data.pop("dependencies") == []
    assert set(data) == set(MODEL_FIELDS)
    assert data["retry_backoff"] == "exponential"
    assert data["is_active"] is False
    assert data["misfire_grace_seconds"] == 300


@pytest.mark.django_db
def test_serializer_groups_are_optional(scripts_dir: Path) -> None:
    """A minimal document is valid; left-out keys are simply absent."""
    serializer = JobDocumentSerializer(
        data={"name": "a", "script": "ok.py", "schedules": [DAILY_0900]}
    )
    assert serializer.is_valid(), serializer.errors
    assert dict(serializer.validated_data) == {
        "name": "a",
        "script": "ok.py",
        "schedules": [DAILY_0900],
    }


@pytest.mark.django_db
def test_serializer_refuses_unknown_top_level_keys(scripts_dir: Path) -> None:
    """A typo is named, with the known keys, instead of being ignored."""
    serializer = JobDocumentSerializer(
        data={"name": "a", "script": "ok.py", "schedules": [], "shedule": 1}
    )
    assert serializer.is_valid() is False
    assert serializer.errors == {
        "non_field_errors": [
            MSG_UNKNOWN_FIELDS.format(unknown="shedule", known=KNOWN_FIELDS)
        ]
    }


@pytest.mark.django_db
def test_serializer_refuses_unknown_keys_in_a_group(scripts_dir: Path) -> None:
    """Groups are as strict as the top level."""
    serializer = JobDocumentSerializer(
        data={
            "name": "a",
            "script": "ok.py",
            "schedules": [DAILY_0900],
            "misfire": {"polcy": "skip"},
        }
    )
    assert serializer.is_valid() is False
    assert serializer.errors == {
        "misfire": {
            "non_field_errors": [
                MSG_UNKNOWN_FIELDS.format(
                    unknown="polcy", known="policy, grace_seconds"
                )
            ]
        }
    }


@pytest.mark.django_db
def test_serializer_errors_have_drf_shape(scripts_dir: Path) -> None:
    """Model validators, choices and schedules report under their keys."""
    serializer = JobDocumentSerializer(
        data={
            "name": "a",
            "script": "../etc/passwd.py",
            "timezone": "Mars/Olympus",
            "schedules": [DAILY_0900],
            "retry": {"max_attempts": 0, "backoff": "random"},
        }
    )
    assert serializer.is_valid() is False
    assert serializer.errors == {
        "script": ["'../etc/passwd.py' resolves outside the scripts directory."],
        "timezone": [
            "Unknown timezone 'Mars/Olympus'; use an IANA name like 'Asia/Hong_Kong'."
        ],
        "retry": {
            "max_attempts": ["Ensure this value is greater than or equal to 1."],
            "backoff": ['"random" is not a valid choice.'],
        },
    }


@pytest.mark.django_db
def test_serializer_validates_schedules_through_the_job_service(
    scripts_dir: Path,
) -> None:
    """Schedule errors are `schedules_validate`'s, naming the schedule."""
    serializer = JobDocumentSerializer(
        data={
            "name": "a",
            "script": "ok.py",
            "schedules": [DAILY_0900, {"type": "daily", "time": "25:00"}],
        }
    )
    assert serializer.is_valid() is False
    assert serializer.errors == {
        "schedules": [
            "schedule 2: time: Time must be 'HH:MM' in 24-hour form "
            "(00:00 to 23:59), got '25:00'."
        ]
    }


@pytest.mark.django_db
def test_serializer_refuses_a_taken_name_for_a_new_job(
    scripts_dir: Path, now: datetime
) -> None:
    """Creating a second job with a used name is a "name" error."""
    make_job(now)
    serializer = JobDocumentSerializer(
        data={"name": "nightly-export", "script": "ok.py", "schedules": [DAILY_0900]}
    )
    assert serializer.is_valid() is False
    assert serializer.errors == {"name": ["job with this name already exists."]}
