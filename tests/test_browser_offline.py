"""A workshop room may have no internet: every page, opened in a real browser, asks nothing of any
host but the app's own (no icon, font or script from a CDN), and the browser's console stays free of
failed loads."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page

from lib.app.course import COURSE_PAGES
from tests.browser_support import assert_no_exception, wait_until_idle

pytestmark = pytest.mark.browser


def test_no_page_fetches_anything_from_another_host(page: Page, app_url: str):
    app_host = urlparse(app_url).netloc
    elsewhere: list[str] = []
    failed: list[str] = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if urlparse(request.url).scheme in ("http", "https", "ws", "wss")
            and urlparse(request.url).netloc != app_host
            else None
        ),
    )
    # A load cut short by the next page's navigation (net::ERR_ABORTED) is not a failure to fetch.
    page.on(
        "requestfailed",
        lambda request: (
            failed.append(f"{request.url}: {request.failure}") if "ERR_ABORTED" not in (request.failure or "") else None
        ),
    )
    for path in ["", *[course_page.url_path for course_page in COURSE_PAGES]]:
        page.goto(f"{app_url}/{path}")
        wait_until_idle(page, timeout_ms=180_000)
        page.wait_for_timeout(500)
        assert_no_exception(page)
    assert elsewhere == [], elsewhere
    assert failed == [], failed
