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
