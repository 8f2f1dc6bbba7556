"""The job form's sections and read-only rules, stated once, gated by rights.

`JOB_SECTIONS` lists every section of the job page with the rule that shows
it, and `READ_ONLY` every field shown read-only with the rule that makes it
so. `job_fieldsets` and `job_readonly_fields` read them for one user's
`JobFormRights` (what the job admin computes from `accounts.permissions`);
they are pure, so each role's form is tested without a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from django import forms

if TYPE_CHECKING:
    # The admin's own types for one fieldset's options and a list of them.
    from django.contrib.admin.options import _FieldOpts
    from django_stubs_ext import StrOrPromise

NOTE_FIELD = "change_note"
NOTE_HELP = "Optional: why you changed the job (shown in its version history)."


@dataclass(frozen=True)
class JobFormRights:
    """What one user may do with one job's form (or the add form)."""

    is_saved: bool
    may_save: bool
    may_change_owner: bool
    may_choose_secrets: bool
    may_manage_permissions: bool


Rule = Callable[[JobFormRights], bool]
# The list form of the admin's fieldsets type (titles may be lazy text).
Fieldsets = list[tuple["StrOrPromise | None", "_FieldOpts"]]


def always(rights: JobFormRights) -> bool:
    """Hold for everyone."""
    return True


def is_saved(rights: JobFormRights) -> bool:
    """Hold on a saved job's page (not on the add form)."""
    return rights.is_saved


def may_save(rights: JobFormRights) -> bool:
    """Hold for those who may save the form."""
    return rights.may_save


def may_not_save(rights: JobFormRights) -> bool:
    """Hold for those who only read the form."""
    return not rights.may_save


def may_see_grants(rights: JobFormRights) -> bool:
    """Hold on a saved job's page for those who may grant rights."""
    return rights.is_saved and rights.may_manage_permissions


def may_not_change_owner(rights: JobFormRights) -> bool:
    """Hold for those who may not hand the job to another owner."""
    return not rights.may_change_owner


def may_not_choose_secrets(rights: JobFormRights) -> bool:
    """Hold for those who may not choose which secrets the job gets."""
    return not rights.may_choose_secrets


class Section(NamedTuple):
    """One section of the job page: its title, fields and who sees it."""

    title: str | None
    fields: tuple[str, ...]
    shown: Rule = always
    collapsed: bool = False


JOB_SECTIONS: tuple[Section, ...] = (
    Section(
        None,
        (
            "name",
            "description",
            "script",
            "args",
            "env",
            "secrets",
            "working_dir",
            "owner",
        ),
    ),
    Section(
        "When",
        (
            "timezone",
            "is_active",
            "blackout_calendars",
            "blackout_action",
            "upcoming",
        ),
    ),
    Section("Pipeline", ("dependency_mode",)),
    Section(
        "Retries",
        (
            "retry_max_attempts",
            "retry_delay_seconds",
            "retry_backoff",
            "retry_max_delay_seconds",
            "retry_exit_codes",
            "retry_on_timeout",
            "retry_on_lost",
            "retry_max_total_seconds",
        ),
        collapsed=True,
    ),
    Section(
        "Limits, concurrency and missed runs",
        (
            "priority",
            "timeout_seconds",
            "concurrency_policy",
            "max_concurrent",
            "misfire_policy",
            "misfire_grace_seconds",
        ),
        collapsed=True,
    ),
    Section(
        "Retention",
        ("retention_days", "retention_runs", "output_retention_days"),
        collapsed=True,
    ),
    Section("Hooks", ("pre_hook", "post_hook"), collapsed=True),
    Section("Permissions", ("permission_grants",), shown=may_see_grants),
    Section("History", ("timeline_link", "version_history"), shown=is_saved),
    Section("Change note", (NOTE_FIELD,), shown=may_save),
)

# Fields shown only where their rule holds, whatever their section: a new
# job has no fire times to show yet.
FIELD_SHOWN: dict[str, Rule] = {"upcoming": is_saved}

# Fields shown as another (read-only, computed) field where their rule holds:
# a page that only reads the job shows its priority's level name.
FIELD_AS: dict[str, tuple[str, Rule]] = {"priority": ("priority_level", may_not_save)}

# Fields shown read-only where their rule holds; the admin leaves them out
# of the form, so a submitted value is ignored. The computed fields (the
# admin's display methods) are read-only for everyone.
READ_ONLY: dict[str, Rule] = {
    "upcoming": always,
    "secrets": may_not_choose_secrets,
    "permission_grants": always,
    "version_history": always,
    "timeline_link": always,
    "owner": may_not_change_owner,
    "priority_level": may_not_save,
}


def job_fieldsets(rights: JobFormRights) -> Fieldsets:
    """Return the job page's fieldsets for a user with `rights`."""
    fieldsets: Fieldsets = []
    for section in JOB_SECTIONS:
        if not section.shown(rights):
            continue
        fields = tuple(
            _shown_as(name, rights)
            for name in section.fields
            if FIELD_SHOWN.get(name, always)(rights)
        )
        options: _FieldOpts = {"fields": fields}
        if section.collapsed:
            options = {"classes": ("collapse",), **options}
        fieldsets.append((section.title, options))
    return fieldsets


def _shown_as(name: str, rights: JobFormRights) -> str:
    """Return the field that shows `name` to a user with `rights`."""
    alias, rule = FIELD_AS.get(name, (name, always))
    return alias if rule(rights) else name


def job_readonly_fields(rights: JobFormRights) -> tuple[str, ...]:
    """Return the fields shown read-only to a user with `rights`."""
    return tuple(name for name, rule in READ_ONLY.items() if rule(rights))


def with_change_note(form_class: type[forms.ModelForm]) -> type[forms.ModelForm]:
    """Return `form_class` with an optional change note for the job version."""

    class JobFormWithNote(form_class):  # type: ignore[valid-type,misc]
        change_note = forms.CharField(
            label="Change note",
            required=False,
            max_length=500,
            help_text=NOTE_HELP,
        )

    return JobFormWithNote
