"""``manage.py runworker``: schedule and execute jobs until stopped."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.services.workers import WorkerNameInUse
from jobs.worker import WorkerLoop
from jobs.worker.execution import keep_connections, limit_idle_transactions
from notifications.sender_process import SenderProcess

MSG_POSITIVE = "{option} must be greater than 0, got {value}."
MSG_NOT_NEGATIVE = "{option} must be 0 or more, got {value}."
# How long shutdown waits for a send in progress (each send is bounded).
SENDER_JOIN_SECONDS = 15.0


class Command(BaseCommand):
    """Parse options, install signal handlers and hand over to the loop."""

    help = (
        "Run a worker: turn due schedule slots into runs and execute queued "
        "runs, until SIGTERM or SIGINT. Start as many as you like."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument(
            "--concurrency",
            type=int,
            help="Runs at once (default: JOB_PORTAL_WORKER_MAX_CONCURRENT).",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            help="Longest wait between cycles in seconds "
            "(default: JOB_PORTAL_WORKER_POLL_INTERVAL).",
        )
        parser.add_argument(
            "--name", help="Worker name (default: <host>-<pid>); unique per process."
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Process what is due now, wait for those runs, then exit.",
        )
        parser.add_argument(
            "--no-notifications",
            action="store_true",
            help="Do not send notifications from this worker (another one does).",
        )
        parser.add_argument(
            "--grace",
            type=float,
            help="Seconds running jobs get to finish after SIGTERM "
            "(default: JOB_PORTAL_WORKER_SHUTDOWN_GRACE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker loop until it is told to stop."""
        for option, value in (
            ("--concurrency", options["concurrency"]),
            ("--poll-interval", options["poll_interval"]),
        ):
            if value is not None and value <= 0:
                raise CommandError(MSG_POSITIVE.format(option=option, value=value))
        if options["grace"] is not None and options["grace"] < 0:
            raise CommandError(
                MSG_NOT_NEGATIVE.format(option="--grace", value=options["grace"])
            )
        keep_connections()
        limit_idle_transactions()
        loop = WorkerLoop(
            stop=threading.Event(),
            concurrency=options["concurrency"],
            poll_seconds=options["poll_interval"],
            name=options["name"],
            grace_seconds=options["grace"],
        )

        def request_stop(signum: int, frame: FrameType | None) -> None:
            loop.request_stop()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        # Notifications go out from a process of their own (its own GIL and
        # database connection): sending never delays scheduling.
        sender = None
        if not options["no_notifications"] and not options["once"]:
            # Leases name the worker's row (None: the database is down; the
            # loop registers later and leases fall back to their time limit).
            worker = loop.guarded(loop.register)
            sender = SenderProcess(
                worker_id=worker.pk if worker is not None else None, stop=loop.stop
            )
            sender.start()
        try:
            if options["once"]:
                loop.drain()
            else:
                loop.run_forever()
        except WorkerNameInUse as exc:
            raise CommandError(str(exc)) from exc
        finally:
            loop.stop.set()
            if sender is not None:
                sender.join(SENDER_JOIN_SECONDS)
