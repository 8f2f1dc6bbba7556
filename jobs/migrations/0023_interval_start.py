"""Give every stored interval schedule its "start": the Unix epoch.

Intervals used to count from the epoch; stating it keeps each job's phase
now that `job_save` stamps a new interval with the moment it is saved.
"""

from django.db import migrations

EPOCH = "1970-01-01T00:00:00Z"


def stamp_epoch(apps, schema_editor):
    """Add start = epoch to interval documents that have none."""
    schedule_model = apps.get_model("jobs", "Schedule")
    for schedule in schedule_model.objects.filter(document__type="interval"):
        if "start" not in schedule.document:
            schedule.document = {**schedule.document, "start": EPOCH}
            schedule.save(update_fields=["document"])


class Migration(migrations.Migration):
    dependencies = [("jobs", "0022_secret_backends")]

    operations = [migrations.RunPython(stamp_epoch, migrations.RunPython.noop)]
