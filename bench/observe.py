"""Benchmark the dashboard, `GET /api/metrics` and `/metrics` at 10k jobs, 1M runs.

    .venv/bin/python bench/observe.py                  # SQLite, then PostgreSQL
    .venv/bin/python bench/observe.py --db sqlite      # one database
    .venv/bin/python bench/observe.py --rebuild        # regenerate the fixture

The fixture (10,000 jobs, each with a daily schedule, and 1,000,000 ended
runs over the 100 days before an anchor instant, plus the metrics rollups
`manage.py rebuildmetrics` builds) is generated with set-based SQL
(a recursive CTE on SQLite, generate_series on PostgreSQL) and kept: the
SQLite file `var/bench-observe.sqlite3`, and the PostgreSQL database
`jobportal_observe`; `var/bench-observe-<db>.json` records its anchor and
size, so a rerun only measures. The portal's clock is pinned to the anchor
while measuring, so the 24 h and 7 d windows hold the same runs every time.

Each page is requested in-process through Django's test client (server
time: middleware, views, queries and templates; no network) `--repeat`
times after 3 warm-ups, signed in as each kind of user (`USER_KINDS`): a
superuser and a Viewer (every job through a role: the all-jobs rollups),
and users without a role who see some jobs through per-job grants (the
per-job rollups): 20 jobs granted to the user, 20 granted to a group the
user is in, 5,000 granted to the user. The table gives p50 and p95 in
milliseconds against the goals (dashboard < 300 ms, API < 100 ms), with
the load average when it was measured (figures taken on a busy machine
are slower).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
VAR = PROJECT / "var"
SQLITE_FILE = VAR / "bench-observe.sqlite3"
PG_URL = "postgres://postgres@127.0.0.1:5432/jobportal_observe"
JOBS = 10_000
RUNS = 1_000_000
DAYS = 100
GOALS_MS = {"dashboard": 300.0, "api_metrics": 100.0, "prometheus": 100.0}
# The admin's own pages without the dashboard, for reference (no goal): the
# jobs app's index and the job list a user opens next.
REFERENCES = (("app_index", "/admin/jobs/"), ("job_list", "/admin/jobs/job/"))
# An hour boundary, so that the windows are whole hours.
ANCHOR = datetime(2026, 12, 1, 12, tzinfo=UTC)


def main() -> int:
    """Parse the options; measure each database in its own process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--inner", choices=("sqlite", "postgres"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.inner:
        return measure(options.inner, repeat=options.repeat, rebuild=options.rebuild)
    failed = 0
    for db in ("sqlite", "postgres") if options.db == "both" else (options.db,):
        env = {**os.environ, "JOB_PORTAL_DB_URL": _url(db)}
        env.setdefault("JOB_PORTAL_SECRET_KEY", "bench-observe-not-secret")
        env.setdefault(
            "JOB_PORTAL_ENCRYPTION_KEY", "TZYzC_4CCyE2iSjrAw-Y782Qnki53MXol9Sl4pcYr-4="
        )
        env["JOB_PORTAL_ALLOWED_HOSTS"] = "testserver,localhost"
        env["JOB_PORTAL_DEBUG"] = "false"
        command = [
            sys.executable,
            __file__,
            "--inner",
            db,
            "--repeat",
            str(options.repeat),
        ]
        if options.rebuild:
            command.append("--rebuild")
        failed |= subprocess.run(command, env=env, cwd=PROJECT, check=False).returncode
    return failed


def _url(db: str) -> str:
    return f"sqlite:///{SQLITE_FILE}" if db == "sqlite" else PG_URL


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def measure(db: str, *, repeat: int, rebuild: bool) -> int:
    """Set up Django on `db`, make sure the fixture is there, time the pages."""
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    VAR.mkdir(exist_ok=True)
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    marker = VAR / f"bench-observe-{db}.json"
    if rebuild or not _fixture_ok(marker):
        started = time.monotonic()
        build_fixture()
        marker.write_text(json.dumps({"anchor": ANCHOR.isoformat(), "runs": RUNS}))
        _log(f"{db}: fixture built in {time.monotonic() - started:.0f} s")
    return _time_pages(db, repeat=repeat)


