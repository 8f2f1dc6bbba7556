"""Who may do what with jobs: the one set of checks for the admin and the API.

Rights come from two places:

- Model permissions, held through the role groups (`accounts.roles`), are
  rights over *every* object of a model: an Admin changes, deletes and runs
  every job; an Editor and a Viewer view every job.
- Per-job rights are django-guardian object permissions (`view_job`,
  `change_job`, `delete_job`, `run_job`) that an Admin grants to a user or a
  group (`jobs.services.grants`), plus ownership: the owner of a
  job (`Job.owner`, its creator unless an Admin reassigns it) holds all four
  on it, for as long as the owner may create jobs (the Editor role). A
  demoted owner so loses the owner's rights at once; explicit grants stay
  until an Admin revokes them, whatever the grantee's role.

Decisions:

- Everyone with a role sees every job, its schedules, runs and versions:
  the Viewer role is "read only", not "read nothing", and Editors need to
  see the jobs they might be granted. A user without a role sees only the
  jobs granted to them (or owned).
- Activating and deactivating a job is a change of it (`can_change_job`).
- Cancelling a run (or marking it failed) takes the right to run its job.
- Runs are seen with their job, or all of them with `jobs.view_jobrun`.
- Only those who may grant object permissions (the Admin role) may change
  a job's owner, since ownership carries rights.
- Seeing scripts (and their content) is the model permission
  `jobs.view_script`, which every role holds; approving them is
  `jobs.approve_script`.
- Templates: every role sees them (`jobs.view_jobtemplate`); creating,
  changing and restoring them are the model permissions
  `jobs.add_jobtemplate` and `jobs.change_jobtemplate` (Admin and Editor,
  `accounts.roles`); making a job from one takes the right to create jobs.
- Audit events and API keys: `jobs.permissions`.
- No check here ever allows reading a secret's value.

Each function takes the user first and returns a bool, or a queryset of
what the user may see. Inactive and anonymous users may do nothing. Always
use these rather than `user.has_perm(...)`: guardian alone does not know
about owners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import IntegerField, QuerySet
from django.db.models.functions import Cast
from guardian.core import ObjectPermissionChecker
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.permissions import is_active_user
from jobportal.request_memo import memoized
from jobs.models import Job, JobRun

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

    from jobs.models import JobVersion

    User = AbstractUser | AnonymousUser

VIEW_JOB = "view_job"
ADD_JOB = "add_job"
CHANGE_JOB = "change_job"
DELETE_JOB = "delete_job"
RUN_JOB = "run_job"
# The per-job rights an owner holds and an Admin can grant.
JOB_OBJECT_PERMISSIONS = (VIEW_JOB, CHANGE_JOB, DELETE_JOB, RUN_JOB)
APPROVE_SCRIPT = "jobs.approve_script"
VIEW_SCRIPT = "jobs.view_script"
CHANGE_SCRIPT = "jobs.change_script"
VIEW_RUN = "jobs.view_jobrun"
VIEW_BLACKOUTS = "jobs.view_blackoutcalendar"
MANAGE_BLACKOUTS = (
    "jobs.add_blackoutcalendar",
    "jobs.change_blackoutcalendar",
    "jobs.delete_blackoutcalendar",
)
VIEW_TEMPLATE = "jobs.view_jobtemplate"
ADD_TEMPLATE = "jobs.add_jobtemplate"
CHANGE_TEMPLATE = "jobs.change_jobtemplate"
# Granting object permissions: what the Admin role holds on guardian's models.
GRANT_PERMISSIONS = (
    "guardian.add_userobjectpermission",
    "guardian.delete_userobjectpermission",
    "guardian.add_groupobjectpermission",
    "guardian.delete_groupobjectpermission",
)


def _global(user: User, codename: str) -> bool:
    """Return True if the user holds `jobs.<codename>` for every job."""
    return user.has_perm(f"jobs.{codename}")


def is_job_owner(user: User | None, job: Job) -> bool:
    """Return True if `user` owns `job` and so holds the owner's rights."""
    return (
        is_active_user(user)
        and job.owner_id is not None
        and job.owner_id == user.pk
        and _global(user, ADD_JOB)
    )


def job_rights(user: User | None, job: Job) -> set[str]:
    """Return the per-job rights (codenames) `user` holds on `job`.

    Rights held for every job through a role are not included.
    """
    if not is_active_user(user) or job.pk is None:
        return set()
    granted = set(ObjectPermissionChecker(user).get_perms(job))
    if is_job_owner(user, job):
        granted.update(JOB_OBJECT_PERMISSIONS)
    return granted & set(JOB_OBJECT_PERMISSIONS)


def _has_job_right(user: User | None, job: Job, codename: str) -> bool:
    if not is_active_user(user):
        return False
    return _global(user, codename) or codename in job_rights(user, job)


def can_view_job(user: User | None, job: Job) -> bool:
    """Return True if `user` may see `job` (and its schedules, runs, versions)."""
    if can_view_all_jobs(user):
        return True
    return bool(job_rights(user, job))


