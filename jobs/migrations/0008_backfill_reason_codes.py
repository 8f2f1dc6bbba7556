"""Give existing runs the reason code their reason's words stand for.

Only reasons whose text maps to one code unambiguously are coded; the
texts are copied here from the code that wrote them (jobs.policies,
jobs.services.{runs,due,execution,approval}) as they stood at this release.
"""

from django.db import migrations

# (statuses, lookup, value, code): the first rule a blank-coded run matches.
RULES = (
    (("skipped",), "exact", "Missed while no worker was running (misfire policy: skip).", "misfire_skipped"),
    (
        ("skipped",),
        "exact",
        "Missed while no worker was running; folded into one run for the latest "
        "missed slot (misfire policy: run once).",
        "misfire_folded",
    ),
    (
        ("skipped",),
        "regex",
        r"^Missed while no worker was running; only the latest [0-9]+ missed slots run \(misfire cap\)\.$",
        "misfire_cap",
    ),
    (("skipped",), "exact", "Previous run still running (concurrency policy: forbid).", "concurrency_forbid"),
    (("blocked",), "startswith", "The schedule could not be computed: ", "schedule_error"),
    (("blocked",), "startswith", "The script cannot run: ", "path_refused"),
    (("blocked",), "regex", r"^Script .* was rejected on ", "script_rejected"),
    (
        ("blocked",),
        "regex",
        r"^Script .* (is pending review|changed since approval on )",
        "script_unapproved",
    ),
    (("blocked",), "startswith", "The run's parameters are not valid for the job: ", "parameters_invalid"),
    (("blocked",), "startswith", "The job's secrets cannot be given to the script: ", "secrets_unreadable"),
    (("cancelled", "running"), "startswith", "Replaced by the run for ", "replaced"),
    (("cancelled", "running"), "startswith", "Cancelled by ", "cancelled_by_user"),
    (("cancelled",), "exact", "Cancelled.", "cancelled_by_user"),
    (("failed",), "startswith", "Marked failed by ", "marked_failed"),
    (("failed",), "regex", r"^Exited with code -?[0-9]+\.$", "exit_code"),
    (("failed",), "startswith", "Killed by signal ", "signal"),
    (("failed",), "startswith", "The worker failed while handling this run: ", "worker_error"),
    (("timed_out",), "startswith", "Timed out after ", "timed_out"),
    (("lost",), "regex", r"^Worker .* stopped heart-beating \(last seen ", "worker_lost"),
    (("lost",), "regex", r"^Worker .* restarted while this run was running\.$", "worker_restarted"),
    (("lost",), "regex", r"^Worker .* shut down before the run finished\.$", "shutdown"),
)


def forward(apps, schema_editor):
    JobRun = apps.get_model("jobs", "JobRun")
    for statuses, lookup, value, code in RULES:
        JobRun.objects.filter(
            reason_code="", status__in=statuses, **{f"reason__{lookup}": value}
        ).update(reason_code=code)


def reverse(apps, schema_editor):
    # Before this migration no run had a code: clearing them all restores that.
    JobRun = apps.get_model("jobs", "JobRun")
    JobRun.objects.exclude(reason_code="").update(reason_code="")


class Migration(migrations.Migration):
    dependencies = [("jobs", "0007_run_events")]

    operations = [migrations.RunPython(forward, reverse)]
