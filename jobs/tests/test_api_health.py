"""GET /api/health: database, workers and run queue; 200 or 503, no sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, JobRun, Worker
from jobs.selectors import MSG_DATABASE_DOWN, MSG_NO_WORKER_ALIVE
from jobs.services.jobs import job_save

pytestmark = pytest.mark.django_db

HEALTH = "api:health"
LOST_AFTER = 60.0


@pytest.fixture(autouse=True)
def lost_after(settings: Any) -> None:
    """Workers count as lost after a minute without a heartbeat."""
    settings.JOB_PORTAL_WORKER_LOST_AFTER = LOST_AFTER


def make_worker(name: str, *, seen_ago: float, **fields: Any) -> Worker:
    """Record a worker whose last heartbeat was `seen_ago` seconds ago."""
    seen = timezone.now() - timedelta(seconds=seen_ago)
    fields.setdefault("last_cycle_at", seen)
    return Worker.objects.create(
        name=name,
        host=f"{name}.internal",
        pid=4242,
        started_at=seen - timedelta(hours=1),
        last_heartbeat_at=seen,
        **fields,
    )


def iso(moment: datetime | None) -> str | None:
    """Return `moment` as the API renders it (UTC, "Z"; None as null)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_healthy_with_a_live_worker(api_client: Any) -> None:
    """The database answers and a worker heart-beat recently: 200, "ok"."""
    worker = make_worker("alpha", seen_ago=5)

    response = api_client.get(reverse(HEALTH))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "problems": [],
        "database": {"ok": True, "error": None},
        "workers": [
            {
                "name": "alpha",
                "host": "alpha.internal",
                "last_heartbeat_at": iso(worker.last_heartbeat_at),
                "last_cycle_at": iso(worker.last_cycle_at),
                "alive": True,
            }
        ],
        "last_cycle_at": iso(worker.last_cycle_at),
        "runs": {"queued": 0, "running": 0},
    }


def test_no_worker_is_503(api_client: Any) -> None:
    """Nothing would run the jobs: unhealthy, saying why."""
    response = api_client.get(reverse(HEALTH))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["problems"] == [MSG_NO_WORKER_ALIVE.format(seconds=LOST_AFTER)]
    assert body["database"] == {"ok": True, "error": None}
    assert body["workers"] == []
    assert body["last_cycle_at"] is None


def test_a_stale_worker_is_listed_but_not_alive(api_client: Any) -> None:
    """A worker silent for longer than the limit does not count: 503."""
    make_worker("stale", seen_ago=LOST_AFTER + 30)

    response = api_client.get(reverse(HEALTH))

    assert response.status_code == 503
    assert [(w["name"], w["alive"]) for w in response.json()["workers"]] == [
        ("stale", False)
    ]


def test_one_live_worker_among_stale_ones_is_enough(api_client: Any) -> None:
    """Workers are listed by latest heartbeat; one alive makes it healthy."""
    make_worker("stale", seen_ago=LOST_AFTER * 10)
    make_worker("alive", seen_ago=1)

    response = api_client.get(reverse(HEALTH))

    assert response.status_code == 200
    assert [(w["name"], w["alive"]) for w in response.json()["workers"]] == [
        ("alive", True),
        ("stale", False),
    ]


def test_stopped_workers_are_left_out(api_client: Any) -> None:
    """A worker that shut down cleanly is neither listed nor alive."""
    make_worker("gone", seen_ago=1, stopped_at=timezone.now())

    response = api_client.get(reverse(HEALTH))

    assert response.status_code == 503
    assert response.json()["workers"] == []


def test_last_cycle_is_the_newest_of_all_workers(api_client: Any) -> None:
    """The last scheduling cycle is the latest any worker finished."""
    newest = timezone.now() - timedelta(seconds=3)
    make_worker("alpha", seen_ago=10)
    make_worker("beta", seen_ago=2, last_cycle_at=newest)

    body = api_client.get(reverse(HEALTH)).json()

    assert body["last_cycle_at"] == iso(newest)


def test_counts_queued_and_running_runs(
    api_client: Any, scripts_dir: Path, now: datetime
) -> None:
    """Runs waiting and running, across all jobs; finished ones do not count."""
    make_worker("alpha", seen_ago=1)
    job = job_save(
        job=Job(name="nightly", script="ok.py"),
        schedules=[{"type": "daily", "time": "09:00"}],
        now=now,
    )
    statuses = ["queued", "queued", "running", "succeeded", "failed"]
    for hour, status in enumerate(statuses):
        slot = now + timedelta(hours=hour)
        JobRun.objects.create(
            job=job,
            scheduled_for=slot,
            trigger=JobRun.Trigger.SCHEDULE,
            status=status,
            queued_at=slot,
            not_before=slot,
        )

    body = api_client.get(reverse(HEALTH)).json()

    assert body["runs"] == {"queued": 2, "running": 1}


def test_answer_never_shows_a_pid(api_client: Any) -> None:
    """Anyone may read the report: it leaves process ids out."""
    make_worker("alpha", seen_ago=1)

    worker = api_client.get(reverse(HEALTH)).json()["workers"][0]

    assert set(worker) == {
        "name",
        "host",
        "last_heartbeat_at",
        "last_cycle_at",
        "alive",
    }


@pytest.fixture
def database_down() -> Iterator[None]:
    """Make every new query on the default database fail, as when it is down."""
    with mock.patch.object(
        connections["default"],
        "cursor",
        autospec=True,
        side_effect=OperationalError("connection to 10.0.0.5 refused"),
    ):
        yield


def test_database_down_is_503_not_500(api_client: Any, database_down: None) -> None:
    """A database failure is reported with a fixed message, hiding its text."""
    response = api_client.get(reverse(HEALTH))

    assert response.status_code == 503
    assert response.json() == {
        "status": "unhealthy",
        "problems": [MSG_DATABASE_DOWN],
        "database": {"ok": False, "error": MSG_DATABASE_DOWN},
        "workers": [],
        "last_cycle_at": None,
        "runs": None,
    }


def test_health_ignores_credentials(api_client: Any) -> None:
    """No authentication runs: a bad token cannot turn the check into a 401."""
    make_worker("alpha", seen_ago=1)

    response = api_client.get(reverse(HEALTH), HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 200


def test_health_is_never_rate_limited(api_client: Any, settings: Any) -> None:
    """A monitor polling far past the anonymous rate never sees a 429."""
    from django.core.cache import caches

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/minute", "anon": "1/minute"},
    }
    caches["throttle"].clear()
    make_worker("w1", seen_ago=1)
    codes = {api_client.get(reverse(HEALTH)).status_code for _ in range(10)}
    assert codes == {200}
