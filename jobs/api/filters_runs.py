"""Query filters of the run lists (`/api/jobs/{id}/logs` and `/api/logs`).

A bad value answers 400 naming the parameter (django-filter's form errors,
raised by DRF's filter backend), never a 500 and never silently ignored:

- `status`: one of `JobRun.Status`; repeat it for several
  (`?status=failed&status=lost`);
- `after` / `before`: ISO 8601 instants; keep runs whose slot
  (`scheduled_for`) is at or after `after` and strictly before `before`. A
  value without an offset is UTC; a bare date means its midnight UTC;
- `job` (all runs only): a job id.

A parameter given with no value (`?after=`, as the browsable API's filter
form sends) filters nothing.
"""

from __future__ import annotations

import django_filters

from jobportal.api.filters import InstantFilter
from jobportal.api.ids import IdFilter
from jobs.models import JobRun


class JobRunFilter(django_filters.FilterSet):
    """Filters of one job's runs: status and a range of slots."""

    status = django_filters.MultipleChoiceFilter(
        choices=JobRun.Status.choices,
        distinct=False,
        help_text="Keep runs with this status; repeat for several "
        "(?status=failed&status=lost).",
    )
    after = InstantFilter(
        field_name="scheduled_for",
        lookup_expr="gte",
        help_text="Keep runs scheduled for this instant or later (ISO 8601; "
        "UTC when it has no offset).",
    )
    before = InstantFilter(
        field_name="scheduled_for",
        lookup_expr="lt",
        help_text="Keep runs scheduled for before this instant (ISO 8601; "
        "UTC when it has no offset).",
    )

    class Meta:
        model = JobRun
        fields = ("status", "after", "before")


class RunFilter(JobRunFilter):
    """Filters of all visible runs: those of one run list, plus the job."""

    job = IdFilter(field_name="job_id", help_text="Keep the runs of this job (id).")

    class Meta:
        model = JobRun
        fields = ("job", "status", "after", "before")
