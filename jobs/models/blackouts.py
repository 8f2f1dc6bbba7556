"""Blackout calendars: windows in which scheduled slots do not run.

A calendar is attached to jobs (`Job.blackout_calendars`) or global (every
job). `jobs.blackout` decides, purely, whether an instant is inside one of
its windows; `as_calendar` turns the rows into that module's values.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import ClassVar, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import models

from jobs import blackout
from jobs.validators import validate_timezone

MSG_KIND_FIELDS = "A {kind} window needs: {fields}."
MSG_END_BEFORE_START = "The end must be after the start."
MSG_NAME_CHARACTERS = "A calendar's name may not contain a comma."


def validate_calendar_name(value: str) -> None:
    """Refuse a name that a comma-separated list could not name."""
    if "," in value:
        raise ValidationError(MSG_NAME_CHARACTERS)


class BlackoutCalendar(models.Model):
    """A named set of blackout windows in one timezone."""

    name = models.CharField(
        max_length=100, unique=True, validators=[validate_calendar_name]
    )
    description = models.TextField(blank=True)
    timezone = models.CharField(
        max_length=64,
        validators=[validate_timezone],
        help_text="IANA zone of the weekly windows' and holidays' wall-clock times.",
    )
    is_global = models.BooleanField(
        "global", default=False, help_text="Applies to every job."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def as_calendar(self) -> blackout.Calendar:
        """Return the calendar as `jobs.blackout` values (windows prefetched)."""
        return blackout.Calendar(
            name=self.name,
            zone=ZoneInfo(self.timezone),
            windows=tuple(w.as_named_window() for w in self.windows.all()),
        )


class BlackoutWindow(models.Model):
    """One window of a calendar: a one-off range, a weekly window or a holiday."""

    class Kind(models.TextChoices):
        ONE_OFF = "one_off", "One-off range"
        WEEKLY = "weekly", "Weekly"
        HOLIDAY = "holiday", "Holiday (whole local day)"

    class Weekday(models.IntegerChoices):
        MON = 0, "Monday"
        TUE = 1, "Tuesday"
        WED = 2, "Wednesday"
        THU = 3, "Thursday"
        FRI = 4, "Friday"
        SAT = 5, "Saturday"
        SUN = 6, "Sunday"

    # The fields each kind needs; the others stay empty.
    KIND_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        Kind.ONE_OFF: ("starts_at", "ends_at"),
        Kind.WEEKLY: ("weekday", "start_time", "end_time"),
        Kind.HOLIDAY: ("day",),
    }
    # What a user edits, in the admin's and the API's order.
    FIELDS: ClassVar[tuple[str, ...]] = (
        "kind",
        "label",
        "starts_at",
        "ends_at",
        "weekday",
        "start_time",
        "end_time",
        "day",
    )

    calendar = models.ForeignKey(
        BlackoutCalendar, on_delete=models.CASCADE, related_name="windows"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(
        max_length=100, blank=True, help_text='e.g. "Christmas"; default: the dates.'
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, null=True, blank=True
    )
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(
        null=True,
        blank=True,
        help_text="At or before the start: the window ends the next day.",
    )
    day = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ("calendar", "kind", "day", "weekday", "start_time", "starts_at")

    def __str__(self) -> str:
        return f"{self.calendar_id}: {self.display_label}"

    def clean(self) -> None:
        """Require exactly the fields the kind needs."""
        needed = self.KIND_FIELDS.get(self.kind, ())
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            kind = self.Kind(self.kind).label.lower()
            raise ValidationError(
                {
                    name: MSG_KIND_FIELDS.format(kind=kind, fields=", ".join(needed))
                    for name in missing
                }
            )
        for names in self.KIND_FIELDS.values():
            for name in names:
                if name not in needed:
                    setattr(self, name, None)
        window = self.as_window()
        if isinstance(window, blackout.OneOff) and window.end <= window.start:
            raise ValidationError({"ends_at": MSG_END_BEFORE_START})

    @property
    def display_label(self) -> str:
        """Return the label, or the window's dates and times in words."""
        if self.label:
            return self.label
        window = self.as_window()
        if isinstance(window, blackout.Weekly):
            return blackout.weekly_label(window.weekday, window.start, window.end)
        if isinstance(window, blackout.Holiday):
            return f"holiday {window.day}"
        return f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC"

    def as_window(self) -> blackout.Window:
        """Return the window as a `jobs.blackout` value (after `clean`)."""
        # clean() guarantees the kind's fields are set.
        if self.kind == self.Kind.WEEKLY:
            return blackout.Weekly(
                cast(int, self.weekday),
                cast(time, self.start_time),
                cast(time, self.end_time),
            )
        if self.kind == self.Kind.HOLIDAY:
            return blackout.Holiday(cast(date, self.day))
        start, end = cast(datetime, self.starts_at), cast(datetime, self.ends_at)
        return blackout.OneOff(start, end)

    def as_named_window(self) -> blackout.NamedWindow:
        """Return the window with its label as a `jobs.blackout` value."""
        return blackout.NamedWindow(self.display_label, self.as_window())
