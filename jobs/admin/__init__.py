"""The admin for jobs, schedules, runs and workers: parse, call a service, render.

`jobs` holds the job admin (list, form with schedule rows, actions, "Run now",
schedule preview), `runs` the read-only run history and workers, and
`display` the rendering helpers they share.
"""

from jobs.admin import dashboard, jobs, runs, scripts, secrets, templates

__all__ = ["dashboard", "jobs", "runs", "scripts", "secrets", "templates"]
