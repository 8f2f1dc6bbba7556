"""Validate a job document: the one schema under the API and `importjobs`.

A document's keys map to the job's model fields (`jobs.documents`); each
value is checked with the model field's own validators, so the admin, the
API and the import refuse the same input with the same messages. Errors
have the API's shape: key -> messages, a group's errors nested under the
group ("retry" -> "max_attempts" -> messages), a schedule's under its
index, and whole-document errors under `NON_FIELD_ERRORS_KEY`.

Values are read as the API reads JSON: text is trimmed, numbers may come as
text ("5", "5.0"), booleans as "yes"/"no", "on"/"off", 1/0 and the like. The
API's serializer (`jobs.api.serializers.JobDocumentSerializer`) states the
same fields for DRF; `jobs/tests/test_document_schema.py` holds both to the
same answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models

from jobportal.text import (
    MSG_UNSTORABLE_TEXT,
    has_unstorable_text,
    unknown_fields_message,
)
from jobs import documents, priorities
from jobs.errors import JobsError
from jobs.models import (
    BlackoutCalendar,
    Job,
    JobDependency,
    Secret,
    default_timezone,
)
from jobs.services.jobs import schedules_validate
from jobs.services.parameters import parameter_documents_validate
from jobs.validators import validate_job_secret_names

NON_FIELD_ERRORS_KEY = "non_field_errors"
MSG_NO_DATA = "No data provided"
MSG_NOT_MAPPING = "Invalid data. Expected a dictionary, but got {datatype}."
MSG_REQUIRED = "This field is required."
MSG_NULL = "This field may not be null."
MSG_BLANK = "This field may not be blank."
MSG_NOT_TEXT = "Not a valid string."
MSG_MAX_LENGTH = "Ensure this field has no more than {max_length} characters."
MSG_NOT_INTEGER = "A valid integer is required."
MSG_NUMBER_TOO_LONG = "String value too large."
MSG_MAX_VALUE = "Ensure this value is less than or equal to {max_value}."
MSG_MIN_VALUE = "Ensure this value is greater than or equal to {min_value}."
MSG_NOT_BOOLEAN = "Must be a valid boolean."
MSG_NOT_CHOICE = '"{input}" is not a valid choice.'
MSG_NOT_JSON = "Value must be valid JSON."
MSG_NOT_LIST = 'Expected a list of items but got type "{input_type}".'
MSG_NOT_IN_SECRETS = "No secret is named {value!r}; create it first (admin: Secrets)."
MSG_INVALID_VALUE = "Invalid value."
MSG_NOT_IN_BLACKOUTS = (
    "No blackout calendar is named {value!r}; create it first (admin: Blackout "
    "calendars, or POST /api/blackouts)."
)
MSG_PRIORITY = priorities.MSG_PRIORITY

TRUE_VALUES = {"t", "y", "yes", "true", "on", "1", 1}
FALSE_VALUES = {"f", "n", "no", "false", "off", "0", 0}
# Longest text read as a number; longer is refused before parsing.
MAX_NUMBER_TEXT = 1000
# A number given as text may end in ".0" ("5.0" is 5; "5.5" is refused).
_WHOLE_DECIMAL = re.compile(r"\.0*\s*$")
# The keys a document may hold, in the order errors are reported.
DOCUMENT_KEYS = (
    *documents.FLAT_FIELDS,
    documents.SECRETS_KEY,
    "schedules",
    documents.PARAMETERS_KEY,
    documents.BLACKOUTS_KEY,
    *documents.GROUPS,
    documents.DEPENDENCIES_KEY,
)
# Keys whose values end up in a process: their text must be storable.
_STORABLE_KEYS = ("args", "env", "schedules")


class DocumentInvalidError(JobsError, ValueError):
    """A job document is invalid; `errors` maps its keys to messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


class _Invalid(Exception):
    """One value is invalid: `detail` is its messages (or nested errors)."""

    def __init__(self, detail: Any) -> None:
        super().__init__(detail)
        self.detail = detail


class _Absent:
    """The key is not in the document."""


ABSENT = _Absent()


