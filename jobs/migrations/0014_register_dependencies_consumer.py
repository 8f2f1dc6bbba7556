"""Register the "dependencies" run-event consumer, so retention waits for it."""

from django.db import migrations
from django.utils import timezone

# Copied from jobs.services.dependencies.CONSUMER (never import app code).
CONSUMER = "dependencies"


def register(apps, schema_editor):
    consumer = apps.get_model("jobs", "RunEventConsumer")
    consumer.objects.get_or_create(
        name=CONSUMER, defaults={"registered_at": timezone.now()}
    )


def unregister(apps, schema_editor):
    apps.get_model("jobs", "RunEventConsumer").objects.filter(name=CONSUMER).delete()


class Migration(migrations.Migration):
    dependencies = [("jobs", "0013_dependencies")]

    operations = [migrations.RunPython(register, unregister)]
