"""`jobportal.times`: the one rule for showing an instant in the admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobportal import times

AT = datetime(2026, 12, 2, 13, 3, 58, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_viewer_zone(settings: Any) -> Iterator[None]:
    """Start each test with no viewer zone and the portal zone Hong Kong."""
    settings.JOB_PORTAL_TIMEZONE = "Asia/Hong_Kong"
    times.activate_viewer_zone(None)
    yield
    times.activate_viewer_zone(None)


def test_the_job_zone_wins_over_the_portal_zone() -> None:
    """Without a viewer zone, a job's instant is shown in the job's zone."""
    assert times.display_zone("America/New_York") == ZoneInfo("America/New_York")
    assert times.display_zone() == ZoneInfo("Asia/Hong_Kong")


def test_the_viewer_zone_wins_over_the_job_zone() -> None:
    """A viewer's chosen zone is used for every instant."""
    times.activate_viewer_zone("Europe/Paris")
    assert times.display_zone("America/New_York") == ZoneInfo("Europe/Paris")


def test_an_unknown_zone_falls_back() -> None:
    """A bad viewer or job zone never breaks a page: the next rule applies."""
    times.activate_viewer_zone("Mars/Olympus")
    assert times.display_zone("Nowhere/Land") == ZoneInfo("Asia/Hong_Kong")


def test_text_has_seconds_and_the_zone_abbreviation() -> None:
    """21:03:58 HKT for 13:03:58 UTC."""
    zone = ZoneInfo("Asia/Hong_Kong")
    assert times.instant_text(AT, zone) == "2026-12-02 21:03:58 HKT"
    assert times.instant_text(AT, zone, with_date=False) == "21:03:58 HKT"


def test_html_carries_utc_on_hover_and_a_machine_readable_instant() -> None:
    """The <time> element: ISO UTC in datetime, UTC text in title."""
    html = times.instant_html(AT, job_zone="America/New_York")
    assert html == (
        '<time datetime="2026-12-02T13:03:58Z" title="2026-12-02 13:03:58 UTC" '
        'class="portal-instant">2026-12-02 08:03:58 EST</time>'
    )


def test_html_drops_the_date_on_the_same_local_day() -> None:
    """An end on its start's local day shows the time only."""
    start = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    html = times.instant_html(AT, same_day_as=start)
    assert ">21:03:58 HKT</time>" in html
    assert times.instant_html(None) == "-"


def test_zone_label_names_what_a_column_shows() -> None:
    """A column names the viewer's zone, else "job's zone" or the portal's."""
    assert times.zone_label(per_job=True) == "job's zone"
    assert times.zone_label(per_job=False) == "Asia/Hong_Kong"
    times.activate_viewer_zone("Europe/Paris")
    assert times.zone_label(per_job=True) == "Europe/Paris"
