"""`manage.py syncscripts`: register new and changed scripts, flag missing ones."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobportal import clock
from jobs.management.quiet import quiet_info
from jobs.services.scripts import scripts_sync

MSG_SUMMARY = (
    "{registered} new, {changed} changed, {missing} missing, {unchanged} unchanged."
)
MSG_BACK_TO_REVIEW = "Changed since approval, pending review again: {paths}"
MSG_NEW = "New (pending review): {paths}"
MSG_MISSING = "Missing: {paths}"


class Command(BaseCommand):
    help = (
        "Scan JOB_PORTAL_SCRIPTS_DIR: register files with an allowed extension "
        "and their SHA-256, update changed ones (a changed approved script goes "
        "back to pending review) and flag registered scripts that are gone."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Sync and report by path."""
        with quiet_info(scripts_sync.__module__):
            result = scripts_sync(now=clock.now())
        for message, paths in (
            (MSG_NEW, result.registered),
            (MSG_BACK_TO_REVIEW, result.back_to_review),
            (MSG_MISSING, result.missing),
        ):
            if paths:
                self.stdout.write(message.format(paths=", ".join(paths)))
        self.stdout.write(
            MSG_SUMMARY.format(
                registered=len(result.registered),
                changed=len(result.changed),
                missing=len(result.missing),
                unchanged=result.unchanged,
            )
        )