def document_validate(data: Any, *, instance: Job | None = None) -> dict[str, Any]:
    """Return the job field values a whole job document sets, validated.

    Keys the document leaves out are left out (their model defaults apply);
    "schedules" holds the normalised schedule documents, "parameters" the
    normalised parameter documents and "secrets" the `Secret`s named.
    `instance` is the job the document updates, if any (its own name is not
    taken). Raise `DocumentInvalidError` with every error.
    """
    if data is None:
        raise DocumentInvalidError({NON_FIELD_ERRORS_KEY: [MSG_NO_DATA]})
    try:
        values = _fields(data, _document_fields(instance))
    except _Invalid as exc:
        raise DocumentInvalidError(exc.detail) from None
    zone = str(values.get("timezone", default_timezone()))
    try:
        values["schedules"] = schedules_validate(values["schedules"], timezone=zone)
    except ValidationError as exc:
        raise DocumentInvalidError(dict(exc.message_dict)) from None
    return values


Check = Callable[[Any], dict[str, Any]]


def _fields(data: Any, checks: Mapping[str, Check]) -> dict[str, Any]:
    """Check a mapping's keys with `checks`; return model values or raise."""
    if not isinstance(data, Mapping):
        message = MSG_NOT_MAPPING.format(datatype=type(data).__name__)
        raise _Invalid({NON_FIELD_ERRORS_KEY: [message]})
    unknown = unknown_fields_message(data, checks)
    if unknown is not None:
        raise _Invalid({NON_FIELD_ERRORS_KEY: [unknown]})
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for key, check in checks.items():
        try:
            values.update(check(data.get(key, ABSENT)))
        except _Invalid as exc:
            errors[key] = exc.detail
    if errors:
        raise _Invalid(errors)
    return values


def _document_fields(instance: Job | None) -> dict[str, Check]:
    """Return the check of each document key, in document order."""
    checks: dict[str, Check] = {
        key: _model_check(key, field, instance=instance)
        for key, field in documents.FLAT_FIELDS.items()
    }
    checks[documents.SECRETS_KEY] = _secrets_check
    checks["schedules"] = _schedules_check
    checks[documents.PARAMETERS_KEY] = _parameters_check
    checks[documents.BLACKOUTS_KEY] = _blackouts_check
    for group, fields in documents.GROUPS.items():
        checks[group] = _group_check(fields, instance=instance)
    checks[documents.DEPENDENCIES_KEY] = _dependencies_check
    return checks


def _group_check(fields: Mapping[str, str], *, instance: Job | None) -> Check:
    """Return the check of a group: a mapping of its own keys, or absent."""
    checks = {
        key: _model_check(key, field, instance=instance)
        for key, field in fields.items()
    }

    def check(value: Any) -> dict[str, Any]:
        if value is ABSENT:
            return {}
        if value is None:
            raise _Invalid([MSG_NULL])
        return _fields(value, checks)

    return check


def _model_check(key: str, name: str, *, instance: Job | None) -> Check:
    """Return the check of one key stored in model field `name`."""
    field = cast(models.Field, Job._meta.get_field(name))
    required = not (field.blank or field.null or field.has_default())
    convert = _converter(field, instance=instance)

    def check(value: Any) -> dict[str, Any]:
        if _is_blank_text(field, value):
            if not field.blank:
                raise _Invalid([MSG_BLANK])
            return {name: ""}
        if value is ABSENT:
            if required:
                raise _Invalid([MSG_REQUIRED])
            return {}
        if value is None:
            if not field.null:
                raise _Invalid([MSG_NULL])
            return {name: None}
        converted = convert(value)
        if key in _STORABLE_KEYS and has_unstorable_text(converted):
            raise _Invalid([MSG_UNSTORABLE_TEXT])
        return {name: converted}

    return check


def _is_blank_text(field: models.Field, value: Any) -> bool:
    """Return True for blank text given for a free-text field (trimmed)."""
    if field.choices or not isinstance(field, models.CharField | models.TextField):
        return False
    return value is not ABSENT and str(value).strip() == ""


def _converter(field: models.Field, *, instance: Job | None) -> Callable[[Any], Any]:
    """Return the function reading and checking a non-empty value of `field`."""
    if field.choices:
        return _choice_converter(field)
    if isinstance(field, models.BooleanField):
        return _boolean
    if field.name == "priority":
        return _integer_converter(
            field, prepare=priorities.priority_from_name, invalid=MSG_PRIORITY
        )
    if isinstance(field, models.IntegerField):
        return _integer_converter(field)
    if isinstance(field, models.JSONField):
        return _json_converter(field)
    return _text_converter(field, instance=instance)


def _run(value: Any, checks: list[Callable[[Any], Any]]) -> Any:
    """Run every check on `value`; raise with all their messages, or return it."""
    messages: list[str] = []
    for check in checks:
        try:
            check(value)
        except ValidationError as exc:
            messages.extend(exc.messages)
    if messages:
        raise _Invalid(messages)
    return value


