"""Every event done in the admin records the client's address."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from jobs.services.scripts import script_sync_path

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]
IP = "203.0.113.7"


def ips(target_type: str, *, after: int = 0) -> list[str | None]:
    """Return the addresses recorded for events on `target_type` after pk `after`."""
    events = AuditEvent.objects.filter(target_type=target_type, pk__gt=after)
    return list(events.order_by("pk").values_list("ip", flat=True))


def test_secret_create_records_the_ip(admin_client: Client) -> None:
    """Adding a secret in the admin: the event has the address."""
    admin_client.post(
        reverse("admin:jobs_secret_add"),
        {"name": "GREETING_TOKEN", "value": "v", "description": ""},
        REMOTE_ADDR=IP,
    )
    assert ips("jobs.secret") == [IP]


def test_script_approve_and_sync_record_the_ip(
    admin_client: Client, scripts_dir: Path, now: datetime
) -> None:
    """Approving a script and syncing from the admin: both have the address."""
    script = script_sync_path(path="ok.py", now=now)
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    admin_client.post(
        reverse("admin:jobs_script_review", args=[script.pk]),
        {"decision": "approve", "sha256": script.sha256, "note": ""},
        REMOTE_ADDR=IP,
    )
    (scripts_dir / "new.py").write_text("print(1)\n")
    admin_client.post(reverse("admin:jobs_script_sync"), REMOTE_ADDR=IP)
    recorded = ips("jobs.script", after=last or 0)
    assert len(recorded) >= 2
    assert set(recorded) == {IP}
