"""A worker stopped inside a claim's transaction does not freeze the others.

PostgreSQL only: a real worker-like process opens a transaction with
`limit_idle_transactions`, locks a job's row as a claim does, and stops
itself (SIGSTOP). Another worker's claim of that job's run waits at most
about the idle-in-transaction timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from jobs.models import Job, JobRun
from jobs.services.runs import job_run_now
from jobs.tests.conftest import database_url
from jobs.worker import WorkerLoop
from jobs.worker import execution as worker_execution

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="idle_in_transaction_session_timeout is PostgreSQL's",
    ),
]

TIMEOUT_SECONDS = 2.0
# Without the timeout the claim would wait for ever: the test connection
# gives up after this long, so that the test fails instead of hanging.
GIVE_UP_SECONDS = 20

HOLDER = """
import os, signal, sys
import django
django.setup()
from django.db import connection, transaction
from jobs.worker.execution import limit_idle_transactions
limit_idle_transactions(float(sys.argv[2]))
with transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {sys.argv[3]} WHERE id = %s FOR NO KEY UPDATE",
            [int(sys.argv[1])],
        )
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        print(cursor.fetchone()[0], flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_a_stopped_worker_mid_claim_blocks_others_only_for_the_timeout(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    loop = make_loop("claimer")
    loop.register()
    job = make_job()
    run = job_run_now(job=job, requested_by=None, now=now)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jobportal.settings",
        "JOB_PORTAL_DB_URL": database_url(),
    }
    args = [str(job.pk), str(TIMEOUT_SECONDS), Job._meta.db_table]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"2s"
        # The holder now stops itself with the job's row locked.
        for _ in range(200):
            with open(f"/proc/{holder.pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                    break
            time.sleep(0.01)
        else:
            pytest.fail("the holder did not stop")
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {GIVE_UP_SECONDS * 1000}")
        start = time.monotonic()
        claimed = loop.claim_runs(1)
        waited = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    assert [r.pk for r in claimed] == [run.pk]
    assert waited < TIMEOUT_SECONDS + 3
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING
    loop._in_flight.clear()


def test_a_session_ended_for_idling_in_a_transaction_is_an_outage_survived(
    make_loop: Callable[..., WorkerLoop], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stalled inside a transaction past the timeout: logged, backed off, resumed.

    The server ends the session (SQLSTATE 25P03, an InternalError at the
    next statement or COMMIT); the fault run saw it end a resumed worker's
    loop (SIGSTOP inside a run-events claim).
    """
    monkeypatch.setattr(worker_execution, "BACKOFF_FIRST_SECONDS", 0.001)
    loop = make_loop("resumed")
    loop.register()

    def stalled_step() -> int:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 100")
                cursor.execute("SELECT 1")
            # A stop (SIGSTOP) well past the timeout, inside the transaction.
            threading.Event().wait(1.0)
            return JobRun.objects.count()

    assert loop.guarded(stalled_step) is None
    assert loop.guarded(JobRun.objects.count) == 0
