"""Shared fixtures: the repository root, AppTest timeouts, and a real app served to headless Chromium."""

from __future__ import annotations

import pytest

from tests.browser_support import ROOT, chromium, served_app

# TensorFlow's import alone takes about 4 s here; the first training page run also builds models.
APPTEST_TIMEOUT = 120
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def app_url():
    with served_app(ARTIFACTS / "streamlit-server.log") as (url, _server):
        yield url


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
