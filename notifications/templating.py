"""Message templates: Django's template language in a sandbox.

A template is rendered by an engine of its own: no loaders (so no
``{% include %}`` or ``{% extends %}`` of files), no libraries to
``{% load %}``, only the default tags and filters, and a context of plain
strings and numbers (never model instances, so no attribute or method of a
row is reachable). Syntax errors are refused when a channel is saved, naming
the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache

from django.template import Context, Engine, Template, TemplateSyntaxError

MSG_SYNTAX = "Line {line}: {error}"
# The variables a template may use, with what they hold.
VARIABLES = {
    "job": "the job's name",
    "event": "the trigger (failure, recovered, ...)",
    "event_label": "the trigger in words",
    "run_id": "the run's id",
    "status": "the run's status",
    "reason": "why the run ended so (blank on success)",
    "reason_code": "the reason as a code",
    "duration_seconds": "how long the run took",
    "exit_code": "the script's exit code",
    "lateness_seconds": "how late the run started",
    "output_tail": "the end of the output, secrets masked",
    "attempt": "the attempt number",
    "streak": "failures in a row",
    "scheduled_for": "the slot, ISO 8601 UTC",
    "admin_url": "the run's admin page",
}
DEFAULT_SUBJECT = "[{{ event_label }}] {{ job }}"
DEFAULT_BODY = (
    "Job {{ job }}: {{ event_label }}.\n"
    "Run {{ run_id }} (attempt {{ attempt }}) ended {{ status }}"
    "{% if reason %}: {{ reason }}{% endif %}.\n"
    "{% if exit_code is not None %}Exit code {{ exit_code }}. {% endif %}"
    "{% if duration_seconds is not None %}Took {{ duration_seconds }} s. {% endif %}"
    "{% if lateness_seconds is not None %}Started {{ lateness_seconds }} s late."
    "{% endif %}\n"
    "{% if streak %}Failures in a row: {{ streak }}.\n{% endif %}"
    "{% if output_tail %}\nOutput (end):\n{{ output_tail }}\n{% endif %}"
    "{% if admin_url %}\n{{ admin_url }}{% endif %}"
)


class _SandboxEngine(Engine):
    """An engine with only the default tags and filters, and no loader tags."""

    default_builtins = [  # noqa: RUF012 - overrides Engine's class attribute
        "django.template.defaulttags",
        "django.template.defaultfilters",
    ]


@cache
def _engine() -> Engine:
    return _SandboxEngine(
        dirs=[], app_dirs=False, loaders=[], libraries={}, debug=True, autoescape=False
    )


# Compiled once per source: the sender renders every message of a channel
# with the same two templates (a Template renders safely in any thread).
@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _engine().from_string(source)


def template_errors(source: str) -> str | None:
    """Return "Line N: message" if `source` does not compile, else None."""
    try:
        _engine().from_string(source)
    except TemplateSyntaxError as exc:
        debug = getattr(exc, "template_debug", None) or {}
        return MSG_SYNTAX.format(line=debug.get("line", 1), error=exc)
    return None


def render(source: str, variables: Mapping[str, object]) -> str:
    """Render `source` with only `variables` (plain values) in its context."""
    return _compiled(source).render(Context(dict(variables), autoescape=False)).strip()
