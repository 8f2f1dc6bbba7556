"""The secret admin: the value is write-only, never shown again after saving.

The form has a password box for a new value that is never filled in from
the stored one (a secret kept in Vault or AWS has a reference instead, and
no value here); the page shows only whether a value is set and when it last
changed. Saving and deleting go through `jobs.services.secrets`, which
encrypts the value and refuses to delete a secret that jobs still use.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from accounts.client import request_ip
from jobportal import clock
from jobs import crypto
from jobs.models import Secret
from jobs.services.secrets import (
    MSG_NO_VALUE_FOR_BACKEND,
    SecretInUseError,
    encryption_keys,
    secret_delete,
    secret_save,
)

MSG_VALUE_HELP_NEW = "Stored encrypted; it cannot be shown again after saving."
MSG_VALUE_HELP_CHANGE = (
    "Leave empty to keep the current value. A value is never shown again; "
    "type a new one to replace it."
)
MSG_VALUE_REQUIRED = "Enter the secret's value."
MSG_VALUE_SET = "set"
MSG_VALUE_NOT_SET = "not set"


class SecretForm(forms.ModelForm):
    """Name and description, plus a write-only box for a new value."""

    value = forms.CharField(
        label="New value",
        required=False,
        strip=False,
        # render_value=False: the page never carries a value, not even back
        # to the browser after a failed save.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=MSG_VALUE_HELP_NEW,
    )

    class Meta:
        model = Secret
        fields = ("name", "description", "backend", "reference")
        widgets: ClassVar[dict[str, forms.Widget]] = {
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Say how the value box works for a new or an existing secret."""
        super().__init__(*args, **kwargs)
        # Left out of a form post: the built-in store, as before backends.
        self.fields["backend"].required = False
        if self.instance.pk is None:
            self.fields["value"].label = "Value"
        else:
            self.fields["value"].help_text = MSG_VALUE_HELP_CHANGE

    def clean_backend(self) -> str:
        """Return the chosen backend, the built-in store when none is given."""
        return self.cleaned_data.get("backend") or Secret.Backend.BUILTIN

    def clean_value(self) -> str | None:
        """Return the new value, None to keep the old one (or for a backend)."""
        value = self.cleaned_data.get("value") or None
        if value is not None:
            try:
                encryption_keys()
            except crypto.EncryptionKeyError as exc:
                raise forms.ValidationError(str(exc)) from None
        return value

    def clean(self) -> dict[str, Any]:
        """A new built-in secret needs a value; another backend takes none."""
        cleaned = super().clean() or {}
        backend = cleaned.get("backend") or Secret.Backend.BUILTIN
        value = cleaned.get("value")
        if backend != Secret.Backend.BUILTIN and value is not None:
            label = Secret.Backend(backend).label
            self.add_error("value", MSG_NO_VALUE_FOR_BACKEND.format(backend=label))
        elif (
            backend == Secret.Backend.BUILTIN
            and value is None
            and (self.instance.pk is None or not self.instance.value_encrypted)
        ):
            self.add_error("value", MSG_VALUE_REQUIRED)
        return cleaned


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    """Secrets by name: whether a value is set, when it changed, who uses it."""

    form = SecretForm
    list_display = (
        "name",
        "description",
        "backend",
        "is_set",
        "value_changed_at",
        "job_count",
    )
    list_filter = ("backend",)
    search_fields = ("name", "description")
    fields = (
        "name",
        "description",
        "backend",
        "reference",
        "value",
        "value_status",
        "value_changed_at",
        "used_by",
    )
    readonly_fields = ("value_status", "value_changed_at", "used_by")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Secret]:
        """Count each secret's jobs in the same query."""
        return super().get_queryset(request).annotate(job_total=Count("jobs"))

    def get_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        """Leave out what a secret not yet saved does not have."""
        if obj is None:
            return ("name", "description", "backend", "reference", "value")
        return self.fields

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Refuse for a secret that jobs still use (delete would break them)."""
        if isinstance(obj, Secret) and obj.jobs.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: Secret, form: SecretForm, change: bool
    ) -> None:
        """Encrypt and save through the service (audited, names only)."""
        secret_save(
            secret=obj,
            value=form.cleaned_data.get("value"),
            actor=request.user,
            ip=request_ip(request),
            now=clock.now(),
        )

    def delete_model(self, request: HttpRequest, obj: Secret) -> None:
        """Delete through the service, which refuses a secret in use."""
        secret_delete(
            secret=obj, actor=request.user, now=clock.now(), ip=request_ip(request)
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        """Delete each unused secret; say which are kept because jobs use them."""
        for secret in queryset:
            try:
                secret_delete(
                    secret=secret,
                    actor=request.user,
                    now=clock.now(),
                    ip=request_ip(request),
                )
            except SecretInUseError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    # --- columns and read-only fields ---------------------------------------

    @admin.display(description="value set", boolean=True)
    def is_set(self, secret: Secret) -> bool:
        """Show whether a value is stored (never the value)."""
        return secret.is_set

    @admin.display(description="stored value")
    def value_status(self, secret: Secret) -> str:
        """Say "set" or "not set"; the value itself is never shown."""
        return MSG_VALUE_SET if secret.is_set else MSG_VALUE_NOT_SET

    @admin.display(description="jobs", ordering="job_total")
    def job_count(self, secret: Secret) -> int:
        """Show how many jobs use the secret."""
        return getattr(secret, "job_total", 0)

    @admin.display(description="used by")
    def used_by(self, secret: Secret) -> SafeString | str:
        """List the jobs that receive this secret."""
        names = list(secret.jobs.order_by("name").values_list("name", flat=True))
        if not names:
            return "-"
        return format_html_join(", ", "{}", ((name,) for name in names))
