"""Admin forms for jobs: schedules edited as fields, JSON fields with clear errors.

A schedule is stored as one JSON document (see DESIGN.md, "Schedules"). The
admin edits it as plain fields; `ScheduleForm` builds the document from the
fields of the chosen type only and lets the engine validate it, so the admin,
the API and imports accept exactly the same documents.
"""

from __future__ import annotations

import calendar
import functools
import json
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs import conf, priorities
from jobs import schedule as engine
from jobs.documents import MODEL_FIELDS
from jobs.models import Job, Schedule
from jobs.schedule_text import describe_schedule
from jobs.services.jobs import MSG_NO_SCHEDULES
from jobs.validators import validate_job_secret_names

MSG_BAD_JSON = "Not valid JSON: {error} (line {line}, column {column})."
MSG_PREVIEW_SCHEDULE = "Send the schedule document as JSON in 'schedule'."

TIMEZONE_DATALIST_ID = "jobs-timezones"
PRIORITY_DATALIST_ID = "jobs-priorities"
MSG_PRIORITY_HELP = (
    "high (10), normal (0), low (-10) or any whole number; higher runs first "
    "when work queues."
)

# The document fields each schedule type takes, in the order the form shows
# them; "timezone" is accepted by every type. From the engine's table.
SCHEDULE_FIELDS: dict[str, tuple[str, ...]] = {
    name: (*kind.fields, *kind.optional) for name, kind in engine.KINDS.items()
}
TYPE_CHOICES = tuple((name, kind.label) for name, kind in engine.KINDS.items())
WEEKDAY_CHOICES = tuple((day, day.capitalize()) for day in engine.WEEKDAYS)
DAY_CHOICES = (
    ("", "---------"),
    *((str(day), str(day)) for day in range(1, 32)),
    ("last", "Last day of the month"),
)
MONTH_CHOICES = (
    ("", "---------"),
    *((str(number), calendar.month_name[number]) for number in range(1, 13)),
)
# Form fields that map one-to-one onto document fields: every kind's fields,
# each once, in the order the kinds first name them, then the zone.
DOCUMENT_FIELDS: tuple[str, ...] = (
    *dict.fromkeys(name for fields in SCHEDULE_FIELDS.values() for name in fields),
    "timezone",
)


class JSONTextField(forms.JSONField):
    """A JSON form field whose parse error says what is wrong and where."""

    def to_python(self, value: Any) -> Any:
        """Return the decoded value, or raise a `ValidationError` naming the error."""
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value, cls=self.decoder)
            except json.JSONDecodeError as exc:
                raise ValidationError(bad_json_message(exc), code="invalid") from None
        return super().to_python(value)


def bad_json_message(exc: json.JSONDecodeError) -> str:
    """Return the form message for a JSON parse error."""
    return MSG_BAD_JSON.format(error=exc.msg, line=exc.lineno, column=exc.colno)


@functools.cache
def timezone_names() -> tuple[str, ...]:
    """Return the IANA zone names, sorted, for the timezone fields' suggestions."""
    return tuple(sorted(zoneinfo.available_timezones()))


def valid_timezone_or_default(name: str | None) -> str:
    """Return `name` if it is an IANA zone, else the portal's default zone.

    Schedule rows are validated against the job's zone; while that zone is
    itself invalid the job form reports it, and the rows fall back to the
    default so that they do not repeat the same error.
    """
    try:
        engine.parse_timezone(name)
    except engine.ScheduleError:
        return conf.default_timezone()
    return str(name)


def document_from_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the schedule document made of the chosen type's fields only.

    Empty fields are left out so that the engine reports them as required.
    """
    kind = values["type"]
    document: dict[str, Any] = {"type": kind}
    for name in (*SCHEDULE_FIELDS.get(kind, ()), "timezone"):
        value: Any = values.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, "", [], ()):
            document[name] = list(value) if name == "weekdays" else value
    return document


def fields_from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return form initial values for a stored document.

    A document the fields cannot show (an unknown type or field) goes to the
    raw JSON box whole, so that saving the form keeps it unchanged.
    """
    kind = document.get("type")
    known = {"type", "timezone", *SCHEDULE_FIELDS.get(str(kind), ())}
    if kind not in SCHEDULE_FIELDS or set(document) - known:
        return {"type": "manual", "raw": json.dumps(dict(document))}
    initial: dict[str, Any] = {"type": kind}
    for name in DOCUMENT_FIELDS:
        value = document.get(name)
        if value is None:
            continue
        initial[name] = list(value) if name == "weekdays" else str(value)
    return initial


