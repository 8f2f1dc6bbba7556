"""The admin index lists Jobs first, in the order operators use them."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_index_puts_jobs_first_then_accounts_then_auth(admin_client: Client) -> None:
    """Apps and jobs' models in the operators' order."""
    apps = admin_client.get("/admin/").context["app_list"]
    labels = [app["app_label"] for app in apps]
    assert labels[0] == "jobs"
    assert labels.index("accounts") < labels.index("auth")
    jobs_models = [model["object_name"] for model in apps[0]["models"]]
    assert jobs_models[:5] == ["Job", "JobRun", "Script", "Secret", "Worker"]


def test_sidebar_uses_the_same_order(admin_client: Client) -> None:
    """A model page's navigation sidebar starts with Jobs too."""
    apps = admin_client.get("/admin/jobs/job/").context["available_apps"]
    assert apps[0]["app_label"] == "jobs"