def _fixture_ok(marker: Path) -> bool:
    from jobs.models import Job, MetricTotal

    if not marker.exists():
        return False
    counted = sum(MetricTotal.objects.values_list("runs", flat=True))
    return Job.objects.count() >= JOBS and counted == RUNS


def build_fixture() -> None:
    """Insert the jobs, their schedules and runs, then rebuild the rollups."""
    from django.db import connection

    from jobportal import clock
    from jobs.models import Job, JobRun, Schedule
    from jobs.services.metrics_rebuild import metrics_rebuild

    JobRun.objects.all().delete()
    Schedule.objects.all().delete()
    Job.objects.all().delete()
    far = ANCHOR + timedelta(days=365)
    jobs = [
        Job(
            name=f"bench-{n:05d}",
            script="hello.py",
            timezone="Asia/Hong_Kong",
            next_run_at=far,
        )
        for n in range(JOBS)
    ]
    Job.objects.bulk_create(jobs, batch_size=2000)
    first = Job.objects.order_by("pk").values_list("pk", flat=True)[0]
    Schedule.objects.bulk_create(
        (
            Schedule(
                job_id=first + n,
                document={"type": "daily", "time": f"{n % 24:02d}:{n % 60:02d}"},
            )
            for n in range(JOBS)
        ),
        batch_size=2000,
    )
    _log(f"{JOBS} jobs inserted; inserting {RUNS} runs")
    with connection.cursor() as cursor:
        cursor.execute(_runs_sql(connection.vendor, first=first))
    _log("runs inserted; rebuilding the rollups")
    clock_now = clock.now()
    metrics_rebuild(now=clock_now)
    _analyze()


