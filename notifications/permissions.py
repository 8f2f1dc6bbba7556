"""Who may do what with notifications: the admin and the API ask here.

* Channels (their secrets reach mail servers and chat rooms) are managed by
  holders of ``notifications.change_channel``: the Admin and Editor roles
  (DESIGN.md, "People and permissions").
* Rules on one job may be set by anyone who may change that job (an
  Editor on their own jobs); global rules (every job) need
  ``notifications.change_rule`` (the Admin role).
* Deliveries are visible with ``notifications.view_notification`` (every
  role), each one only if its job is visible (global ones: to all).
* Muting a job takes the right to change it; resuming a job the circuit
  breaker paused takes the right to activate it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jobs import permissions as job_permissions
from jobs.models import Job
from notifications.models import Notification, Rule

MANAGE_CHANNELS = "notifications.change_channel"
VIEW_CHANNELS = "notifications.view_channel"
GLOBAL_RULES = "notifications.change_rule"
VIEW_DELIVERIES = "notifications.view_notification"


def can_manage_channels(user: Any) -> bool:
    """Return True if the user may add, change, delete and test channels."""
    return bool(user and user.is_active and user.has_perm(MANAGE_CHANNELS))


def can_view_channels(user: Any) -> bool:
    """Return True if the user may list channels (names, kinds, last error)."""
    return bool(user and user.is_active and user.has_perm(VIEW_CHANNELS))


def can_edit_rule(user: Any, job: Job | None) -> bool:
    """Return True if the user may set rules for `job` (None: every job)."""
    if not (user and user.is_active):
        return False
    if user.has_perm(GLOBAL_RULES):
        return True
    return job is not None and job_permissions.can_change_job(user, job)


def can_edit_some_rule(user: Any) -> bool:
    """Return True if the user may set rules on at least one job."""
    return bool(user and user.is_active) and (
        user.has_perm(GLOBAL_RULES) or job_permissions.can_change_some_job(user)
    )


def rules_visible_to(user: Any) -> QuerySet[Rule]:
    """Return the rules of jobs the user may see, and the global ones."""
    jobs = job_permissions.jobs_visible_to(user)
    return Rule.objects.filter(Q(job__isnull=True) | Q(job__in=jobs))


def jobs_for_rules(user: Any) -> QuerySet[Job]:
    """Return the jobs the user may set rules on."""
    if user.has_perm(GLOBAL_RULES):
        return Job.objects.all()
    return job_permissions.jobs_with_right(user, job_permissions.CHANGE_JOB)


def deliveries_visible_to(user: Any) -> QuerySet[Notification]:
    """Return the notifications the user may see."""
    if not (user and user.is_active and user.has_perm(VIEW_DELIVERIES)):
        return Notification.objects.none()
    jobs = job_permissions.jobs_visible_to(user)
    return Notification.objects.filter(Q(job__isnull=True) | Q(job__in=jobs))


def can_mute_job(user: Any, job: Job) -> bool:
    """Return True if the user may mute the job's notifications."""
    return job_permissions.can_change_job(user, job)


def can_resume_job(user: Any, job: Job) -> bool:
    """Return True if the user may resume a job the breaker paused."""
    return job_permissions.can_activate_job(user, job)
