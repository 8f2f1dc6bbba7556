"""Run parameters: check the values a run is asked for against the job.

`parameters_validate` is strict (the admin's "Run now" form, the API):
unknown names are refused and every problem is reported at once, keyed by
parameter name. `parameters_effective` is what the worker applies right
before a run: declared defaults are filled in and values checked again,
since the job's parameters may have changed while the run waited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from jobs import parameters as params
from jobs.models import Job, JobParameter

MSG_REQUIRED = "This parameter is required."
MSG_UNKNOWN = "This job has no parameter named {name!r}; its parameters are: {known}."
MSG_UNKNOWN_NONE = "This job has no parameter named {name!r}; it takes no parameters."
MSG_NOT_AN_OBJECT = "Parameters must be an object of name: value pairs."
# A value left out of the run's parameters (blank, no default, optional).
_ABSENT = object()


def parameters_validate(
    *, job: Job, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return `values` read as the job's declared parameters, defaults filled in.

    Text is converted to each parameter's type; an empty value counts as
    not given. Raise `ValidationError` as {name: [message]} for a missing
    required value, a value of the wrong type or not among the choices, and
    for a name the job does not declare.
    """
    return _read(job=job, values=values, strict=True)


def parameters_effective(
    *, job: Job, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return a queued run's parameters as the worker gives them to the script.

    Like `parameters_validate`, except that names the job does not declare
    are passed through unchanged: they were accepted when the run was queued.
    """
    return _read(job=job, values=values, strict=False)


def parameters_error_text(error: ValidationError) -> str:
    """Return a `parameters_validate` error as one line, e.g. for a run's reason."""
    if hasattr(error, "error_dict"):
        parts = [
            f"{name}: {' '.join(messages)}"
            for name, messages in error.message_dict.items()
        ]
        return "; ".join(parts)
    return " ".join(error.messages)


def _read(
    *, job: Job, values: Mapping[str, Any] | None, strict: bool
) -> dict[str, Any]:
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ValidationError({"parameters": [MSG_NOT_AN_OBJECT]})
    declared: list[JobParameter] = list(job.parameters.all()) if job.pk else []
    undeclared = _undeclared(values, declared)
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] = {}
    if strict:
        errors = {name: [_unknown(name, declared)] for name in undeclared}
    else:
        result = dict(undeclared)
    for parameter in declared:
        try:
            value = _value(parameter, values.get(parameter.name))
        except params.ParameterValueError as exc:
            errors[parameter.name] = [str(exc)]
        else:
            if value is not _ABSENT:
                result[parameter.name] = value
    if errors:
        raise ValidationError(errors)
    return result


def _undeclared(
    values: Mapping[str, Any], declared: list[JobParameter]
) -> dict[str, Any]:
    """Return the values whose names the job does not declare, in order."""
    names = {parameter.name for parameter in declared}
    return {str(name): value for name, value in values.items() if name not in names}


def _value(parameter: JobParameter, raw: Any) -> Any:
    """Return the parameter's value, its default, or `_ABSENT` if it has none."""
    if params.is_blank(raw):
        raw = parameter.default
    if params.is_blank(raw):
        if parameter.is_required:
            raise params.ParameterValueError(MSG_REQUIRED)
        return _ABSENT
    return params.coerce_value(parameter.type, raw, choices=parameter.choices)


def _unknown(name: str, declared: list[JobParameter]) -> str:
    if not declared:
        return MSG_UNKNOWN_NONE.format(name=name)
    known = ", ".join(parameter.name for parameter in declared)
    return MSG_UNKNOWN.format(name=name, known=known)


MSG_PARAMETERS_LIST = "Parameters must be a list of parameter documents."
MSG_PARAMETER_OBJECT = "A parameter must be an object with a name and a type."
MSG_PARAMETER_KEYS = "Unknown parameter key(s): {keys}; use: {allowed}."
MSG_PARAMETER_DUPLICATE = "Another parameter has this name (case does not matter)."
MSG_PARAMETER_BOOLEAN = "Must be true or false."
MSG_PARAMETER_TEXT = "Must be text."
# Document key -> model field, for what a parameter document sets.
_PARAMETER_FIELDS = {
    "name": "name",
    "type": "type",
    "required": "is_required",
    "default": "default",
    "choices": "choices",
    "description": "description",
}


def parameter_documents_validate(documents: Any) -> list[dict[str, Any]]:
    """Return the declared parameters' documents checked and normalised.

    Each document is checked with the model's own validators (name, type,
    default of the right type, choices only for a choice). Raise
    `ValidationError` keyed "parameters" naming the parameter's position
    and the key at fault ("parameter 2: default: ...").
    """
    if documents is None:
        return []
    if isinstance(documents, str | Mapping) or not isinstance(documents, list | tuple):
        raise ValidationError({"parameters": [MSG_PARAMETERS_LIST]})
    errors: list[str] = []
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, document in enumerate(documents, 1):
        try:
            parameter = _parameter_from_document(document)
        except ValidationError as exc:
            errors.extend(f"parameter {index}: {line}" for line in _lines(exc))
            continue
        if parameter.name.lower() in seen:
            errors.append(f"parameter {index}: name: {MSG_PARAMETER_DUPLICATE}")
        seen.add(parameter.name.lower())
        result.append(
            {key: getattr(parameter, field) for key, field in _PARAMETER_FIELDS.items()}
        )
    if errors:
        raise ValidationError({"parameters": errors})
    return result


def job_parameters_replace(*, job: Job, documents: list[dict[str, Any]]) -> None:
    """Replace the job's declared parameters with checked `documents`."""
    job.parameters.all().delete()
    JobParameter.objects.bulk_create(
        JobParameter(
            job=job,
            position=position,
            **{field: document[key] for key, field in _PARAMETER_FIELDS.items()},
        )
        for position, document in enumerate(documents)
    )


def _parameter_from_document(document: Any) -> JobParameter:
    if not isinstance(document, Mapping) or "name" not in document:
        raise ValidationError(MSG_PARAMETER_OBJECT)
    unknown = sorted(str(key) for key in document if key not in _PARAMETER_FIELDS)
    if unknown:
        raise ValidationError(
            MSG_PARAMETER_KEYS.format(
                keys=", ".join(unknown), allowed=", ".join(_PARAMETER_FIELDS)
            )
        )
    values = {
        field: document[key]
        for key, field in _PARAMETER_FIELDS.items()
        if key in document and document[key] is not None
    }
    if not isinstance(values.get("is_required", False), bool):
        raise ValidationError({"is_required": [MSG_PARAMETER_BOOLEAN]})
    for field in ("name", "type", "default", "description"):
        if field in values and not isinstance(values[field], str):
            values[field] = _text(values[field], field)
    parameter = JobParameter(**values)
    parameter.full_clean(exclude=["job"], validate_constraints=False)
    return parameter


def _text(value: Any, field: str) -> str:
    """Return a number given for a text key as text (a default of 5 is "5")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError({field: [MSG_PARAMETER_TEXT]})
    return str(value)


def _lines(error: ValidationError) -> list[str]:
    """Return a parameter's errors as "key: message" lines in document terms."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    keys = {field: key for key, field in _PARAMETER_FIELDS.items()}
    return [
        f"{keys.get(field, field)}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    ]