def can_view_all_jobs(user: User | None) -> bool:
    """Return True if `user` sees every job through a role."""
    return is_active_user(user) and (
        _global(user, VIEW_JOB) or _global(user, CHANGE_JOB)
    )


def can_view_some_job(user: User | None) -> bool:
    """Return True if `user` may see at least one job (shows the job pages)."""
    return can_view_all_jobs(user) or _has_some_job(user, JOB_OBJECT_PERMISSIONS)


def _has_some_job(user: User | None, codenames: tuple[str, ...]) -> bool:
    """Return True if `user` holds one of `codenames` on some job.

    Asked by many parts of one page: once per read-only request.
    """
    if not is_active_user(user):
        return False
    return memoized(
        ("has_some_job", user.pk, codenames),
        lambda: _jobs_with_any_right(user, codenames).exists(),
    )


def can_add_job(user: User | None) -> bool:
    """Return True if `user` may create jobs (and so own them)."""
    return is_active_user(user) and _global(user, ADD_JOB)


def can_change_job(user: User | None, job: Job) -> bool:
    """Return True if `user` may change `job`'s definition."""
    return _has_job_right(user, job, CHANGE_JOB)


def can_delete_job(user: User | None, job: Job) -> bool:
    """Return True if `user` may delete `job`."""
    return _has_job_right(user, job, DELETE_JOB)


def can_run_job(user: User | None, job: Job) -> bool:
    """Return True if `user` may queue a manual run of `job`."""
    return _has_job_right(user, job, RUN_JOB)


def can_run_pipeline(user: User | None, job: Job) -> bool:
    """Return True if `user` may start `job`'s pipeline (run it; downstream follows).

    Downstream jobs then run as their dependencies are met, as after any run.
    """
    return can_run_job(user, job)


def can_activate_job(user: User | None, job: Job) -> bool:
    """Return True if `user` may activate or deactivate `job` (a change)."""
    return can_change_job(user, job)


def can_restore_job_version(user: User | None, version: JobVersion) -> bool:
    """Return True if `user` may restore `version` of its job (a change)."""
    return can_change_job(user, version.job)


def can_cancel_run(user: User | None, run: JobRun) -> bool:
    """Return True if `user` may cancel `run` or mark it failed.

    That is the right to run its job: runs themselves are never edited.
    """
    return can_run_job(user, run.job)


def can_manage_job_permissions(user: User | None) -> bool:
    """Return True if `user` may grant and revoke per-job rights."""
    return is_active_user(user) and all(user.has_perm(p) for p in GRANT_PERMISSIONS)


def can_change_job_owner(user: User | None, job: Job | None = None) -> bool:
    """Return True if `user` may set a job's owner (ownership carries rights)."""
    return can_manage_job_permissions(user)


def can_approve_scripts(user: User | None) -> bool:
    """Return True if `user` may approve or reject scripts."""
    return is_active_user(user) and user.has_perm(APPROVE_SCRIPT)


def can_view_scripts(user: User | None) -> bool:
    """Return True if `user` may see the script registry and scripts' content.

    The script admin's view permission: `jobs.view_script`, or the right to
    change scripts, which includes seeing them (Django's admin rule).
    """
    return is_active_user(user) and (
        user.has_perm(VIEW_SCRIPT) or user.has_perm(CHANGE_SCRIPT)
    )


def can_view_blackouts(user: User | None) -> bool:
    """Return True if `user` may see the blackout calendars (every role)."""
    return is_active_user(user) and (
        user.has_perm(VIEW_BLACKOUTS) or can_manage_blackouts(user)
    )


def can_manage_blackouts(user: User | None) -> bool:
    """Return True if `user` may add, change and delete blackout calendars.

    One right for all three (the Admin role): a calendar stops the runs of
    every job that names it, or of every job when global.
    """
    return is_active_user(user) and user.has_perms(MANAGE_BLACKOUTS)


def can_view_templates(user: User | None) -> bool:
    """Return True if `user` may see job templates and their versions."""
    return is_active_user(user) and (
        user.has_perm(VIEW_TEMPLATE) or user.has_perm(CHANGE_TEMPLATE)
    )


def can_add_template(user: User | None) -> bool:
    """Return True if `user` may create job templates."""
    return is_active_user(user) and user.has_perm(ADD_TEMPLATE)


def can_change_template(user: User | None) -> bool:
    """Return True if `user` may change job templates (and restore versions)."""
    return is_active_user(user) and user.has_perm(CHANGE_TEMPLATE)


def can_instantiate_template(user: User | None) -> bool:
    """Return True if `user` may create a job from a template: create jobs."""
    return can_view_templates(user) and can_add_job(user)


def jobs_visible_to(user: User | None) -> QuerySet[Job]:
    """Return the jobs `user` may see (list filtering for the admin and API)."""
    if not is_active_user(user):
        return Job.objects.none()
    if can_view_all_jobs(user):
        return Job.objects.all()
    return memoized(
        ("jobs_visible_to", user.pk),
        lambda: _jobs_with_any_right(user, JOB_OBJECT_PERMISSIONS),
    )


