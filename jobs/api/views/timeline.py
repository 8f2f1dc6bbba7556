"""`GET /api/jobs/{id}/timeline` and `POST /api/jobs/{id}/timeline/run`.

The timeline lists every slot of the job in [from, to) (ISO 8601 instants
with an offset; default the last 2 days and the next one, 93 days at most)
with its outcome: a run status, `folded`, `missing` or `upcoming` (see
`jobs.timeline`), its reason code and words, lateness and duration of the
latest attempt, and whether it may be run again. Running a slot again
takes the right to run the job and goes through `jobs.services.slots`, as
the admin's button does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import id_or_404
from jobportal.api.responses import FORBIDDEN, NOT_FOUND, NOT_SIGNED_IN
from jobportal.api.serializers import StrictSerializer
from jobs import permissions as perms
from jobs.api.access import require
from jobs.api.views.schedules import InstantField, IsActiveUser
from jobs.models import Job
from jobs.selectors_timeline import MAX_RANGE, job_timeline
from jobs.services.slots import SlotError, job_slot_run
from jobs.timeline import Entry

DEFAULT_BACK = timedelta(days=2)
DEFAULT_AHEAD = timedelta(days=1)
PARAMETERS = ("from", "to", "format")
MSG_UNKNOWN = "Unknown parameter; use from or to."
MSG_ORDER = "Must be after 'from'."
MSG_SPAN = f"The range may span {MAX_RANGE.days} days at most."


class RangeSerializer(serializers.Serializer):
    """The query's instants ("from" is a keyword: added in get_fields)."""

    to = InstantField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        """Add "from"."""
        fields = super().get_fields()
        fields["from"] = InstantField(required=False)
        return fields


class SlotRunSerializer(StrictSerializer):
    """Which slot to run again."""

    slot = InstantField(help_text="The slot's instant, as the timeline lists it.")


def entry_json(entry: Entry) -> dict[str, Any]:
    """Return one timeline entry as the API answers it."""
    latest = entry.latest
    return {
        "slot": entry.at,
        "local": entry.local.isoformat() if entry.local else None,
        "moved_from": entry.moved_from.isoformat() if entry.moved_from else None,
        "is_scheduled": entry.is_scheduled,
        "outcome": entry.outcome,
        "reason_code": entry.reason_code,
        "explanation": entry.explanation,
        "lateness_seconds": entry.lateness_seconds,
        "duration_seconds": entry.duration_seconds,
        "run_id": latest.run_id if latest else None,
        "attempts": len(entry.runs),
        "can_run_now": entry.can_run_now,
    }


def _job(request: Request, job_pk: str) -> Job:
    return get_object_or_404(perms.jobs_visible_to(request.user), pk=id_or_404(job_pk))


class JobTimelineView(APIView):
    """Every slot of a job in a range, with what became of it."""

    permission_classes = (IsActiveUser,)

    @extend_schema(
        summary="A job's slot timeline",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATETIME,
                description="Start (ISO 8601 with offset); default 2 days ago.",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATETIME,
                description="End (ISO 8601 with offset); default in 1 day.",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The slots."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad range."),
            401: NOT_SIGNED_IN,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, job_pk: str) -> Response:
        """Answer the range's slots, newest first."""
        job = _job(request, job_pk)
        now = clock.now()
        params = request.query_params
        unknown = {name: [MSG_UNKNOWN] for name in params if name not in PARAMETERS}
        if unknown:
            raise ValidationError(unknown)
        form = RangeSerializer(
            data={k: params[k] for k in ("from", "to") if params.get(k)}
        )
        form.is_valid(raise_exception=True)
        since = form.validated_data.get("from") or now - DEFAULT_BACK
        until = form.validated_data.get("to") or now + DEFAULT_AHEAD
        if until <= since:
            raise ValidationError({"to": [MSG_ORDER]})
        if until - since > MAX_RANGE:
            raise ValidationError({"from": [MSG_SPAN]})
        result = job_timeline(job=job, since=since, until=until, now=now)
        return Response(
            {
                "job": job.pk,
                "timezone": job.timezone,
                "from": since,
                "to": result.until,
                "truncated": result.truncated,
                "schedule_error": result.schedule_error or None,
                "slots": [entry_json(e) for e in reversed(result.entries)],
            }
        )


class JobTimelineRunView(APIView):
    """Run one past slot again, now."""

    permission_classes = (IsActiveUser,)

    @extend_schema(
        summary="Run a skipped or failed slot again, now",
        request=SlotRunSerializer,
        responses={
            202: OpenApiResponse(OpenApiTypes.OBJECT, description="Queued."),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Not a rerunnable slot."
            ),
            401: NOT_SIGNED_IN,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, job_pk: str) -> Response:
        """Queue the slot's next attempt; 400 naming why not."""
        job = _job(request, job_pk)
        require(perms.can_run_job(request.user, job), "run this job")
        form = SlotRunSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            run = job_slot_run(
                job=job,
                slot=form.validated_data["slot"],
                requested_by=request.user,
                now=clock.now(),
                ip=request_ip(request),
            )
        except SlotError as exc:
            raise ValidationError({"slot": [str(exc)]}) from None
        url = reverse("api:log-detail", args=[run.pk])
        return Response(
            {"id": run.pk, "attempt": run.attempt, "status": run.status, "url": url},
            status=202,
            headers={"Location": url},
        )
