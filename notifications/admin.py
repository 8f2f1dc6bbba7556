"""The notifications admin: channels, rules, job settings, deliveries.

Channels take their secrets write-only (password boxes never filled from the
stored values; the page says which are set); saving goes through
`services.channels.channel_save` (encryption, validation, audit). "Send test
notification" queues a test message the worker delivers. Rules go through
`services.rules`; who may edit what is `notifications.permissions`, as in the
API. Deliveries and their attempts are read-only records.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from jobportal import clock
from jobportal.admin import RecordAdmin
from jobs.permissions import jobs_visible_to
from notifications import permissions
from notifications.channels.registry import CHANNELS
from notifications.models import Channel, DeliveryAttempt, JobState, Notification, Rule
from notifications.services.channels import (
    channel_delete,
    channel_save,
    channel_secret_keys,
    check_channel,
)
from notifications.services.circuit import job_circuit_resume
from notifications.services.delivery import notification_test_queue
from notifications.services.rules import (
    job_notify_settings_save,
    rule_delete,
    rule_save,
)

MSG_SECRET_HELP = "Write-only: leave empty to keep the stored value."  # noqa: S105
MSG_TEST_QUEUED = "Test notification queued for {count} channel(s); see Deliveries."
MSG_RESUMED = "Resumed {count} job(s)."
SECRET_FIELDS = ("url", "secret", "password")


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _secret_box(key: str) -> forms.CharField:
    """Return a password box never filled in from the stored value."""
    return forms.CharField(
        label=f"Secret: {key}",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=MSG_SECRET_HELP,
    )


class ChannelForm(forms.ModelForm):
    """The channel's fields plus one write-only box per secret setting."""

    # One box per secret key of any kind (see each channel's `secret_keys`).
    secret_url = _secret_box("url")
    secret_secret = _secret_box("secret")
    secret_password = _secret_box("password")

    class Meta:
        model = Channel
        fields = (
            "name",
            "kind",
            "is_active",
            "config",
            "subject_template",
            "body_template",
            "rate_per_hour",
            "rate_burst",
        )

    def secrets(self) -> dict[str, str]:
        """Return the secret settings typed in (empty boxes are left out)."""
        kind = CHANNELS.get(self.cleaned_data.get("kind", ""))
        allowed = kind.secret_keys if kind else ()
        return {
            key: self.cleaned_data[f"secret_{key}"]
            for key in allowed
            if self.cleaned_data.get(f"secret_{key}")
        }


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """Channels: managed by the Admin role; secrets write-only."""

    form = ChannelForm
    list_display = ("name", "kind", "is_active", "rate_per_hour", "last_error_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    readonly_fields = ("secrets_set", "last_error", "last_error_at")
    actions = ("send_test",)

    @admin.display(description="secrets set")
    def secrets_set(self, obj: Channel) -> str:
        """Name the secret settings that hold a value, never the values."""
        return ", ".join(channel_secret_keys(obj)) if obj.pk else "-"

    def get_fields(  # type: ignore[override]
        self, request: HttpRequest, obj: Model | None = None
    ) -> list[str]:
        """Show the fields, the secret boxes and the status."""
        fields = list(ChannelForm.Meta.fields)
        return [
            *fields,
            *(f"secret_{key}" for key in SECRET_FIELDS),
            *self.readonly_fields,
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Only channel managers add."""
        return permissions.can_manage_channels(request.user)

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Only channel managers change."""
        return permissions.can_manage_channels(request.user)

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Only channel managers delete."""
        return permissions.can_manage_channels(request.user)

    def save_model(
        self, request: HttpRequest, obj: Channel, form: Any, change: bool
    ) -> None:
        """Save through the service (encrypts secrets, audits)."""
        channel_save(
            channel=obj,
            secrets=form.secrets(),
            actor=request.user,
            now=clock.now(),
            ip=_ip(request),
        )

    def get_form(
        self,
        request: HttpRequest,
        obj: Any | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Report the service's refusals (a missing URL) on the form."""
        form_class = super().get_form(request, obj, change, **kwargs)

        class Checked(form_class):  # type: ignore[misc,valid-type]
            def _post_clean(self) -> None:
                super()._post_clean()
                if self.errors or self.instance.kind not in CHANNELS:
                    return
                try:
                    check_channel(self.instance, self.secrets())
                except ValidationError as exc:
                    for where, words in exc.message_dict.items():
                        self.add_error(None, f"{where}: {' '.join(words)}")

        return Checked

    def delete_model(self, request: HttpRequest, obj: Channel) -> None:
        """Delete through the service (audited)."""
        channel_delete(
            channel=obj, actor=request.user, now=clock.now(), ip=_ip(request)
        )

    @admin.action(description="Send test notification")
    def send_test(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        """Queue a test message on each chosen channel."""
        if not permissions.can_manage_channels(request.user):
            self.message_user(request, "Not allowed.", messages.ERROR)
            return
        count = 0
        for channel in queryset:
            notification_test_queue(channel=channel, now=clock.now())
            count += 1
        self.message_user(
            request, MSG_TEST_QUEUED.format(count=count), messages.SUCCESS
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
        rule_save(rule=obj, actor=request.user, now=clock.now(), ip=_ip(request))

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        """Delete through the service (audited)."""
        rule_delete(rule=obj, actor=request.user, now=clock.now(), ip=_ip(request))


MSG_RULE_JOB_REQUIRED = (
    "Choose a job you may change (rules for every job need the Admin role)."
)


@admin.register(JobState)
class JobStateAdmin(admin.ModelAdmin):
    """Per-job mute and circuit breaker; "Resume" for paused jobs."""

    list_display = (
        "job",
        "failing_streak",
        "muted_until",
        "circuit_breaker_after",
        "circuit_opened_at",
    )
    list_select_related = ("job",)
    fields = (
        "job",
        "failing_streak",
        "muted_until",
        "circuit_breaker_after",
        "circuit_opened_at",
    )
    readonly_fields = ("job", "failing_streak", "circuit_opened_at")
    actions = ("resume",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobState]:
        """States of the jobs the user may see."""
        return (
            super().get_queryset(request).filter(job__in=jobs_visible_to(request.user))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """States are made by the consumer."""
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Muting takes the right to change the job."""
        if obj is None:
            return permissions.can_edit_some_rule(request.user)
        assert isinstance(obj, JobState)  # noqa: S101 - the admin's own model
        return permissions.can_mute_job(request.user, obj.job)

    def save_model(
        self, request: HttpRequest, obj: JobState, form: Any, change: bool
    ) -> None:
        """Save through the service (audited)."""
        job_notify_settings_save(
            job=obj.job,
            muted_until=obj.muted_until,
            circuit_breaker_after=obj.circuit_breaker_after,
            actor=request.user,
            now=clock.now(),
            ip=_ip(request),
        )

    @admin.action(description="Resume (close the circuit breaker)")
    def resume(self, request: HttpRequest, queryset: QuerySet[JobState]) -> None:
        """Activate each paused job the user may activate and reset its streak."""
        count = 0
        for state in queryset.select_related("job"):
            if permissions.can_resume_job(request.user, state.job):
                job_circuit_resume(
                    job=state.job, actor=request.user, now=clock.now(), ip=_ip(request)
                )
                count += 1
        self.message_user(request, MSG_RESUMED.format(count=count), messages.SUCCESS)


class AttemptInline(admin.TabularInline):
    """The attempts of one delivery, read-only."""

    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "outcome", "response_code", "error", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Records only."""
        return False


@admin.register(Notification)
class DeliveryAdmin(RecordAdmin):
    """Deliveries (outbox rows) with their attempts; filter by job, channel, status."""

    list_display = (
        "created_at",
        "event",
        "job",
        "channel",
        "status",
        "attempts",
        "delivered_at",
    )
    list_filter = (
        "status",
        "event",
        "channel",
        ("job", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("job", "channel")
    search_fields = ("idempotency_key", "job__name")
    readonly_fields = (
        "channel",
        "job",
        "run",
        "event",
        "idempotency_key",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "subject",
        "body",
        "facts",
    )
    inlines = (AttemptInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        """Deliveries the user may see."""
        return permissions.deliveries_visible_to(request.user).select_related(
            "job", "channel"
        )
