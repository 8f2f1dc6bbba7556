"""Ship the template library: database backup, API data fetch, report
generation and file cleanup, each running its example script in scripts/.

The documents are copied here as they stand at this release (migrations
never import app code); each template gets version 1.
"""

from datetime import UTC, datetime

from django.db import migrations

SHIPPED_AT = datetime(2026, 12, 3, tzinfo=UTC)
NOTE = "Shipped with the portal."


def _param(name, default, description):
    return {"name": name, "default": default, "description": description}


LIBRARY = (
    {
        "name": "Database backup",
        "category": "Maintenance",
        "description": (
            "Copy a SQLite database with SQLite's online backup API into a "
            "folder every day, keeping the newest backups."
        ),
        "parameters": [
            _param("database", "../db.sqlite3", "The SQLite file, relative to scripts/."),
            _param("destination", "../var/backups", "Folder for the backups."),
            _param("keep", "7", "How many backups of this database to keep."),
            _param("time", "02:00", "Local time of the daily run (HH:MM)."),
        ],
        "body": {
            "name": "database-backup",
            "description": "Back up {{ database }} to {{ destination }}.",
            "script": "db_backup.py",
            "args": ["{{ database }}", "{{ destination }}", "{{ keep }}"],
            "schedules": [{"type": "daily", "time": "{{ time }}"}],
            "timeout_seconds": 3600,
        },
    },
    {
        "name": "API data fetch",
        "category": "Data",
        "description": "Fetch JSON from an HTTP API into a file every hour.",
        "parameters": [
            _param("url", None, "The http(s) URL answering JSON (required)."),
            _param("output", "../var/data/fetched.json", "File the JSON is written to."),
            _param("timeout", "30", "Seconds to wait for the API."),
            _param("minute", 0, "Minute of each hour the fetch runs at."),
        ],
        "body": {
            "name": "api-data-fetch",
            "description": "Fetch {{ url }} into {{ output }}.",
            "script": "api_fetch.py",
            "args": ["{{ url }}", "{{ output }}", "{{ timeout }}"],
            "schedules": [{"type": "hourly", "minute": "{{ minute }}"}],
            "timeout_seconds": 300,
            "retry": {"max_attempts": 3, "delay_seconds": 60},
        },
    },
    {
        "name": "Report generation",
        "category": "Data",
        "description": (
            "Summarise a JSON list of records (count, sums of numeric fields) "
            "into a Markdown report or a SQLite database."
        ),
        "parameters": [
            _param("input", "../var/data/fetched.json", "JSON file of records."),
            _param("output", "../var/reports/report.md", "Report file (.md) or SQLite file (.sqlite3)."),
            _param("title", "Daily report", "The report's title."),
            _param("time", "06:00", "Local time of the daily run (HH:MM)."),
        ],
        "body": {
            "name": "report-generation",
            "description": "Report on {{ input }} into {{ output }}.",
            "script": "report_generate.py",
            "args": ["{{ input }}", "{{ output }}", "{{ title }}"],
            "schedules": [{"type": "daily", "time": "{{ time }}"}],
            "timeout_seconds": 600,
        },
    },
    {
        "name": "File cleanup",
        "category": "Maintenance",
        "description": "Delete files older than some days from one folder, daily.",
        "parameters": [
            _param("folder", "../var/artifacts", "The folder to clean (not its sub-folders)."),
            _param("days", "30", "Delete files last modified more than this many days ago."),
            _param("pattern", "*", "Only files matching this pattern."),
            _param("time", "03:30", "Local time of the daily run (HH:MM)."),
        ],
        "body": {
            "name": "file-cleanup",
            "description": "Delete {{ pattern }} files older than {{ days }} days in {{ folder }}.",
            "script": "file_cleanup.py",
            "args": ["{{ folder }}", "{{ days }}", "{{ pattern }}"],
            "schedules": [{"type": "daily", "time": "{{ time }}"}],
            "timeout_seconds": 600,
        },
    },
)


def ship(apps, schema_editor):
    JobTemplate = apps.get_model("jobs", "JobTemplate")
    JobTemplateVersion = apps.get_model("jobs", "JobTemplateVersion")
    for document in LIBRARY:
        if JobTemplate.objects.filter(name=document["name"]).exists():
            continue
        template = JobTemplate.objects.create(
            created_at=SHIPPED_AT, updated_at=SHIPPED_AT, **document
        )
        JobTemplateVersion.objects.create(
            template=template,
            number=1,
            snapshot=dict(document),
            note=NOTE,
            created_at=SHIPPED_AT,
        )


def unship(apps, schema_editor):
    # Only templates nobody changed since: their one version is the shipped one.
    JobTemplate = apps.get_model("jobs", "JobTemplate")
    for document in LIBRARY:
        template = JobTemplate.objects.filter(name=document["name"]).first()
        if template is not None and template.versions.count() == 1:
            template.delete()


class Migration(migrations.Migration):
    dependencies = [("jobs", "0009_job_templates")]

    operations = [migrations.RunPython(ship, unship)]
