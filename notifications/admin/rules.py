"""Rules: global ones for the Admin role, per job for who may change the job.

Saving and deleting go through `services.rules` (audited); who may edit
what is `notifications.permissions`, as in the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from jobportal import clock
from notifications import permissions
from notifications.admin.client import client_ip
from notifications.models import Rule
from notifications.services.rules import rule_delete, rule_save

MSG_RULE_JOB_REQUIRED = (
    "Choose a job you may change (rules for every job need the Admin role)."
)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """Rules: global ones for the Admin role, per job for who may change it."""

    list_display = (
        "__str__",
        "job",
        "channel",
        "triggers",
        "only_on_change",
        "is_active",
    )
    list_filter = ("channel", "is_active")
    list_select_related = ("job", "channel")
    fields = ("channel", "job", "triggers", "failing_n", "only_on_change", "is_active")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        """Rules of visible jobs, and the global ones."""
        return permissions.rules_visible_to(request.user).select_related(
            "job", "channel"
        )

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        """Offer only the jobs the user may set rules on."""
        if db_field.name == "job":
            kwargs["queryset"] = permissions.jobs_for_rules(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Anyone who may set a rule somewhere."""
        return permissions.can_edit_some_rule(request.user)

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Per rule: the right on its job (or global rules)."""
        if obj is None:
            return permissions.can_edit_some_rule(request.user)
        assert isinstance(obj, Rule)  # noqa: S101 - the admin's own model
        return permissions.can_edit_rule(request.user, obj.job)

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """As changing."""
        return self.has_change_permission(request, obj)

    def get_form(
        self,
        request: HttpRequest,
        obj: Any | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Refuse a rule on a job (or every job) the user may not set."""
        form_class = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class Checked(form_class):  # type: ignore[misc,valid-type]
            def clean_job(self) -> Any:
                job = self.cleaned_data.get("job")
                if not permissions.can_edit_rule(user, job):
                    raise ValidationError(MSG_RULE_JOB_REQUIRED)
                return job

        return Checked

    def save_model(
        self, request: HttpRequest, obj: Rule, form: Any, change: bool
    ) -> None:
        """Save through the service (audited)."""
        rule_save(rule=obj, actor=request.user, now=clock.now(), ip=client_ip(request))

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        """Delete through the service (audited)."""
        rule_delete(
            rule=obj, actor=request.user, now=clock.now(), ip=client_ip(request)
        )