def jobs_with_right(user: User | None, codename: str) -> QuerySet[Job]:
    """Return the jobs on which `user` holds right `codename` ("run_job", …)."""
    if not is_active_user(user):
        return Job.objects.none()
    if _global(user, codename):
        return Job.objects.all()
    return _jobs_with_any_right(user, (codename,))


def _some_job_with_right(user: User | None, codename: str) -> bool:
    if not is_active_user(user):
        return False
    if _global(user, codename):
        return Job.objects.exists()
    return _has_some_job(user, (codename,))


def can_change_some_job(user: User | None) -> bool:
    """Return True if `user` may change at least one job (shows change tools)."""
    return _some_job_with_right(user, CHANGE_JOB)


def can_run_some_job(user: User | None) -> bool:
    """Return True if `user` may run at least one job (shows run tools)."""
    return _some_job_with_right(user, RUN_JOB)


def can_delete_some_job(user: User | None) -> bool:
    """Return True if `user` may delete at least one job."""
    return _some_job_with_right(user, DELETE_JOB)


def can_view_all_runs(user: User | None) -> bool:
    """Return True if `user` sees every run (the model permission)."""
    return is_active_user(user) and user.has_perm(VIEW_RUN)


def can_view_run(user: User | None, run: JobRun) -> bool:
    """Return True if `user` may see `run`: every run, or those of their jobs."""
    return can_view_all_runs(user) or can_view_job(user, run.job)


def can_view_some_run(user: User | None) -> bool:
    """Return True if `user` may see at least one run (shows the run pages)."""
    return can_view_all_runs(user) or can_view_some_job(user)


def runs_visible_to(user: User | None) -> QuerySet[JobRun]:
    """Return the runs `user` may see: every run, or those of their jobs."""
    if not is_active_user(user):
        return JobRun.objects.none()
    if can_view_all_runs(user) or can_view_all_jobs(user):
        return JobRun.objects.all()
    return JobRun.objects.filter(job__in=jobs_visible_to(user))


def _jobs_with_any_right(user: Any, codenames: tuple[str, ...]) -> QuerySet[Job]:
    """Return jobs where `user` holds one of `codenames` per job (grant or owner).

    Read straight from guardian's tables (the user's own object permissions
    and their groups'), as `guardian.shortcuts.get_objects_for_user` with
    `with_superuser=False, accept_global_perms=False, any_perm=True` does,
    but in a form a database evaluates once per query: the granted ids are
    cast to integers in the subquery instead of casting every job's id to
    text to compare it with them.
    """
    job_type = ContentType.objects.get_for_model(Job)
    # The rights' ids rather than a join on their codenames: the planner
    # then estimates from the grants' own statistics how many rows match.
    rights = {
        "content_type": job_type,
        "permission__in": _permission_ids(job_type.pk, codenames),
    }
    granted_ids = Cast("object_pk", IntegerField())
    # No ORDER BY: SQLite refuses one inside a UNION's parts.
    by_user = (
        UserObjectPermission.objects.filter(user=user, **rights)
        .values_list(granted_ids)
        .order_by()
    )
    by_group = (
        GroupObjectPermission.objects.filter(
            group__in=user.groups.values("pk"), **rights
        )
        .values_list(granted_ids)
        .order_by()
    )
    granted = by_user.union(by_group, all=True)
    if _global(user, ADD_JOB) and set(codenames) & set(JOB_OBJECT_PERMISSIONS):
        granted = granted.union(
            Job.objects.filter(owner=user).values_list("pk").order_by(), all=True
        )
    # One IN over a UNION, not an OR of INs: the planner then knows how few
    # ids there are and reads those jobs' rows only, instead of testing
    # every job's id against each subquery.
    return Job.objects.filter(pk__in=granted)


def _permission_ids(content_type_id: int, codenames: tuple[str, ...]) -> list[int]:
    """Return the ids of the jobs' permissions `codenames` (once per GET)."""
    return memoized(
        ("permission_ids", content_type_id, codenames),
        lambda: list(
            Permission.objects.filter(
                content_type_id=content_type_id, codename__in=codenames
            ).values_list("pk", flat=True)
        ),
    )


def metrics_job_scope(user: User | None) -> QuerySet[Job] | None:
    """Return the jobs whose figures `user` may see; None means every job.

    The dashboard and the metrics API read the all-jobs rollups for None
    and the per-job rollups of these jobs otherwise: a subquery (as
    `jobs_visible_to` filters the admin's and the API's lists), which each
    aggregate evaluates once, whatever the number of jobs granted.
    """
    if can_view_all_jobs(user):
        return None
    return jobs_visible_to(user)


def can_view_workers(user: User | None) -> bool:
    """Return True if `user` may see the workers (the admin's Workers page)."""
    return is_active_user(user) and (
        user.has_perm("jobs.view_worker") or user.has_perm("jobs.change_worker")
    )
