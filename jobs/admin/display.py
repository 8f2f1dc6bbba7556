"""Rendering helpers for the jobs admin: instants in two zones, badges, durations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs import blackout
from jobs import schedule as engine
from jobs.presentation import describe_fire, instant_parts

MSG_NO_FIRE_TIMES = "Only runs when triggered."


def count_jobs(count: int) -> str:
    """Return "1 job" or "N jobs"."""
    return "1 job" if count == 1 else f"{count} jobs"


def zone_or_utc(name: str) -> tzinfo:
    """Return the IANA zone `name`, or UTC when the name is not valid."""
    try:
        return engine.parse_timezone(name)
    except engine.ScheduleError:
        return UTC


def instant_html(at: datetime, zone: tzinfo) -> SafeString:
    """Return `format_instant` as HTML that wraps only between the two parts."""
    local_text, utc_text = instant_parts(at, zone)
    if utc_text is None:
        return format_html('<span class="jobs-nowrap">{}</span>', local_text)
    return format_html(
        '<span class="jobs-nowrap">{}</span> <span class="jobs-nowrap">/ {}</span>',
        local_text,
        utc_text,
    )


def fire_times_html(
    fires: Iterable[engine.FireTime],
    zone: tzinfo,
    calendars: Sequence[blackout.Calendar] = (),
) -> SafeString:
    """Return fire times as an ordered list; DST-moved ones are marked.

    So are the slots a window of `calendars` removes (class jobs-blackout).
    """
    rows = []
    for fire in fires:
        hit = blackout.blackout_at(calendars, fire.at)
        classes = " ".join(
            name
            for name, marked in (
                ("jobs-moved", fire.moved_from is not None),
                ("jobs-blackout", hit is not None),
            )
            if marked
        )
        rows.append((classes, describe_fire(fire, zone, hit)))
    items = format_html_join("", '<li class="{}">{}</li>', rows)
    return format_html('<ol class="jobs-fire-times">{}</ol>', items)


def status_badge(status: str | None, label: str) -> SafeString:
    """Return a run status as a colored badge."""
    return format_html(
        '<span class="jobs-status jobs-status-{}">{}</span>', status or "none", label
    )


def format_duration(seconds: float | None) -> str:
    """Return a duration as "0.4s", "12s", "3m 05s" or "2h 01m"."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def fire_times_or_note(
    fires: list[engine.FireTime],
    *,
    zone: tzinfo | None,
    calendars: Sequence[blackout.Calendar] = (),
) -> SafeString:
    """Render fire times (in `zone`, else each fire's own zone) or a note."""
    if not fires:
        return format_html('<p class="jobs-preview-note">{}</p>', MSG_NO_FIRE_TIMES)
    if zone is None:
        zone = fires[0].local.tzinfo or UTC
    return fire_times_html(fires, zone, calendars)
