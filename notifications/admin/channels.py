"""Channels: managed by the Admin role, secrets write-only, "Send test notification".

Saving goes through `services.channels.channel_save` (encryption,
validation, audit); the form's password boxes are never filled from the
stored values, and the page says which secrets are set.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from jobportal import clock
from notifications import permissions
from notifications.admin.client import client_ip
from notifications.channels.registry import CHANNELS
from notifications.models import Channel
from notifications.services.channels import (
    channel_delete,
    channel_save,
    channel_secret_keys,
    check_channel,
)
from notifications.services.delivery import notification_test_queue

MSG_SECRET_HELP = "Write-only: leave empty to keep the stored value."  # noqa: S105
MSG_TEST_QUEUED = "Test notification queued for {count} channel(s); see Deliveries."
SECRET_FIELDS = ("url", "secret", "password")


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
            ip=client_ip(request),
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
            channel=obj, actor=request.user, now=clock.now(), ip=client_ip(request)
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
