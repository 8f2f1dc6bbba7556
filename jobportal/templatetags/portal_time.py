"""`{{ at|instant }}` and `{{ at|instant:job.timezone }}`: `jobportal.times`' rule."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from jobportal.times import instant_html

register = template.Library()


@register.filter
def instant(at: datetime | None, job_zone: str | None = None) -> SafeString | str:
    """Render an instant in the display zone with UTC on hover."""
    return instant_html(at, job_zone=job_zone)
