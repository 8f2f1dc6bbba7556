"""Who may do what in the job and run admins: `jobs.permissions`, wired in.

Mixins for the job admin, its schedule inline and the run admin. Each
`has_*_permission` asks the permission functions (with the object when
there is one), lists show only what the user may see, and actions on a
selection act on the allowed objects and name the refused ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from accounts.client import request_ip
from jobportal import clock
from jobs import permissions as perms
from jobs.admin.bases import ModelAdminMixin
from jobs.models import Job, JobRun
from jobs.services.jobs import job_delete

MSG_REFUSED = "Not allowed to {verb} {names}; left unchanged."

T = TypeVar("T", bound=Model)


def actor_ip(request: HttpRequest) -> str | None:
    """Return the client's IP address for the audit log."""
    return request_ip(request)


def names_of(objects: Iterable[Model]) -> str:
    """Return "a, b and c" for the objects' texts."""
    names = [str(obj) for obj in objects]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


class JobAccessMixin(ModelAdminMixin):
    """Job admin permissions from `jobs.permissions`, object by object."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Show the jobs app to whoever may see a job."""
        return perms.can_view_some_job(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        """Allow viewing a job, or the list when some job is visible."""
        if obj is None:
            return perms.can_view_some_job(request.user)
        return perms.can_view_job(request.user, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Allow creating jobs to those who may (and so own them)."""
        return perms.can_add_job(request.user)

    def has_change_permission(
        self, request: HttpRequest, obj: Job | None = None
    ) -> bool:
        """Allow changing this job, or change tools when some job may change."""
        if obj is None:
            return perms.can_change_some_job(request.user)
        return perms.can_change_job(request.user, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: Job | None = None
    ) -> bool:
        """Allow deleting this job, or the delete action when some job may go."""
        if obj is None:
            return perms.can_delete_some_job(request.user)
        return perms.can_delete_job(request.user, obj)

    def has_run_permission(self, request: HttpRequest) -> bool:
        """Offer "Run now" when some job may be run."""
        return perms.can_run_some_job(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        """List only the jobs the user may see."""
        queryset = super().get_queryset(request)
        if perms.can_view_all_jobs(request.user):
            return queryset
        visible = perms.jobs_visible_to(request.user).values("pk")
        return queryset.filter(pk__in=visible)

    def delete_model(self, request: HttpRequest, obj: Job) -> None:
        """Delete through the service: rights cleared, deletion audited."""
        job_delete(job=obj, now=clock.now(), actor=request.user, ip=actor_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        """Delete each job through the service (each deletion is audited)."""
        for job in queryset:
            self.delete_model(request, job)

    def get_deleted_objects(
        self, objs: Iterable[Job], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """Judge a deletion by the jobs alone.

        A job's runs, versions and schedules go with it: the right to delete
        the job is the right to delete them, whatever their own admins say.
        """
        objs = list(objs)
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        refused = {
            str(Job._meta.verbose_name)
            for job in objs
            if not perms.can_delete_job(request.user, job)
        }
        return deleted, counts, refused, protected

    def permitted(
        self,
        request: HttpRequest,
        objects: Iterable[T],
        *,
        check: Callable[[Any, T], bool],
        verb: str,
    ) -> list[T]:
        """Return the objects `check` allows; name the refused ones in a message."""
        allowed: list[T] = []
        refused: list[T] = []
        for obj in objects:
            (allowed if check(request.user, obj) else refused).append(obj)
        if refused:
            self.message_user(
                request,
                MSG_REFUSED.format(verb=verb, names=names_of(refused)),
                messages.WARNING,
            )
        return allowed


class ScheduleAccessMixin:
    """Rows edited with their job (schedules, run parameters): its rights apply."""

    def has_view_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        """Show the schedules with a job the user may see."""
        if obj is None:
            return perms.can_view_some_job(request.user)
        return perms.can_view_job(request.user, obj)

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        """Allow adding schedules to a job the user may change (or create)."""
        if obj is None:
            return perms.can_add_job(request.user)
        return perms.can_change_job(request.user, obj)

    def has_change_permission(
        self, request: HttpRequest, obj: Job | None = None
    ) -> bool:
        """Allow changing the schedules of a job the user may change."""
        if obj is None:
            return perms.can_add_job(request.user)
        return perms.can_change_job(request.user, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: Job | None = None
    ) -> bool:
        """Allow removing schedules of a job the user may change."""
        return self.has_change_permission(request, obj)


class RunAccessMixin(ModelAdminMixin):
    """Runs are seen with their job; cancelling takes the right to run it."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Show the jobs app to whoever may see a run."""
        return perms.can_view_some_run(request.user)

    def has_view_permission(
        self, request: HttpRequest, obj: JobRun | None = None
    ) -> bool:
        """Allow viewing every run, or the runs of jobs the user may see."""
        if obj is None:
            return perms.can_view_some_run(request.user)
        return perms.can_view_run(request.user, obj)

    def has_control_permission(self, request: HttpRequest) -> bool:
        """Offer cancel and mark-failed when some job may be run."""
        return perms.can_run_some_job(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobRun]:
        """List only the runs the user may see."""
        queryset = super().get_queryset(request)
        if perms.can_view_all_runs(request.user) or perms.can_view_all_jobs(
            request.user
        ):
            return queryset
        visible = perms.jobs_visible_to(request.user).values("pk")
        return queryset.filter(job__in=visible)
