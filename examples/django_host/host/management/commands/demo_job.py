"""Create (or update) the example's job through the portal's services.

This is how a host project's own code creates and triggers jobs: through the
services in `jobs.services` (docs/embedding.md), never by writing the models.
The worker, a separate `manage.py runworker` process, then runs the job.
"""

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from jobportal.clock import now
from jobs.models import Job, Script
from jobs.services.approval import script_approve
from jobs.services.jobs import job_save
from jobs.services.runs import job_run_now
from jobs.services.scripts import script_sync_path


class Command(BaseCommand):
    """Register and approve greet.py, save the job "greet" and queue a run."""

    help = __doc__

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the options."""
        parser.add_argument("--who", default="world", help="The job's argument.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Do it, printing the queued run's id."""
        at = now()
        admin, _ = get_user_model().objects.get_or_create(
            username="host-admin", defaults={"is_staff": True, "is_superuser": True}
        )
        script: Script = script_sync_path(path="greet.py", now=at, actor=admin)
        script_approve(script=script, actor=admin, now=at, note="example")
        job = Job.objects.filter(name="greet").first() or Job(name="greet")
        job.script = "greet.py"
        job.args = [options["who"]]
        job = job_save(job=job, schedules=[{"type": "manual"}], now=at, actor=admin)
        run = job_run_now(job=job, requested_by=admin, now=at)
        self.stdout.write(str(run.pk))
