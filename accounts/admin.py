"""The admin for accounts: audited users and groups, the audit log, API keys.

Django's User and Group admins are replaced by subclasses that write an
audit event for every create, change (including group and permission
membership, and password changes) and delete. The audit log itself can be
viewed (by whoever may, see `accounts.permissions.can_view_audit_log`) and
never added to, changed or deleted from here, superusers included.

API keys: every staff member creates, sees and revokes their own; whoever
may change every key (`accounts.change_apikey`, the Admin role) sees and
revokes everyone's. A new key is shown once, in the message after saving;
its hash never shows. Keys are revoked, never edited or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Model, QuerySet
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.actors import signed_in_user
from accounts.client import request_ip
from accounts.models import APIKey, AuditEvent
from accounts.permissions import (
    can_manage_all_api_keys,
    can_view_audit_log,
    is_active_user,
)
from accounts.selectors import people
from accounts.services.api_keys import (
    MSG_EXPIRES_IN_PAST,
    api_key_create,
    api_key_revoke,
)
from accounts.services.audit import audit_state_change, audit_target
from accounts.services.users import group_state, user_state
from jobportal import clock
from jobportal.admin import InstantColumnsMixin, RecordAdmin
from jobportal.times import instant_html

SYSTEM_ACTOR = "system"
MSG_KEY_CREATED = (
    "The API key {name} was created. Copy it now; it will not be shown again: "
    "<code>{key}</code>"
)
MSG_KEYS_REVOKED = "Revoked {count} API key(s)."


if TYPE_CHECKING:
    # The mixin is only ever mixed into a ModelAdmin; telling mypy so types
    # its `super()` calls.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class AuditedAdminMixin(_ModelAdmin):
    """Record an audit event for each save and delete made through the admin.

    The state before a change is read in `save_model` (before the row is
    written) and compared in `save_related` (after its many-to-many fields,
    such as groups and permissions, are written).
    """

    def audit_state(self, obj: Any) -> dict[str, Any]:
        """Return the object's audited state, read from the database."""
        raise NotImplementedError

    def save_model(
        self, request: HttpRequest, obj: Model, form: ModelForm, change: bool
    ) -> None:
        """Remember the state before the change, then save."""
        form.audit_before = self.audit_state(obj) if change else None  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm,
        formsets: list[BaseFormSet],
        change: bool,
    ) -> None:
        """Save the relations, then record what the whole save changed."""
        super().save_related(request, form, formsets, change)
        audit_state_change(
            actor=request.user,
            target=form.instance,
            before=getattr(form, "audit_before", None),
            after=self.audit_state(form.instance),
            ip=request_ip(request),
            now=clock.now(),
        )

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        """Delete and record the object's last state."""
        before, target = self.audit_state(obj), audit_target(obj)
        super().delete_model(request, obj)
        audit_state_change(
            actor=request.user,
            target=target,
            before=before,
            after=None,
            ip=request_ip(request),
            now=clock.now(),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Delete one by one, so that each deletion is recorded."""
        for obj in queryset:
            self.delete_model(request, obj)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    """Django's user admin, audited; roles shown, guardian's AnonymousUser hidden."""

    list_display = ("username", "email", "first_name", "last_name", "is_staff", "roles")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        """Leave out guardian's AnonymousUser; load the roles in one query."""
        return people(super().get_queryset(request)).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        """Name the user's roles (groups), superuser first."""
        names = sorted(group.name for group in user.groups.all())
        if user.is_superuser:
            names.insert(0, "superuser")
        return ", ".join(names) or "-"

    def audit_state(self, obj: Any) -> dict[str, Any]:
        """Return the user's audited fields, groups and permissions."""
        return user_state(obj)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Change the password, recording that it changed (never its value)."""
        user = self.get_object(request, id)
        before = user_state(user) if user is not None else None
        response = super().user_change_password(request, id, form_url)
        if user is not None and request.method == "POST":
            audit_state_change(
                actor=request.user,
                target=user,
                before=before,
                after=user_state(user),
                ip=request_ip(request),
                now=clock.now(),
            )
        return response


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdminMixin, GroupAdmin):
    """Django's group admin, audited."""

    def audit_state(self, obj: Any) -> dict[str, Any]:
        """Return the group's name and permissions."""
        return group_state(obj)


class ActorFilter(admin.SimpleListFilter):
    """Filter events by the name of who acted ("system" for no one)."""

    title = "actor"
    parameter_name = "actor_name"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        """Offer every actor name in the log."""
        names = (
            AuditEvent.objects.order_by("actor_repr")
            .values_list("actor_repr", flat=True)
            .distinct()
        )
        return [(name or SYSTEM_ACTOR, name or SYSTEM_ACTOR) for name in names]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> QuerySet[AuditEvent]:
        """Keep the events of the chosen actor."""
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(actor_repr="" if value == SYSTEM_ACTOR else value)


@admin.register(AuditEvent)
class AuditEventAdmin(InstantColumnsMixin, RecordAdmin):
    """The audit log: read-only for everyone, superusers included."""

    # "at" becomes a column naming its zone (`instant_columns`).
    list_display = ("at", "actor_name", "action", "target_type", "target_link", "ip")
    instant_columns: ClassVar[dict[str, Any]] = {"at": ("at", None)}
    list_filter = (
        "action",
        ActorFilter,
        ("at", admin.DateFieldListFilter),
        "target_type",
    )
    search_fields = ("target_repr", "target_id", "target_type", "actor_repr")
    date_hierarchy = "at"
    actions = None
    fields = (
        "at_shown",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "target_link",
        "changes_table",
        "ip",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Allow those who may read the audit log."""
        return can_view_audit_log(request.user)

    def get_list_display_links(
        self, request: HttpRequest, list_display: Sequence[Any]
    ) -> tuple[Any, ...]:
        """Link the time column to the event."""
        return (list_display[0],)

    @admin.display(description="at")
    def at_shown(self, event: AuditEvent) -> SafeString | str:
        """Show the time in the display zone, UTC on hover."""
        return instant_html(event.at)

    @admin.display(description="actor", ordering="actor_repr")
    def actor_name(self, event: AuditEvent) -> str:
        """Show who acted, or "system"."""
        return event.actor_repr or SYSTEM_ACTOR

    @admin.display(description="target", ordering="target_repr")
    def target_link(self, event: AuditEvent) -> str | SafeString:
        """Link to the target's admin page when it has one."""
        if not event.target_type or not event.target_id:
            return event.target_repr
        app_label, _, model = event.target_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model}_change", args=[event.target_id])
        except NoReverseMatch:
            return event.target_repr
        return format_html('<a href="{}">{}</a>', url, event.target_repr)

    @admin.display(description="changes")
    def changes_table(self, event: AuditEvent) -> SafeString:
        """Show the changed fields with their old and new values."""
        if not event.changes:
            return format_html("{}", "-")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (field, _show(values[0]), _show(values[1]))
                for field, values in event.changes.items()
            ),
        )
        return format_html(
            "<table><thead><tr><th>field</th><th>old</th><th>new</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


def _show(value: Any) -> str:
    return "-" if value is None else repr(value)


class APIKeyForm(forms.ModelForm):
    """A new key's name and optional expiry; the key itself is generated."""

    class Meta:
        model = APIKey
        fields = ("name", "expires_at")

    def clean_expires_at(self) -> datetime | None:
        """Refuse an expiry time that has already passed."""
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= clock.now():
            raise forms.ValidationError(MSG_EXPIRES_IN_PAST)
        return expires_at


@admin.register(APIKey)
class APIKeyAdmin(RecordAdmin):
    """API keys: created here for oneself, shown once, revoked by an action.

    A record otherwise: a key is never edited, only revoked, and a revoked
    key is kept.
    """

    form = APIKeyForm
    list_display = (
        "name",
        "owner",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "key_status",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "owner__username")
    list_select_related = ("owner",)
    actions = ("revoke_keys",)
    readonly_fields = ("key_status",)
    change_fields = (
        "name",
        "owner",
        "prefix",
        "key_status",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[APIKey]:
        """Return the user's own keys, or every key for those who manage all."""
        keys = super().get_queryset(request)
        if can_manage_all_api_keys(request.user):
            return keys
        return keys.filter(owner=request.user)

    def get_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        """Ask only for a name and an expiry when adding; show all otherwise."""
        return ("name", "expires_at") if obj is None else self.change_fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Show API keys to every active staff member (for their own keys)."""
        return is_active_user(request.user)

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Allow the key's owner, and those who manage every key."""
        if not is_active_user(request.user):
            return False
        if isinstance(obj, APIKey) and obj.owner_id != request.user.pk:
            return can_manage_all_api_keys(request.user)
        return True

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Let every active staff member create keys for themselves."""
        return is_active_user(request.user)

    def save_model(
        self, request: HttpRequest, obj: APIKey, form: APIKeyForm, change: bool
    ) -> None:
        """Create the key for the signed-in user and show the full key once."""
        obj.owner = signed_in_user(request.user)
        _, raw_key = api_key_create(
            api_key=obj, actor=request.user, ip=request_ip(request), now=clock.now()
        )
        self.message_user(
            request,
            format_html(MSG_KEY_CREATED, name=str(obj), key=raw_key),
            messages.SUCCESS,
        )

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        """Revoke the selected keys that are not revoked yet."""
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(
                api_key=api_key,
                actor=request.user,
                ip=request_ip(request),
                now=clock.now(),
            )
            count += 1
        self.message_user(request, MSG_KEYS_REVOKED.format(count=count))

    @admin.display(description="status")
    def key_status(self, api_key: APIKey) -> str:
        """Show whether the key is active, expired or revoked."""
        return APIKey.Status(api_key.status(now=clock.now())).label


from accounts import admin_preferences  # noqa: E402, F401 - registers the page