class PriorityInput(forms.TextInput):
    """A text box offering the priority level names, taking any integer too."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        """Point the box at the level names' datalist."""
        super().__init__({"list": PRIORITY_DATALIST_ID, "size": 8, **(attrs or {})})

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        """Render the box, then the names it offers."""
        options = format_html_join(
            "",
            '<option value="{}">{} ({})</option>',
            ((level, level, number) for level, number in priorities.LEVELS.items()),
        )
        datalist = format_html(
            '<datalist id="{}">{}</datalist>', PRIORITY_DATALIST_ID, options
        )
        return format_html(
            "{}{}", super().render(name, value, attrs, renderer), datalist
        )


class PriorityFormField(forms.IntegerField):
    """A job's priority: high, normal, low (`jobs.priorities`) or an integer.

    A saved level shows as its name; any other integer as the number.
    """

    widget = PriorityInput
    default_error_messages = {  # noqa: RUF012 - Django's own class attribute
        "invalid": priorities.MSG_PRIORITY
    }

    def to_python(self, value: Any) -> int | None:
        """Read a level name as its integer, then as an integer field does."""
        return super().to_python(priorities.priority_from_name(value))

    def prepare_value(self, value: Any) -> Any:
        """Show a level's integer as its name."""
        if isinstance(value, int) and not isinstance(value, bool):
            return priorities.priority_text(value)
        return value


class JobForm(forms.ModelForm):
    """The job's own fields; JSON fields report parse errors as form errors."""

    # Declared, so that the admin's number box for integers does not replace
    # the box that takes level names.
    priority = PriorityFormField(initial=priorities.NORMAL, help_text=MSG_PRIORITY_HELP)
    # Empty JSON boxes mean "none", not null (the columns are NOT NULL).
    JSON_EMPTY: ClassVar[dict[str, Callable[[], Any]]] = {
        "args": list,
        "env": dict,
        "retry_exit_codes": list,
    }

    class Meta:
        model = Job
        fields = (*MODEL_FIELDS, "owner")
        field_classes: ClassVar[dict[str, type[forms.Field]]] = {
            "args": JSONTextField,
            "env": JSONTextField,
            "retry_exit_codes": JSONTextField,
        }
        widgets: ClassVar[dict[str, forms.Widget]] = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "args": forms.Textarea(attrs={"rows": 2, "class": "jobs-json"}),
            "env": forms.Textarea(attrs={"rows": 3, "class": "jobs-json"}),
            "retry_exit_codes": forms.TextInput(attrs={"class": "jobs-json"}),
            "timezone": forms.TextInput(attrs={"list": TIMEZONE_DATALIST_ID}),
        }

    def clean_secrets(self) -> Any:
        """Refuse secrets whose names make other code run (`jobs.run_env`)."""
        secrets = self.cleaned_data["secrets"]
        validate_job_secret_names(secret.name for secret in secrets)
        return secrets

    def clean(self) -> dict[str, Any]:
        """Turn empty JSON boxes into their empty value."""
        super().clean()
        cleaned = self.cleaned_data
        for name, empty in self.JSON_EMPTY.items():
            if name in cleaned and cleaned[name] is None:
                cleaned[name] = empty()
        return cleaned


