"""Text the admin and the API both show: instants, fire times, notes.

Plain formatting of values the selectors and services return, with no
HTML and no request: the admin wraps it in markup, the API in JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jobs.dst import OffsetChange, fold_index

if TYPE_CHECKING:
    from jobs import blackout
    from jobs import schedule as engine
    from jobs.models import JobRun, JobTemplateVersion, JobVersion

# Longest script content a page or an answer shows; longer is cut, noted.
MAX_SHOWN_LINES = 5000

MSG_DST_MOVED = "moved from {wall:%H:%M} by a DST gap"
MSG_BLACKOUT_REMOVED = "removed by blackout window {window}"
MSG_FOLD = (
    "{which} of the two {wall:%H:%M}s: the clocks fall back and this hour repeats"
)
FOLD_WHICH = ("first", "second")
MSG_OFFSET_CHANGE = (
    "Next DST change in {zone}: {before} becomes {after} (clocks {direction} {amount})."
)
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


def describe_fire(
    fire: engine.FireTime, zone: tzinfo, hit: blackout.Hit | None = None
) -> str:
    """Return a fire time in `zone` and UTC, noting DST and a blackout."""
    text = format_instant(fire.at, zone)
    note = fire_note(fire)
    if note is not None:
        text = f"{text} ({note})"
    if hit is not None:
        text = f"{text} ({MSG_BLACKOUT_REMOVED.format(window=repr(hit.name))})"
    return text


def fire_note(fire: engine.FireTime) -> str | None:
    """Return what DST did to a fire time, in words, or None."""
    if fire.moved_from is not None:
        return MSG_DST_MOVED.format(wall=fire.moved_from)
    fold = fold_index(fire.local)
    if fold is None:
        return None
    return MSG_FOLD.format(which=FOLD_WHICH[fold].capitalize(), wall=fire.local)


def describe_offset_change(change: OffsetChange, zone: ZoneInfo) -> str:
    """Return a zone's offset change in words, both sides in local time."""
    before = (change.at - timedelta(microseconds=1)).astimezone(zone)
    after = change.at.astimezone(zone)
    minutes = abs(int(change.shift.total_seconds())) // 60
    amount = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
    return MSG_OFFSET_CHANGE.format(
        zone=zone.key,
        before=f"{before:%Y-%m-%d %H:%M:%S} {before.tzname()}",
        after=f"{after:%H:%M:%S} {after.tzname()}",
        direction="forward" if change.shift > timedelta(0) else "back",
        amount=amount,
    )


def fire_time_json(
    fire: engine.FireTime, hit: blackout.Hit | None = None
) -> dict[str, Any]:
    """Return one fire time for the preview's JSON answer.

    "blackout" names the window ("calendar: window") that removes the slot,
    or is None.
    """
    return {
        "at": fire.at.isoformat(),
        "local": fire.local.isoformat(),
        "moved_from": fire.moved_from.isoformat() if fire.moved_from else None,
        "fold": fold_index(fire.local),
        "blackout": hit.name if hit is not None else None,
        "text": describe_fire(fire, fire.local.tzinfo or UTC, hit),
    }


def author_name(version: JobVersion | JobTemplateVersion) -> str:
    """Return who stored the version, or "system"."""
    return version.author.get_username() if version.author else "system"


def run_live_json(
    run: JobRun, *, now: datetime, with_output: bool = True
) -> dict[str, Any]:
    """Return what a page showing `run` refreshes while it runs (the live poll).

    `now` lets the page tick the elapsed time against the server's clock.
    """
    end = run.finished_at or (now if run.started_at else None)
    elapsed = (end - run.started_at).total_seconds() if run.started_at and end else None
    body: dict[str, Any] = {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "is_finished": run.is_finished,
        "attempt": run.attempt,
        "exit_code": run.exit_code,
        "reason": run.reason,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "elapsed_seconds": elapsed,
        "now": now.isoformat(),
    }
    if with_output:
        body["output"] = run.output
        body["output_dropped_bytes"] = run.output_dropped_bytes
    return body
