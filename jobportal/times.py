"""The one rule for showing an instant in the admin.

An instant is shown in the viewer's own zone (their display setting), else in
the job's zone when it belongs to a job, else in JOB_PORTAL_TIMEZONE; always
with seconds, its zone's abbreviation, and UTC on hover (the `title`).
`accounts.middleware.DisplayZoneMiddleware` activates the viewer's zone for
the request, as Django's `timezone.activate` does for its own; pages and
admin columns call `instant_html` or the `instant` template filter
(`{% load portal_time %}`), never `strftime` on their own.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asgiref.local import Local
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

JOB_ZONE_LABEL = "job's zone"
_viewer = Local()


def zone_named(name: str | None) -> ZoneInfo | None:
    """Return the IANA zone `name`, or None if it is empty or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def activate_viewer_zone(name: str | None) -> None:
    """Show instants in zone `name` for the rest of this request (None: no choice)."""
    _viewer.zone = zone_named(name)


def viewer_zone() -> ZoneInfo | None:
    """Return the viewer's chosen zone for this request, or None."""
    return getattr(_viewer, "zone", None)


def display_zone(job_zone: str | None = None) -> tzinfo:
    """Return the zone to show an instant in: viewer's, job's, then the portal's."""
    return (
        viewer_zone()
        or zone_named(job_zone)
        or zone_named(settings.JOB_PORTAL_TIMEZONE)
        or UTC
    )


def zone_label(*, per_job: bool) -> str:
    """Return how a list column names its zone: "Asia/Hong_Kong", "job's zone"."""
    chosen = viewer_zone()
    if chosen is not None:
        return chosen.key
    if per_job:
        return JOB_ZONE_LABEL
    return str(getattr(display_zone(), "key", "UTC"))


def instant_text(at: datetime, zone: tzinfo, *, with_date: bool = True) -> str:
    """Return `at` in `zone` with seconds: "2026-12-02 21:03:58 HKT"."""
    local = at.astimezone(zone)
    shown = f"{local:%Y-%m-%d %H:%M:%S}" if with_date else f"{local:%H:%M:%S}"
    return f"{shown} {local.tzname()}"


def utc_text(at: datetime) -> str:
    """Return `at` in UTC with seconds: "2026-12-02 13:03:58 UTC"."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def instant_html(
    at: datetime | None,
    *,
    job_zone: str | None = None,
    same_day_as: datetime | None = None,
) -> SafeString | str:
    """Return `at` as a <time> in the display zone, with UTC on hover.

    The date is left out when it is `same_day_as`'s date in that zone (a
    run's end after its start); "-" stands for no instant.
    """
    if at is None:
        return "-"
    zone = display_zone(job_zone)
    with_date = (
        same_day_as is None
        or same_day_as.astimezone(zone).date() != at.astimezone(zone).date()
    )
    return format_html(
        '<time datetime="{}" title="{}" class="portal-instant">{}</time>',
        at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        utc_text(at),
        instant_text(at, zone, with_date=with_date),
    )
