"""The script registry admin: status badges, content, diff, approve and reject.

Scripts are registered by `jobs.services.scripts.scripts_sync` (the "Sync
scripts" button here, `manage.py syncscripts`, and the worker before each
run), never added or edited by hand. The page of a script shows its current
content (escaped, with line numbers) and a diff against the content last
approved; approvers (`jobs.approve_script`) approve or reject it there.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.actors import signed_in_user
from accounts.client import request_ip
from jobportal import clock
from jobportal.admin import RecordAdmin
from jobportal.times import display_zone, instant_html, instant_text
from jobs.admin.script_display import (
    content_table,
    diff_html,
    script_status_badge,
)
from jobs.errors import JobsError
from jobs.models import Script, ScriptReview
from jobs.permissions import can_approve_scripts
from jobs.presentation import (
    MSG_DIFF_LABEL_APPROVED,
    MSG_DIFF_LABEL_CURRENT,
    MSG_NEVER_APPROVED,
    MSG_SAME_AS_APPROVED,
)
from jobs.script_content import (
    ScriptFile,
    decode_text,
    unified_diff,
)
from jobs.selectors import script_current_file
from jobs.services.approval import (
    script_approve,
    script_reject,
)
from jobs.services.scripts import scripts_sync

MSG_SYNCED = "Scripts synced: {registered} new, {changed} changed, {missing} missing."
MSG_BACK_TO_REVIEW = "Changed since approval, pending review again: {paths}."
MSG_APPROVED = "Approved {path} ({sha})."
MSG_REJECTED = "Rejected {path} ({sha})."


class ReviewForm(forms.Form):
    """Approve or reject the content the reviewer saw (pinned by its hash)."""

    decision = forms.ChoiceField(choices=ScriptReview.Action.choices)
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why; kept in the approval history.",
    )
    sha256 = forms.CharField(widget=forms.HiddenInput)


class ScriptReviewInline(admin.TabularInline):
    """The approval history of a script, newest first; never edited."""

    model = ScriptReview
    extra = 0
    can_delete = False
    fields = ("at_shown", "action", "actor_name", "short_sha256", "note")
    readonly_fields = fields
    verbose_name = "review"
    verbose_name_plural = "approval history"

    def has_add_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Refuse: reviews are written by approving or rejecting."""
        return False

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Show the history to whoever may see the script."""
        user = request.user
        return user.has_perm("jobs.view_script") or super().has_view_permission(
            request, obj
        )

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Refuse: history is not edited."""
        return False

    @admin.display(description="at")
    def at_shown(self, review: ScriptReview) -> SafeString | str:
        """Show when, in the display zone with UTC on hover."""
        return instant_html(review.at)

    @admin.display(description="SHA-256")
    def short_sha256(self, review: ScriptReview) -> str:
        """Show the first 12 hex digits of the reviewed content's hash."""
        return review.sha256[:12]


