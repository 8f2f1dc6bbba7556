"""The slot timeline in the API, and "run this slot now" (service and API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from jobportal.tests.clocks import FrozenClock
from jobs.models import Job, JobRun
from jobs.services.grants import job_rights_set
from jobs.services.slots import (
    MSG_IN_FUTURE,
    MSG_NOT_A_SLOT,
    MSG_NOT_RERUNNABLE,
    SlotError,
    job_slot_run,
)
from jobs.tests.factories import JobRunFactory

pytestmark = pytest.mark.django_db

AT_07 = datetime(2026, 3, 7, 7, 30, tzinfo=UTC)
AT_08 = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, moved from 02:30
AT_09 = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RANGE = {"from": "2026-03-07T00:00:00Z", "to": "2026-03-10T00:00:00Z"}


@pytest.fixture
def job(make_job: Callable[..., Job], frozen_clock: FrozenClock) -> Job:
    """Daily 02:30 New York: 03-07 succeeded, 03-08 skipped (blackout), 03-09 none."""
    job = make_job(
        "nightly",
        schedules=[{"type": "daily", "time": "02:30"}],
        timezone="America/New_York",
    )
    JobRunFactory.create(
        job=job,
        scheduled_for=AT_07,
        queued_at=AT_07,
        not_before=AT_07,
        started_at=AT_07 + timedelta(seconds=2),
        finished_at=AT_07 + timedelta(seconds=32),
    )
    JobRunFactory.create(
        job=job,
        scheduled_for=AT_08,
        queued_at=AT_08,
        not_before=AT_08,
        status=JobRun.Status.SKIPPED,
        reason="Inside blackout window 'Maintenance'.",
        reason_code="blackout",
        started_at=None,
        finished_at=AT_08,
        exit_code=None,
    )
    # created_at is the real saving instant: put it before the slots.
    Job.objects.filter(pk=job.pk).update(created_at=AT_07 - timedelta(days=30))
    frozen_clock.set(NOW)
    return Job.objects.get(pk=job.pk)


def timeline(client: APIClient, user: User, job: Job, **params: Any) -> Any:
    """GET the job's timeline as `user`."""
    client.force_authenticate(user)
    return client.get(f"/api/jobs/{job.pk}/timeline", params)


def test_each_slot_with_its_outcome_newest_first(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """Missing, skipped by a blackout (moved by DST), succeeded 2 s late."""
    body = timeline(api_client, make_user("v", "Viewer"), job, **RANGE).json()
    slots = body["slots"]
    assert [(s["slot"], s["outcome"], s["reason_code"]) for s in slots] == [
        ("2026-03-09T06:30:00Z", "missing", ""),
        ("2026-03-08T07:00:00Z", "skipped", "blackout"),
        ("2026-03-07T07:30:00Z", "succeeded", ""),
    ]
    assert slots[1]["local"] == "2026-03-08T03:00:00-04:00"
    assert slots[1]["moved_from"] == "2026-03-08T02:30:00"
    assert slots[1]["explanation"] == "Inside blackout window 'Maintenance'."
    assert (slots[2]["lateness_seconds"], slots[2]["duration_seconds"]) == (2.0, 30.0)
    assert [s["can_run_now"] for s in slots] == [True, True, False]
    assert body["timezone"] == "America/New_York"


def test_a_job_the_user_may_not_see_is_404(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """No role, no grant: 404, as for the job itself."""
    assert timeline(api_client, make_user("nobody"), job).status_code == 404


def test_a_bad_range_is_named(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """Backwards: 400 on "to"; no offset: 400 on "from"."""
    user = make_user("v", "Viewer")
    backwards = timeline(
        api_client, user, job, **{"from": RANGE["to"], "to": RANGE["from"]}
    )
    assert backwards.status_code == 400
    assert list(backwards.json()) == ["to"]
    naive = timeline(api_client, user, job, **{"from": "2026-03-07T00:00"})
    assert list(naive.json()) == ["from"]


def test_run_a_skipped_slot_now_through_the_api(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """202; the slot's attempt 2 is queued now, by the user, and audited."""
    admin = make_user("boss", "Admin")
    api_client.force_authenticate(admin)
    response = api_client.post(
        f"/api/jobs/{job.pk}/timeline/run",
        {"slot": "2026-03-08T07:00:00Z"},
        format="json",
    )
    assert response.status_code == 202
    run = JobRun.objects.get(pk=response.json()["id"])
    assert (run.scheduled_for, run.attempt, run.status, run.trigger) == (
        AT_08,
        2,
        "queued",
        "manual",
    )
    assert (run.not_before, run.triggered_by) == (NOW, admin)
    event = AuditEvent.objects.filter(action=AuditEvent.Action.RUN).latest("pk")
    assert event.changes["slot"] == [None, AT_08.isoformat()]
    listed = timeline(api_client, admin, job, **RANGE).json()["slots"][1]
    assert (listed["outcome"], listed["attempts"], listed["can_run_now"]) == (
        "queued",
        2,
        False,
    )


def test_running_a_slot_takes_the_right_to_run(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """A Viewer sees the timeline but may not run: 403."""
    api_client.force_authenticate(make_user("v", "Viewer"))
    response = api_client.post(
        f"/api/jobs/{job.pk}/timeline/run",
        {"slot": "2026-03-08T07:00:00Z"},
        format="json",
    )
    assert response.status_code == 403


def test_a_granted_runner_may_run_a_missing_slot(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """A per-job run grant is enough; the missing slot gets attempt 1."""
    operator = make_user("op")
    job_rights_set(
        job=job, grantee=operator, rights=["view_job", "run_job"], actor=None, now=NOW
    )
    api_client.force_authenticate(operator)
    response = api_client.post(
        f"/api/jobs/{job.pk}/timeline/run",
        {"slot": "2026-03-09T06:30:00Z"},
        format="json",
    )
    assert response.status_code == 202
    assert response.json()["attempt"] == 1


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        (AT_07, MSG_NOT_RERUNNABLE.format(at=AT_07.isoformat(), outcome="succeeded")),
        (
            AT_07 + timedelta(minutes=1),
            MSG_NOT_A_SLOT.format(at=(AT_07 + timedelta(minutes=1)).isoformat()),
        ),
        (
            NOW + timedelta(days=1),
            MSG_IN_FUTURE.format(at=(NOW + timedelta(days=1)).isoformat()),
        ),
    ],
)
def test_the_service_refuses_what_cannot_run_again(
    job: Job, slot: datetime, message: str
) -> None:
    """A succeeded slot, an instant that is no slot, a future slot."""
    with pytest.raises(SlotError) as refused:
        job_slot_run(job=job, slot=slot, requested_by=None, now=NOW)
    assert str(refused.value) == message


def test_the_api_answers_a_refusal_as_400_on_slot(
    api_client: APIClient, job: Job, make_user: Callable[..., User]
) -> None:
    """The service's message, under "slot"."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    response = api_client.post(
        f"/api/jobs/{job.pk}/timeline/run",
        {"slot": "2026-03-07T07:30:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "slot": [MSG_NOT_RERUNNABLE.format(at=AT_07.isoformat(), outcome="succeeded")]
    }
