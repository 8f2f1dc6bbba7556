"""The job page's "Permissions" section: per-job rights of users and groups.

Shown to those who may grant rights (the Admin role). The section lists the
grants; its page, ``permissions/``, sets a user's or a group's rights on the
job through `jobs.services.grants.job_rights_set`, which audits
each grant and revoke.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.client import request_ip
from jobportal import clock
from jobs import permissions as perms
from jobs.admin.bases import ModelAdminMixin
from jobs.models import Job
from jobs.selectors import job_grants
from jobs.services.grants import grantee_label, job_rights_set

RIGHT_LABELS = {
    perms.VIEW_JOB: "view",
    perms.CHANGE_JOB: "change",
    perms.DELETE_JOB: "delete",
    perms.RUN_JOB: "run",
}
MSG_ONE_GRANTEE = "Choose a user or a group, not both."
MSG_NO_GRANTS = "No one has been granted rights on this job alone."
MSG_OWNER = "Owner: {owner} (view, change, delete and run while in the Editor role)."
MSG_NO_OWNER = "No owner."
MSG_RIGHTS_SET = "{grantee} now has: {rights}."
MSG_RIGHTS_NONE = "nothing on this job"


def rights_text(rights: Any) -> str:
    """Return rights as "change, run"."""
    return ", ".join(
        RIGHT_LABELS[r] for r in perms.JOB_OBJECT_PERMISSIONS if r in rights
    )


class JobRightsForm(forms.Form):
    """Set the rights of one user or one group on a job."""

    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"), required=False
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False
    )
    rights = forms.MultipleChoiceField(
        choices=list(RIGHT_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to revoke every right given on this job.",
    )

    def clean(self) -> dict[str, Any]:
        """Require exactly one grantee."""
        data = super().clean() or {}
        if bool(data.get("user")) == bool(data.get("group")):
            raise ValidationError(MSG_ONE_GRANTEE)
        return data


class JobGrantsMixin(ModelAdminMixin):
    """The "Permissions" section and page of a job, for those who may grant."""

    def get_urls(self) -> list[URLPattern]:
        """Add the permissions page."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/permissions/",
                wrap(self.permissions_view),
                name="jobs_job_permissions",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="per-job rights")
    def permission_grants(self, job: Job) -> SafeString:
        """List the owner and the grants, linking to the permissions page."""
        owner = (
            MSG_OWNER.format(owner=job.owner.get_username())
            if job.owner
            else MSG_NO_OWNER
        )
        grants = job_grants(job)
        if grants:
            body = format_html(
                "<ul>{}</ul>",
                format_html_join(
                    "",
                    "<li>{}: {}</li>",
                    ((grantee_label(g.grantee), rights_text(g.rights)) for g in grants),
                ),
            )
        else:
            body = format_html("<p>{}</p>", MSG_NO_GRANTS)
        return format_html(
            '<p>{}</p>{}<p><a href="{}">Manage permissions</a></p>',
            owner,
            body,
            reverse("admin:jobs_job_permissions", args=[job.pk]),
        )

    def permissions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the job's grants; set a user's or group's rights (POST)."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not perms.can_manage_job_permissions(request.user):
            raise PermissionDenied
        form = JobRightsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            grantee = form.cleaned_data["user"] or form.cleaned_data["group"]
            rights = form.cleaned_data["rights"]
            job_rights_set(
                job=job,
                grantee=grantee,
                rights=rights,
                actor=request.user,
                ip=request_ip(request),
                now=clock.now(),
            )
            self.message_user(
                request,
                MSG_RIGHTS_SET.format(
                    grantee=_first_upper(grantee_label(grantee)),
                    rights=rights_text(rights) or MSG_RIGHTS_NONE,
                ),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:jobs_job_permissions", args=[job.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": Job._meta,
            "original": job,
            "title": f"Permissions on {job}",
            "form": form,
            "summary": self.permission_grants(job),
            "grants": [
                (g, grantee_label(g.grantee), rights_text(g.rights))
                for g in job_grants(job)
            ],
        }
        return TemplateResponse(request, "admin/jobs/job/permissions.html", context)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]
