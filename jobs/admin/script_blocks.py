"""The "blocked" badge: a job whose script may not run, with a link to review it.

The decision is `jobs.selectors.script_blocks`; this module only renders it,
for the job list, the job page and "Run now"'s refusal.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from jobs.models import Job
from jobs.selectors import ScriptBlock, script_blocks

BLOCKED_LABEL = "blocked"
REVIEW_LABEL = "review the script"
SYNC_LABEL = "sync the scripts"


def review_url(block: ScriptBlock) -> str:
    """Return the script's review page, or the script list to sync from."""
    if block.script_id is None:
        return reverse("admin:jobs_script_changelist")
    return reverse("admin:jobs_script_change", args=[block.script_id])


def review_link(block: ScriptBlock) -> SafeString:
    """Return a link to the page where the block can be lifted."""
    label = SYNC_LABEL if block.script_id is None else REVIEW_LABEL
    return format_html('<a href="{}">{}</a>', review_url(block), label)


def block_badge(block: ScriptBlock) -> SafeString:
    """Return the "blocked" badge (reason on hover) linking to the review page."""
    return format_html(
        '<a href="{}" class="jobs-blocked-link" title="{}">'
        '<span class="jobs-status jobs-status-blocked">{}</span></a>',
        review_url(block),
        block.reason,
        BLOCKED_LABEL,
    )


def block_banner(block: ScriptBlock) -> SafeString:
    """Return the job page's notice: badge, reason and the link to lift it."""
    return format_html(
        '<p class="jobs-blocked-banner">{} {} ({})</p>',
        block_badge(block),
        block.reason,
        review_link(block),
    )


def attach_script_blocks(jobs: Iterable[Job]) -> None:
    """Set `script_block` on each job (None if runnable), in one query."""
    jobs = list(jobs)
    blocks = script_blocks(paths={job.script for job in jobs})
    for job in jobs:
        job.script_block = blocks.get(job.script)  # type: ignore[attr-defined]
