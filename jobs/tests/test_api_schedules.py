"""POST /api/schedules/preview: a schedule document's next fire times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from jobportal.api.serializers import MSG_UNKNOWN_FIELDS
from jobs.api.views.schedules import MSG_AFTER_OFFSET, MSG_AFTER_RANGE
from jobs.schedule import MSG_NOT_OBJECT, MSG_TIME, MSG_TIMEZONE, MSG_UNKNOWN_TYPE
from jobs.schedule_text import MANUAL_TEXT

pytestmark = pytest.mark.django_db

PREVIEW = "api:schedule-preview"
NOT_SIGNED_IN = "Authentication credentials were not provided."
NOT_ALLOWED = "You do not have permission to perform this action."
DAILY_0230 = {"type": "daily", "time": "02:30"}


@pytest.fixture
def client(api_client: Any, make_user: Callable[..., User]) -> Any:
    """Return an API client signed in as a Viewer (any active user may preview)."""
    api_client.force_authenticate(make_user("vera", "Viewer"))
    return api_client


def preview(client: Any, body: Any) -> Any:
    """POST `body` as JSON to the preview."""
    return client.post(reverse(PREVIEW), body, format="json")


def test_preview_moves_a_time_skipped_by_dst(client: Any) -> None:
    """02:30 on 2026-03-08 in New York does not exist: it fires at 03:00 EDT."""
    response = preview(
        client,
        {
            "schedule": DAILY_0230,
            "timezone": "America/New_York",
            "count": 3,
            "after": "2026-03-07T12:00:00Z",
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "description": "Daily at 02:30 (America/New_York)",
        "fire_times": [
            {
                "at": "2026-03-08T07:00:00+00:00",
                "local": "2026-03-08T03:00:00-04:00",
                "moved_from": "2026-03-08T02:30:00",
                "fold": None,
                "blackout": None,
                "text": "2026-03-08 03:00 EDT / 07:00 UTC "
                "(moved from 02:30 by a DST gap)",
            },
            {
                "at": "2026-03-09T06:30:00+00:00",
                "local": "2026-03-09T02:30:00-04:00",
                "moved_from": None,
                "fold": None,
                "blackout": None,
                "text": "2026-03-09 02:30 EDT / 06:30 UTC",
            },
            {
                "at": "2026-03-10T06:30:00+00:00",
                "local": "2026-03-10T02:30:00-04:00",
                "moved_from": None,
                "fold": None,
                "blackout": None,
                "text": "2026-03-10 02:30 EDT / 06:30 UTC",
            },
        ],
    }


def test_preview_marks_both_instants_of_a_repeated_hour(client: Any) -> None:
    """Hourly at :30 on New York's fall-back night: 01:30 EDT and 01:30 EST."""
    response = preview(
        client,
        {
            "schedule": {"type": "hourly", "minute": 30},
            "timezone": "America/New_York",
            "count": 3,
            "after": "2026-11-01T05:00:00Z",
        },
    )

    fires = response.json()["fire_times"]
    assert [(f["at"], f["fold"]) for f in fires] == [
        ("2026-11-01T05:30:00+00:00", 0),
        ("2026-11-01T06:30:00+00:00", 1),
        ("2026-11-01T07:30:00+00:00", None),
    ]
    assert fires[0]["text"] == (
        "2026-11-01 01:30 EDT / 05:30 UTC (First of the two 01:30s: the clocks "
        "fall back and this hour repeats)"
    )
    assert "(Second of the two 01:30s" in fires[1]["text"]


def test_the_documents_own_zone_wins(client: Any) -> None:
    """A document's "timezone" beats the body's default zone."""
    document = {**DAILY_0230, "timezone": "Asia/Hong_Kong"}

    body = preview(
        client,
        {
            "schedule": document,
            "timezone": "America/New_York",
            "count": 1,
            "after": "2026-03-07T00:00:00+08:00",
        },
    ).json()

    assert body["description"] == "Daily at 02:30 (Asia/Hong_Kong)"
    assert [fire["at"] for fire in body["fire_times"]] == ["2026-03-06T18:30:00+00:00"]


def test_preview_defaults_to_five_fire_times_from_now(
    client: Any, settings: Any
) -> None:
    """Without count and after: five fire times after the current instant."""
    settings.JOB_PORTAL_TIMEZONE = "Asia/Hong_Kong"

    body = preview(client, {"schedule": {"type": "hourly", "minute": 5}}).json()

    assert len(body["fire_times"]) == 5
    assert body["description"].endswith("(Asia/Hong_Kong)")


