"""A headless Chromium page for the admin journeys (Debian's /usr/bin/chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every wait in the browser is bounded by this (milliseconds).
WAIT_MS = 15_000
# The review's window: a 1400 px wide screen with the admin's sidebar open.
VIEWPORT: Any = {"width": 1400, "height": 900}


def screenshot_path(name: str) -> Path:
    """Return var/screens/NAME.png (kept as a CI artifact)."""
    folder = Path(settings.BASE_DIR) / "var" / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"


@contextmanager
def chromium_page() -> Iterator[Any]:
    """Yield a page in a fresh headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in through the admin's login form."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