def _analyze() -> None:
    """Give the planner statistics, as autovacuum would by the time of a visit.

    VACUUM also marks the freshly written pages all-visible, so that
    index-only scans need no heap visits (autovacuum does so on a live
    PostgreSQL); SQLite gets its `sqlite_stat1` tables.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


# Per run n (0-based): job n % JOBS, day n // JOBS back from the anchor, at
# the job's minute of the day; status by n % 100: 90 succeeded, 4 failed,
# 2 timed_out, 2 skipped, 1 lost, 1 blocked; lateness (n * 7 % 50) / 10 s,
# duration n * 13 % 600 s (3600 s for timed out).
_STATUS_CASE = (
    "CASE WHEN n % 100 < 90 THEN 'succeeded' WHEN n % 100 < 94 THEN 'failed' "
    "WHEN n % 100 < 96 THEN 'timed_out' WHEN n % 100 < 98 THEN 'skipped' "
    "WHEN n % 100 < 99 THEN 'lost' ELSE 'blocked' END"
)
_COLUMNS = (
    "job_id, scheduled_for, attempt, trigger, status, queued_at, not_before, "
    "started_at, finished_at, exit_code, parameters, output, "
    "output_dropped_bytes, reason, reason_code, missed_slots, priority, host, boot_id"
)


def _runs_sql(vendor: str, *, first: int) -> str:
    anchor = ANCHOR.strftime("%Y-%m-%d %H:%M:%S")
    if vendor == "postgresql":
        slot = (
            f"(timestamptz '{anchor}+00' - ((n / {JOBS}) + 1) * interval '1 day'"
            f" + (n % {JOBS} % 1440) * interval '1 minute')"
        )
        start = f"({slot} + ((n * 7 % 50) / 10.0) * interval '1 second')"
        finish = f"({start} + (n * 13 % 600) * interval '1 second')"
        series = f"generate_series(0, {RUNS - 1}) AS g(n)"
        prefix = f"INSERT INTO jobs_jobrun ({_COLUMNS}) SELECT "
        suffix = f" FROM {series}"
    else:
        slot = (
            f"datetime('{anchor}', '-' || ((n / {JOBS}) + 1) || ' days', "
            f"'+' || (n % {JOBS} % 1440) || ' minutes')"
        )
        start = f"datetime({slot}, '+' || ((n * 7 % 50) / 10) || ' seconds')"
        finish = f"datetime({start}, '+' || (n * 13 % 600) || ' seconds')"
        # Constants only, no input: S608 does not apply.
        last = RUNS - 1
        sequence = "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 "
        sequence += f"FROM seq WHERE n < {last}) "
        prefix = sequence + f"INSERT INTO jobs_jobrun ({_COLUMNS}) SELECT "
        suffix = " FROM seq"
    skipped = "n % 100 >= 96 AND n % 100 < 98"
    values = (
        f"{first} + n % {JOBS}, {slot}, 1, 'schedule', {_STATUS_CASE}, {slot}, {slot}, "
        f"CASE WHEN {skipped} THEN NULL ELSE {start} END, "
        f"CASE WHEN {skipped} THEN {slot} ELSE {finish} END, "
        f"CASE WHEN n % 100 < 90 THEN 0 ELSE 1 END, '{{}}', '', 0, '', '', 0, 0, '', ''"
    )
    return prefix + values + suffix


# (label, username, how): who the pages are measured for.
USER_KINDS = (
    ("superuser", "bench-boss", "superuser"),
    ("Viewer role", "bench-viewer", "viewer"),
    ("granted 20 jobs", "bench-guest", "user:20"),
    ("group gets 20", "bench-member", "group:20"),
    ("granted 5000", "bench-many", "user:5000"),
)


def _bench_user(username: str, how: str) -> Any:
    """Return the user `username`, made as `how` says the first time."""
    from django.contrib.auth.models import Group, User
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from accounts.roles import VIEWER
    from jobs.models import Job

    user, created = User.objects.get_or_create(
        username=username,
        defaults={"is_staff": True, "is_superuser": how == "superuser"},
    )
    if not created or how == "superuser":
        return user
    if how == "viewer":
        user.groups.add(Group.objects.get(name=VIEWER))
        return user
    kind, count = how.split(":")
    # Granted jobs spread over the fixture, not its first ones.
    step = JOBS // int(count)
    offset = {"user": 0, "group": 1}[kind] + (3 if int(count) > 20 else 0)
    ids = Job.objects.order_by("pk").values_list("pk", flat=True)
    chosen = Job.objects.filter(pk__in=list(ids)[offset::step][: int(count)])
    if kind == "group":
        group = Group.objects.create(name=f"{username}-group")
        user.groups.add(group)
        GroupObjectPermission.objects.bulk_assign_perm("view_job", group, chosen)
    else:
        UserObjectPermission.objects.bulk_assign_perm("view_job", user, chosen)
    _analyze()
    return user


def _time_pages(db: str, *, repeat: int) -> int:
    from django.test import Client

    from jobportal import clock

    clock.now = lambda: ANCHOR
    os.environ["JOB_PORTAL_METRICS_TOKEN"] = ""
    pages = {
        **dict(REFERENCES),
        "dashboard": "/admin/",
        "api_metrics": "/api/metrics",
        "prometheus": "/metrics",
    }
    rows = []
    for who, username, how in USER_KINDS:
        user = _bench_user(username, how)
        client = Client()
        client.force_login(user)
        for name, path in pages.items():
            if name == "prometheus" and who != "superuser":
                continue
            timings = _timings(client, path, repeat=repeat)
            p50 = statistics.median(timings)
            p95 = sorted(timings)[max(int(len(timings) * 0.95) - 1, 0)]
            goal = GOALS_MS.get(name, 0.0)
            verdict = "reference" if not goal else "ok" if p95 < goal else "MISS"
            rows.append((db, who, path, p50, p95, goal, verdict))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    sys.stdout.write(f"{db}: {repeat} requests per row; load average {load}\n")
    sys.stdout.write(
        f"{'db':9} {'who':16} {'path':14} {'p50 ms':>8} {'p95 ms':>8} {'goal':>6}\n"
    )
    for db_name, who, path, p50, p95, goal, verdict in rows:
        figures = f"{p50:8.1f} {p95:8.1f} {goal:6.0f} {verdict}"
        sys.stdout.write(f"{db_name:9} {who:16} {path:14} {figures}\n")
    sys.stdout.flush()
    return 0


def _timings(client: Any, path: str, *, repeat: int) -> list[float]:
    for _ in range(3):
        _get(client, path)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get(client, path)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _get(client: Any, path: str) -> None:
    response = client.get(path, REMOTE_ADDR="127.0.0.1")
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")


if __name__ == "__main__":
    raise SystemExit(main())
