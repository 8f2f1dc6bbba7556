"""Register the run-event consumer "notifications", so retention waits for it."""

from django.db import migrations
from django.utils import timezone

CONSUMER = "notifications"


def register(apps, schema_editor):
    consumer_model = apps.get_model("jobs", "RunEventConsumer")
    consumer_model.objects.get_or_create(
        name=CONSUMER, defaults={"registered_at": timezone.now()}
    )


def unregister(apps, schema_editor):
    apps.get_model("jobs", "RunEventConsumer").objects.filter(name=CONSUMER).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0001_initial"),
        ("jobs", "0007_run_events"),
    ]

    operations = [migrations.RunPython(register, unregister)]