def _own_validators(field: models.Field, *skip: type) -> list[Callable[[Any], Any]]:
    """Return the field's validators but the limits this module states itself."""
    return [v for v in field.validators if not isinstance(v, skip)]


def _text_converter(
    field: models.Field, *, instance: Job | None, unique: bool = True
) -> Callable[[Any], Any]:
    checks = _own_validators(field, MaxLengthValidator)
    if field.max_length is not None:
        limit = field.max_length
        message = MSG_MAX_LENGTH.format(max_length=limit)
        checks.append(MaxLengthValidator(limit, message=message))
    if field.unique and unique:
        checks.insert(0, _unique_check(field, instance=instance))

    def convert(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Invalid([MSG_NOT_TEXT])
        text = str(value).strip()
        if has_unstorable_text(text):
            raise _Invalid([MSG_UNSTORABLE_TEXT])
        return _run(text, checks)

    return convert


def _unique_check(field: models.Field, *, instance: Job | None) -> Callable[[Any], Any]:
    """Return a check that no other job holds the value of unique `field`."""
    message = field.error_messages["unique"] % {
        "model_name": Job._meta.verbose_name,
        "field_label": field.verbose_name,
    }

    def check(value: Any) -> None:
        others = Job.objects.filter(**{field.name: value})
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            raise ValidationError(message)

    return check


def _integer_converter(
    field: models.Field,
    *,
    prepare: Callable[[Any], Any] = lambda value: value,
    invalid: str = MSG_NOT_INTEGER,
) -> Callable[[Any], Any]:
    """Return the reader of an integer field; `prepare` maps the input first."""
    validators = field.validators
    checks = _own_validators(field, MaxValueValidator, MinValueValidator)
    highest = next(
        (v.limit_value for v in validators if isinstance(v, MaxValueValidator)), None
    )
    lowest = next(
        (v.limit_value for v in validators if isinstance(v, MinValueValidator)), None
    )
    if highest is not None:
        message = MSG_MAX_VALUE.format(max_value=highest)
        checks.append(MaxValueValidator(highest, message=message))
    if lowest is not None:
        message = MSG_MIN_VALUE.format(min_value=lowest)
        checks.append(MinValueValidator(lowest, message=message))

    def convert(value: Any) -> int:
        value = prepare(value)
        if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
            raise _Invalid([MSG_NUMBER_TOO_LONG])
        try:
            number = int(_WHOLE_DECIMAL.sub("", str(value)))
        except (ValueError, TypeError):
            raise _Invalid([invalid]) from None
        return _run(number, checks)

    return convert


def _boolean(value: Any) -> bool:
    """Return the boolean that `value` spells, or raise."""
    key = value.lower() if isinstance(value, str) else value
    try:
        if key in TRUE_VALUES:
            return True
        if key in FALSE_VALUES:
            return False
    except TypeError:
        pass  # An unhashable value (a list, a mapping) is no boolean.
    raise _Invalid([MSG_NOT_BOOLEAN])


def _choice_converter(field: models.Field) -> Callable[[Any], Any]:
    by_text = {str(value): value for value, _ in field.flatchoices}

    def convert(value: Any) -> Any:
        if value == "" and field.blank:
            return ""
        try:
            return by_text[str(value)]
        except KeyError:
            raise _Invalid([MSG_NOT_CHOICE.format(input=value)]) from None

    return convert


def _json_converter(field: models.Field) -> Callable[[Any], Any]:
    checks = list(field.validators)

    def convert(value: Any) -> Any:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise _Invalid([MSG_NOT_JSON]) from None
        return _run(value, checks)

    return convert


def _schedules_check(value: Any) -> dict[str, Any]:
    """Check "schedules": a list of JSON values (the job services check each)."""
    if value is ABSENT:
        raise _Invalid([MSG_REQUIRED])
    if value is None:
        raise _Invalid([MSG_NULL])
    if isinstance(value, str | Mapping) or not hasattr(value, "__iter__"):
        raise _Invalid([MSG_NOT_LIST.format(input_type=type(value).__name__)])
    items, errors = [], {}
    for index, item in enumerate(value):
        if item is None:
            errors[index] = [MSG_NULL]
            continue
        try:
            json.dumps(item, allow_nan=False)
        except (TypeError, ValueError):
            errors[index] = [MSG_NOT_JSON]
        items.append(item)
    if errors:
        raise _Invalid(errors)
    if has_unstorable_text(items):
        raise _Invalid([MSG_UNSTORABLE_TEXT])
    return {"schedules": items}


def _parameters_check(value: Any) -> dict[str, Any]:
    """Check "parameters": a list of parameter documents."""
    if value is ABSENT:
        return {}
    if value is None:
        raise _Invalid([MSG_NULL])
    if has_unstorable_text(value):
        raise _Invalid([MSG_UNSTORABLE_TEXT])
    try:
        return {documents.PARAMETERS_KEY: parameter_documents_validate(value)}
    except ValidationError as exc:
        raise _Invalid(exc.message_dict[documents.PARAMETERS_KEY]) from None


def _secrets_check(value: Any) -> dict[str, Any]:
    """Check "secrets": a list of the names of existing secrets."""
    if value is ABSENT:
        return {}
    if value is None:
        raise _Invalid([MSG_NULL])
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise _Invalid([MSG_NOT_LIST.format(input_type=type(value).__name__)])
    return {documents.SECRETS_KEY: [_secret(name) for name in value]}


def _secret(name: Any) -> Secret:
    """Return the secret called `name`, or raise."""
    if isinstance(name, str) and has_unstorable_text(name):
        raise _Invalid([MSG_UNSTORABLE_TEXT])
    try:
        secret = Secret.objects.get(name=name)
    except Secret.DoesNotExist:
        raise _Invalid([MSG_NOT_IN_SECRETS.format(value=str(name))]) from None
    except (TypeError, ValueError):
        raise _Invalid([MSG_INVALID_VALUE]) from None
    try:
        validate_job_secret_names([secret.name])
    except ValidationError as exc:
        raise _Invalid(exc.messages) from None
    return secret


def _blackouts_check(value: Any) -> dict[str, Any]:
    """Check "blackouts": a list of the names of existing blackout calendars."""
    if value is ABSENT:
        return {}
    if value is None:
        raise _Invalid([MSG_NULL])
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise _Invalid([MSG_NOT_LIST.format(input_type=type(value).__name__)])
    return {documents.BLACKOUTS_KEY: [_blackout_calendar(name) for name in value]}


def _blackout_calendar(name: Any) -> BlackoutCalendar:
    """Return the blackout calendar called `name`, or raise."""
    if not isinstance(name, str) or has_unstorable_text(name):
        raise _Invalid([MSG_NOT_TEXT])
    try:
        return BlackoutCalendar.objects.get(name=name)
    except BlackoutCalendar.DoesNotExist:
        raise _Invalid([MSG_NOT_IN_BLACKOUTS.format(value=name)]) from None


def _dependency_checks() -> dict[str, Check]:
    """Return the checks of one dependency's keys ("job", "window_hours")."""
    window = cast(models.Field, JobDependency._meta.get_field("window_hours"))
    window_convert = _integer_converter(window)
    name = cast(models.Field, Job._meta.get_field("name"))
    name_convert = _text_converter(name, instance=None, unique=False)

    def job(value: Any) -> dict[str, Any]:
        if value is ABSENT:
            raise _Invalid([MSG_REQUIRED])
        if value is None:
            raise _Invalid([MSG_NULL])
        if _is_blank_text(name, value):
            raise _Invalid([MSG_BLANK])
        return {documents.DEPENDENCY_JOB_KEY: name_convert(value)}

    def window_hours(value: Any) -> dict[str, Any]:
        if value is ABSENT or value is None:
            return {documents.DEPENDENCY_WINDOW_KEY: None}
        return {documents.DEPENDENCY_WINDOW_KEY: window_convert(value)}

    return {
        documents.DEPENDENCY_JOB_KEY: job,
        documents.DEPENDENCY_WINDOW_KEY: window_hours,
    }


def _dependencies_check(value: Any) -> dict[str, Any]:
    """Check "dependencies": a list of {"job": name, "window_hours": n}.

    Names are checked as text here; whether such jobs exist (or are being
    imported alongside) is for the job services and the import to say.
    """
    if value is ABSENT:
        return {}
    if value is None:
        raise _Invalid([MSG_NULL])
    if isinstance(value, str | Mapping) or not hasattr(value, "__iter__"):
        raise _Invalid([MSG_NOT_LIST.format(input_type=type(value).__name__)])
    checks = _dependency_checks()
    items, errors = [], {}
    for index, item in enumerate(value):
        try:
            items.append(_fields(item, checks))
        except _Invalid as exc:
            errors[index] = exc.detail
    if errors:
        raise _Invalid(errors)
    return {documents.DEPENDENCIES_KEY: items}