@admin.register(Script)
class ScriptAdmin(RecordAdmin):
    """Registered scripts: list with status badges; content, diff and review."""

    inlines = (ScriptReviewInline,)
    list_display = (
        "path",
        "status_badge",
        "size_bytes",
        "modified_at_shown",
        "approved_by_name",
        "approved_at_shown",
    )
    list_filter = ("status", "is_missing")
    search_fields = ("path",)
    ordering = ("path",)
    readonly_fields = (
        "path",
        "status_badge",
        "sha256",
        "size_bytes",
        "modified_at_shown",
        "registered_at_shown",
        "updated_at_shown",
        "approved_sha256",
        "approved_by_name",
        "approved_at_shown",
        "content",
        "diff",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "path",
                    "status_badge",
                    "sha256",
                    "size_bytes",
                    "modified_at_shown",
                    "registered_at_shown",
                    "updated_at_shown",
                )
            },
        ),
        (
            "Last approval",
            {"fields": ("approved_sha256", "approved_by_name", "approved_at_shown")},
        ),
        ("Current content", {"fields": ("content",)}),
        ("Changes since the last approval", {"fields": ("diff",)}),
    )
    change_list_template = "admin/jobs/script/change_list.html"
    change_form_template = "admin/jobs/script/change_form.html"

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {
            "all": ("jobs/admin.css", "jobs/scripts.css")
        }

    # --- columns and read-only fields ---------------------------------------

    @admin.display(description="file modified at", ordering="modified_at")
    def modified_at_shown(self, script: Script) -> SafeString | str:
        """Show the file's time in the display zone, UTC on hover."""
        return instant_html(script.modified_at)

    @admin.display(description="registered at")
    def registered_at_shown(self, script: Script) -> SafeString | str:
        """Show when the file was first seen."""
        return instant_html(script.registered_at)

    @admin.display(description="updated at")
    def updated_at_shown(self, script: Script) -> SafeString | str:
        """Show the registry's last change."""
        return instant_html(script.updated_at)

    @admin.display(description="approved at", ordering="approved_at")
    def approved_at_shown(self, script: Script) -> SafeString | str:
        """Show the last approval's time."""
        return instant_html(script.approved_at)

    @admin.display(description="status", ordering="status")
    def status_badge(self, script: Script) -> SafeString:
        """Show the status as a colored badge."""
        return script_status_badge(script)

    @admin.display(description="content")
    def content(self, script: Script) -> SafeString:
        """Show the file as it is now, escaped, with line numbers."""
        current = self._current(script)
        if isinstance(current, str):
            return format_html('<p class="jobs-error">{}</p>', current)
        return format_html(
            '<p class="jobs-preview-note">SHA-256 {}</p>{}',
            current.sha256,
            content_table(decode_text(current.content)),
        )

    @admin.display(description="diff")
    def diff(self, script: Script) -> SafeString:
        """Show a unified diff from the approved content to the current one."""
        if not script.approved_content and script.approved_at is None:
            return format_html(
                '<p class="jobs-preview-note">{}</p>', MSG_NEVER_APPROVED
            )
        current = self._current(script)
        if isinstance(current, str):
            return format_html('<p class="jobs-error">{}</p>', current)
        approved_at = script.approved_at
        label = MSG_DIFF_LABEL_APPROVED.format(
            date=instant_text(approved_at, display_zone()) if approved_at else "?",
            user=script.approved_by_name or "?",
        )
        lines = unified_diff(
            script.approved_content,
            decode_text(current.content),
            old_label=label,
            new_label=MSG_DIFF_LABEL_CURRENT,
        )
        if not lines:
            return format_html(
                '<p class="jobs-preview-note">{}</p>', MSG_SAME_AS_APPROVED
            )
        return diff_html(lines)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Script | None:
        """Return the script with its file read once, for everything the page shows.

        The content, the diff and the hash the review form pins must all be
        the same read, or an approver could approve bytes they never saw.
        """
        script = super().get_object(request, object_id, from_field)
        if script is not None:
            script.current_file = script_current_file(script)
        return script

    def _current(self, script: Script) -> ScriptFile | str:
        current = getattr(script, "current_file", None)
        return current if current is not None else script_current_file(script)

    # --- pages ----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """Add the sync button's view and the review form's view."""
        wrap = self.admin_site.admin_view
        return [
            path("sync/", wrap(self.sync_view), name="jobs_script_sync"),
            path(
                "<path:object_id>/review/",
                wrap(self.review_view),
                name="jobs_script_review",
            ),
            *super().get_urls(),
        ]

    def can_sync(self, request: HttpRequest) -> bool:
        """Return True if the user may sync the registry with the folder."""
        user = request.user
        return user.is_active and (
            user.has_perm("jobs.add_script")
            or user.has_perm("jobs.change_script")
            or can_approve_scripts(user)
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Offer the "Sync scripts" button to those who may sync."""
        context = {"can_sync": self.can_sync(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Script | None = None,
    ) -> HttpResponse:
        """Add the review form for approvers, pinned to the content shown."""
        if obj is not None and can_approve_scripts(request.user):
            current = self._current(obj)
            if not isinstance(current, str):
                context["review_form"] = ReviewForm(initial={"sha256": current.sha256})
                context["review_url"] = reverse(
                    "admin:jobs_script_review", args=[obj.pk]
                )
                # Approving what is already approved would only add noise.
                context["can_approve_content"] = (
                    current.sha256 != obj.approved_sha256
                    or obj.status != Script.Status.APPROVED
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        """Sync the registry with the scripts folder (POST), then list it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_sync(request):
            raise PermissionDenied
        result = scripts_sync(
            now=clock.now(), actor=request.user, ip=request_ip(request)
        )
        self.message_user(
            request,
            MSG_SYNCED.format(
                registered=len(result.registered),
                changed=len(result.changed),
                missing=len(result.missing),
            ),
            messages.SUCCESS,
        )
        if result.back_to_review:
            self.message_user(
                request,
                MSG_BACK_TO_REVIEW.format(paths=", ".join(result.back_to_review)),
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:jobs_script_changelist"))

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Approve or reject the script (POST from its page; approvers only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_approve_scripts(request.user):
            raise PermissionDenied
        script = self.get_object(request, unquote(object_id))
        if script is None:
            raise Http404
        change_url = reverse("admin:jobs_script_change", args=[script.pk])
        form = ReviewForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(
                f"{field}: {' '.join(str(err) for err in errs)}"
                for field, errs in form.errors.items()
            )
            self.message_user(request, errors, messages.ERROR)
            return HttpResponseRedirect(change_url)
        data = form.cleaned_data
        approve = data["decision"] == ScriptReview.Action.APPROVE
        review = script_approve if approve else script_reject
        try:
            script = review(
                script=script,
                actor=signed_in_user(request.user),
                note=data["note"],
                now=clock.now(),
                expected_sha256=data["sha256"],
                ip=request_ip(request),
            )
        except JobsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(change_url)
        message = MSG_APPROVED if approve else MSG_REJECTED
        self.message_user(
            request,
            message.format(path=script.path, sha=script.sha256[:12]),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)
