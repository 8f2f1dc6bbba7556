"""`manage.py rebuildmetrics`: recompute the metrics rollups from the runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobportal import clock
from jobs.services.metrics_rebuild import metrics_rebuild

MSG_DONE = "Metrics rebuilt from {count} ended runs."


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's and /metrics' rollups from the run history "
        "(once after upgrading a database that already has runs). Stop the "
        "workers first: a run ending meanwhile could be counted twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Rebuild and say how many runs were counted."""
        count = metrics_rebuild(now=clock.now())
        self.stdout.write(MSG_DONE.format(count=count))