class ScheduleForm(forms.ModelForm):
    """One schedule, edited as fields; stores the engine-normalised document."""

    type = forms.ChoiceField(choices=TYPE_CHOICES, initial="daily")
    seconds = forms.CharField(
        label="Every (seconds)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 1}),
    )
    minute = forms.CharField(
        label="Minute past the hour",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 59}),
    )
    # A plain text box, not the browser's time widget: that one shows
    # "09:00 AM" in some locales and silently empties a typed 25:00, which
    # then reads as "required"; the engine's message says what is wrong.
    time = forms.CharField(
        required=False,
        help_text="24-hour HH:MM (00:00 to 23:59), in the schedule's timezone.",
        widget=forms.TextInput(
            attrs={
                "placeholder": "HH:MM",
                "class": "jobs-time",
                "inputmode": "numeric",
                "maxlength": 5,
                "size": 6,
                "autocomplete": "off",
            }
        ),
    )
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "jobs-weekdays"}),
    )
    day = forms.ChoiceField(label="Day of month", choices=DAY_CHOICES, required=False)
    month = forms.ChoiceField(choices=MONTH_CHOICES, required=False)
    expression = forms.CharField(
        label="Cron expression",
        required=False,
        help_text=(
            "Five fields: minute hour day-of-month month day-of-week "
            "(e.g. <code>30 2 * * 1-5</code>), or @hourly, @daily, @weekly, "
            "@monthly, @yearly."
        ),
        widget=forms.TextInput(attrs={"placeholder": "30 2 * * 1-5"}),
    )
    start = forms.CharField(
        label="Start",
        required=False,
        help_text=(
            "Optional: the first fire, an instant with its offset (e.g. "
            "<code>2026-03-01T14:10:00+08:00</code>); then every interval after "
            "it. Blank: from when the job is first saved."
        ),
    )
    at = forms.CharField(
        label="At",
        required=False,
        help_text=(
            "Local date and time, <code>YYYY-MM-DDTHH:MM</code>, in the "
            "schedule's timezone."
        ),
        widget=forms.TextInput(
            attrs={"type": "datetime-local", "placeholder": "2026-12-24T09:00"}
        ),
    )
    timezone = forms.CharField(
        required=False,
        help_text="Blank means the job's timezone.",
        widget=forms.TextInput(attrs={"list": TIMEZONE_DATALIST_ID}),
    )
    raw = forms.CharField(
        label="Advanced: raw JSON",
        required=False,
        help_text=(
            'A schedule document, e.g. <code>{"type": "daily", "time": "09:00"}'
            "</code>. When filled, it is used instead of the fields above."
        ),
        widget=forms.Textarea(attrs={"rows": 2, "class": "jobs-json"}),
    )

    class Meta:
        model = Schedule
        fields = ()

    def __init__(
        self, *args: Any, job_timezone: str | None = None, **kwargs: Any
    ) -> None:
        """Take the job's zone, which schedules without their own zone use."""
        super().__init__(*args, **kwargs)
        self.job_timezone = job_timezone or conf.default_timezone()
        if self.instance.pk and isinstance(self.instance.document, Mapping):
            self.initial.update(fields_from_document(self.instance.document))

    @property
    def summary(self) -> str:
        """Describe the saved schedule in words, for the row's heading."""
        return describe_schedule(self.instance.document, timezone=self.job_timezone)

    def clean(self) -> dict[str, Any]:
        """Build the document from the chosen type's fields and validate it."""
        super().clean()
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        raw = cleaned.get("raw", "").strip()
        if raw:
            try:
                document = json.loads(raw)
            except json.JSONDecodeError as exc:
                self.add_error("raw", bad_json_message(exc))
                return cleaned
        else:
            document = document_from_fields(cleaned)
        try:
            parsed = engine.parse_schedule(document, default_timezone=self.job_timezone)
        except engine.ScheduleError as exc:
            self._add_schedule_error(exc, from_raw=bool(raw))
            return cleaned
        cleaned["document"] = parsed.document
        self.instance.document = parsed.document
        return cleaned

    def _add_schedule_error(self, exc: engine.ScheduleError, *, from_raw: bool) -> None:
        # The message goes next to the field it is about; raw JSON and
        # fields the form lacks keep the engine's "field: message" form.
        if from_raw:
            self.add_error("raw", str(exc))
        elif exc.field in DOCUMENT_FIELDS:
            self.add_error(exc.field, exc.message)
        else:
            self.add_error(None, str(exc))


class ScheduleFormSet(BaseInlineFormSet):
    """A job's schedules: at least one must remain."""

    def kept_forms(self) -> list[ScheduleForm]:
        """Return the valid forms that hold a schedule and are not deleted."""
        return [
            form
            for form in self.forms
            if form.cleaned_data.get("document") is not None
            # `_should_delete_form` is Django's own test, missing from the stubs.
            and not (self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]
        ]

    def schedule_documents(self) -> list[dict[str, Any]]:
        """Return the normalised documents of the kept schedules, in order."""
        return [form.cleaned_data["document"] for form in self.kept_forms()]

    def clean(self) -> None:
        """Refuse a job left without schedules."""
        super().clean()
        if any(self.errors):
            return
        if not self.kept_forms():
            raise ValidationError(MSG_NO_SCHEDULES, code="no_schedules")


class SchedulePreviewForm(forms.Form):
    """The live preview's input: one schedule document and the job's zone."""

    schedule = JSONTextField(
        error_messages={"required": MSG_PREVIEW_SCHEDULE},
    )
    timezone = forms.CharField(required=False)

    def clean_timezone(self) -> str:
        """Return the job's zone, the portal's default when left blank."""
        return self.cleaned_data["timezone"].strip() or conf.default_timezone()


MAX_PREVIEW_COUNT = 100
DEFAULT_PREVIEW_COUNT = 10


class FireTimesPreviewForm(forms.Form):
    """The job's schedule preview page: from which local date, how many."""

    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="A date in the job's zone; empty: from now.",
    )
    count = forms.IntegerField(
        min_value=1,
        max_value=MAX_PREVIEW_COUNT,
        initial=DEFAULT_PREVIEW_COUNT,
        required=False,
        help_text=f"How many fire times, 1 to {MAX_PREVIEW_COUNT}.",
    )
