"""The channel admin in a real browser: add a webhook, its secret stays hidden."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.tests.factories import UserFactory
from jobs.tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from notifications.models import Channel, Notification
from notifications.services.channels import channel_secrets

PASSWORD = "browser-test-password"
URL = "https://hooks.example.com/very-secret-path"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not at {CHROMIUM} (apt install chromium)",
    ),
]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return a page in a fresh headless Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def test_add_a_webhook_channel_and_send_a_test_by_clicking(
    page: Any, live_server: Any, transactional_db: None
) -> None:
    """The secret box is empty again on the change page; the test is queued."""
    from playwright.sync_api import expect

    UserFactory.staff("admin", is_superuser=True, password=PASSWORD)
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/admin/notifications/channel/add/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/notifications/channel/add/")

    page.fill("#id_name", "ops-hook")
    page.select_option("#id_kind", "webhook")
    page.fill("#id_config", "{}")
    page.fill("#id_secret_url", URL)
    page.fill("#id_secret_secret", "signing-key")
    page.click("input[name='_continue']")
    page.wait_for_url(f"{base}/admin/notifications/channel/*/change/")

    channel = Channel.objects.get(name="ops-hook")
    assert channel_secrets(channel) == {"url": URL, "secret": "signing-key"}
    expect(page.locator("#id_secret_url")).to_have_value("")
    expect(page.locator(".field-secrets_set")).to_contain_text("secret, url")
    assert URL not in page.content()

    page.goto(f"{base}/admin/notifications/channel/")
    page.locator(f"input[name='_selected_action'][value='{channel.pk}']").check()
    page.select_option("select[name='action']", "send_test")
    page.click("button[name='index']")
    expect(page.locator(".messagelist")).to_contain_text("Test notification queued")
    assert Notification.objects.get().event == "test"
