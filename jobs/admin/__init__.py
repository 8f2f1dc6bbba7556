"""The admin for jobs, schedules, runs and workers: parse, call a service, render.

`jobs` holds the job admin (list, form with schedule rows, actions, "Run now",
schedule preview), `runs` the read-only run history and workers, and
`display` the rendering helpers they share.
"""

from jobs.admin import blackouts, dashboard, jobs, runs, scripts, secrets, templates

__all__ = [
    "blackouts",
    "dashboard",
    "jobs",
    "runs",
    "scripts",
    "secrets",
    "templates",
]
