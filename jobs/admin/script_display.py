"""Rendering for the script admin and the job form's script dropdown.

The content of a script is always shown escaped (`format_html`), line by
line; a diff is shown as escaped unified-diff lines, each marked added,
removed or context.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs.models import Script
from jobs.presentation import MAX_SHOWN_LINES, MSG_CUT
from jobs.script_content import numbered_lines
from jobs.services.scripts import script_files

MSG_CHOICE_NEW = "new, not reviewed yet"
MSG_CHOICE_MISSING = "missing"
MSG_CHOICE_CHANGED = "changed since approval"
MSG_SCRIPT_HELP = (
    "A file in the scripts directory. With approval required it runs only "
    "while its content is the approved content (see Scripts)."
)

STATUS_CLASSES: dict[str, str] = {
    Script.Status.PENDING: "pending",
    Script.Status.APPROVED: "approved",
    Script.Status.REJECTED: "rejected",
}


def script_status_badge(script: Script) -> SafeString:
    """Return the script's status as a badge; "changed" and "missing" win."""
    if script.is_missing:
        css, label = "missing", "Missing"
    elif script.status == Script.Status.PENDING and script.has_changed_since_approval:
        css, label = "changed", "Changed - pending review"
    else:
        css, label = STATUS_CLASSES[script.status], script.get_status_display()
    return format_html(
        '<span class="jobs-script-status jobs-script-{}">{}</span>', css, label
    )


def content_table(text: str) -> SafeString:
    """Return `text` as an escaped table of numbered lines."""
    lines = numbered_lines(text)
    rows = format_html_join(
        "",
        '<tr><td class="jobs-lineno">{}</td><td class="jobs-line">{}</td></tr>',
        lines[:MAX_SHOWN_LINES],
    )
    note = ""
    if len(lines) > MAX_SHOWN_LINES:
        note = format_html(
            '<p class="jobs-preview-note">{}</p>',
            MSG_CUT.format(shown=MAX_SHOWN_LINES, total=len(lines)),
        )
    return format_html('<table class="jobs-script-content">{}</table>{}', rows, note)


def diff_html(lines: list[str]) -> SafeString:
    """Return unified diff lines, escaped, each marked added, removed or hunk."""

    def kind(line: str) -> str:
        if line.startswith(("+++", "---")):
            return "file"
        if line.startswith("@@"):
            return "hunk"
        if line.startswith("+"):
            return "added"
        if line.startswith("-"):
            return "removed"
        return "context"

    body = format_html_join(
        "", '<span class="jobs-diff-{}">{}</span>\n', ((kind(x), x) for x in lines)
    )
    return format_html('<pre class="jobs-script-diff">{}</pre>', body)


def script_choices(current: str | None = None) -> list[tuple[str, str]]:
    """Return the job form's script choices: every script file, with its status.

    Registered scripts show their review status; files not registered yet
    are offered too (saving the job registers them, pending review), and so
    is `current`, the job's script, whatever it is.
    """
    registered = {script.path: script for script in Script.objects.all()}
    paths = set(registered) | set(script_files())
    if current:
        paths.add(current)
    choices = [("", "---------")]
    for relative in sorted(paths):
        script = registered.get(relative)
        if script is None:
            note = MSG_CHOICE_NEW
        elif script.is_missing:
            note = MSG_CHOICE_MISSING
        elif (
            script.status == Script.Status.PENDING and script.has_changed_since_approval
        ):
            note = MSG_CHOICE_CHANGED
        else:
            note = script.get_status_display().lower()
        choices.append((relative, f"{relative} ({note})"))
    return choices


def with_script_dropdown(
    form_class: type[forms.ModelForm], *, current: str | None
) -> type[forms.ModelForm]:
    """Return `form_class` with its script box turned into a dropdown."""

    class ScriptDropdownForm(form_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            field = self.fields.get("script")
            if field is not None:
                self.fields["script"] = forms.ChoiceField(
                    choices=script_choices(current),
                    label=field.label,
                    help_text=MSG_SCRIPT_HELP,
                )

    return ScriptDropdownForm