def test_manual_schedule_has_no_fire_times(client: Any) -> None:
    """A manual schedule only runs when triggered."""
    body = preview(client, {"schedule": {"type": "manual"}}).json()

    assert body == {"description": MANUAL_TEXT, "fire_times": []}


@pytest.mark.parametrize(
    ("schedule", "errors"),
    [
        (
            {"type": "daily", "time": "25:00"},
            {"time": [MSG_TIME.format(value="25:00")]},
        ),
        (
            {"type": "fortnightly"},
            {
                "type": [
                    MSG_UNKNOWN_TYPE.format(
                        value="fortnightly",
                        choices="interval, hourly, daily, weekly, monthly, "
                        "yearly, cron, once, manual",
                    )
                ]
            },
        ),
        (
            {**DAILY_0230, "timezone": "Mars/Olympus"},
            {"timezone": [MSG_TIMEZONE.format(value="Mars/Olympus")]},
        ),
        ("daily at 9", [MSG_NOT_OBJECT]),
    ],
    ids=["time", "type", "zone", "not-an-object"],
)
def test_bad_schedule_is_400_with_the_engines_field_message(
    client: Any, schedule: Any, errors: Any
) -> None:
    """The engine's error names the document's field."""
    response = preview(client, {"schedule": schedule})

    assert response.status_code == 400
    assert response.json() == {"schedule": errors}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"schedule": ["This field is required."]}),
        ({"schedule": None}, {"schedule": ["This field may not be null."]}),
        (
            {"schedule": DAILY_0230, "count": 0},
            {"count": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"schedule": DAILY_0230, "count": 51},
            {"count": ["Ensure this value is less than or equal to 50."]},
        ),
        (
            {"schedule": DAILY_0230, "count": "many"},
            {"count": ["A valid integer is required."]},
        ),
        (
            {"schedule": DAILY_0230, "after": "2026-03-07T12:00"},
            {"after": [MSG_AFTER_OFFSET]},
        ),
        (
            {"schedule": DAILY_0230, "after": "9999-12-31T00:00:00Z"},
            {"after": [MSG_AFTER_RANGE]},
        ),
        (
            {"schedule": DAILY_0230, "timezone": "Nowhere"},
            {"timezone": [MSG_TIMEZONE.format(value="Nowhere")]},
        ),
        (
            {"schedule": DAILY_0230, "cnt": 3},
            {
                "non_field_errors": [
                    MSG_UNKNOWN_FIELDS.format(
                        unknown="cnt",
                        known="schedule, timezone, count, after, blackouts",
                    )
                ]
            },
        ),
        (
            [DAILY_0230],
            {
                "non_field_errors": [
                    "Invalid data. Expected a dictionary, but got list."
                ]
            },
        ),
    ],
    ids=[
        "missing",
        "null",
        "count-0",
        "count-51",
        "count-text",
        "naive-after",
        "after-too-late",
        "zone",
        "unknown-key",
        "not-an-object",
    ],
)
def test_bad_input_is_400_naming_the_field(
    client: Any, body: Any, errors: dict[str, list[str]]
) -> None:
    """Missing, out-of-range, ambiguous and unknown input is refused."""
    response = preview(client, body)

    assert response.status_code == 400
    assert response.json() == errors


def test_anonymous_clients_are_refused(api_client: Any) -> None:
    """Previewing needs a signed-in user."""
    response = preview(api_client, {"schedule": DAILY_0230})

    assert response.status_code in (401, 403)
    assert response.json() == {"detail": NOT_SIGNED_IN}


def test_inactive_users_are_refused(
    api_client: Any, make_user: Callable[..., User]
) -> None:
    """An inactive user may do nothing, previewing included."""
    api_client.force_authenticate(make_user("gone", "Admin", is_active=False))

    response = preview(api_client, {"schedule": DAILY_0230})

    assert response.status_code == 403
    assert response.json() == {"detail": NOT_ALLOWED}


def test_a_user_without_a_role_may_preview(
    api_client: Any, make_user: Callable[..., User]
) -> None:
    """Any active user may preview: it reads no job."""
    api_client.force_authenticate(make_user("nora"))

    assert preview(api_client, {"schedule": DAILY_0230}).status_code == 200


def test_form_bodies_are_refused(client: Any) -> None:
    """The document is JSON: other media types are a 415."""
    response = client.post(reverse(PREVIEW), {"schedule": "x"}, format="multipart")

    assert response.status_code == 415
