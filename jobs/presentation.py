"""Text the admin and the API both show: instants, fire times, notes.

Plain formatting of values the selectors and services return, with no
HTML and no request: the admin wraps it in markup, the API in JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs import schedule as engine
    from jobs.models import JobTemplateVersion, JobVersion

# Longest script content a page or an answer shows; longer is cut, noted.
MAX_SHOWN_LINES = 5000

MSG_DST_MOVED = "moved from {wall:%H:%M} by a DST gap"
MSG_CUT = "Only the first {shown} of {total} lines are shown."
MSG_NEVER_APPROVED = "Never approved: there is nothing to compare with yet."
MSG_SAME_AS_APPROVED = "The current content is the approved content."
MSG_DIFF_LABEL_APPROVED = "approved {date} by {user}"
MSG_DIFF_LABEL_CURRENT = "current"
MSG_RESTORED = "Restored version {old} of {job} as version {new}."
MSG_RESTORED_UNCHANGED = (
    "Version {old} of {job} is the current definition; nothing changed."
)
MSG_FIRST_VERSION = "The first version: nothing to compare with."


def instant_parts(at: datetime, zone: tzinfo) -> tuple[str, str | None]:
    """Return `at` in `zone` and in UTC: ("2026-03-02 09:00 HKT", "01:00 UTC").

    The UTC part repeats the date only when it differs from the local date,
    and is None when `zone` is UTC itself.
    """
    local, utc = at.astimezone(zone), at.astimezone(UTC)
    clock_format = "%H:%M:%S" if at.second else "%H:%M"
    local_text = f"{local:%Y-%m-%d} {local.strftime(clock_format)}"
    if local.utcoffset() == utc.utcoffset() and local.tzname() in ("UTC", None):
        return f"{local_text} UTC", None
    utc_format = (
        clock_format if utc.date() == local.date() else f"%Y-%m-%d {clock_format}"
    )
    return f"{local_text} {local.tzname()}", f"{utc.strftime(utc_format)} UTC"


def format_instant(at: datetime, zone: tzinfo) -> str:
    """Return `at` in `zone` and in UTC: "2026-03-02 09:00 HKT / 01:00 UTC"."""
    local_text, utc_text = instant_parts(at, zone)
    return local_text if utc_text is None else f"{local_text} / {utc_text}"


def describe_fire(fire: engine.FireTime, zone: tzinfo) -> str:
    """Return a fire time in `zone` and UTC, noting a move by a DST gap."""
    text = format_instant(fire.at, zone)
    if fire.moved_from is not None:
        text = f"{text} ({MSG_DST_MOVED.format(wall=fire.moved_from)})"
    return text


def fire_time_json(fire: engine.FireTime) -> dict[str, Any]:
    """Return one fire time for the preview's JSON answer."""
    return {
        "at": fire.at.isoformat(),
        "local": fire.local.isoformat(),
        "moved_from": fire.moved_from.isoformat() if fire.moved_from else None,
        "text": describe_fire(fire, fire.local.tzinfo or UTC),
    }


def author_name(version: JobVersion | JobTemplateVersion) -> str:
    """Return who stored the version, or "system"."""
    return version.author.get_username() if version.author else "system"
