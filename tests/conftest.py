"""Shared fixtures: the repository root, AppTest timeouts, and a real app served to headless Chromium."""

from __future__ import annotations

import os
import sys

import pytest

from lib.page_glue.warm_up import WARM_UP_VARIABLE
from tests.browser_support import ROOT, chromium, served_app

# AppTest runs the app inside this process: a background warm-up there would import TensorFlow
# behind the tests that check a page does without it, and load models no test asked for. The
# servers of the browser tests run the app as shipped, warm-up included (see app_url).
os.environ[WARM_UP_VARIABLE] = "0"

# TensorFlow's import alone takes about 4 s here; the first training page run also builds models.
APPTEST_TIMEOUT = 120
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(autouse=True)
def fresh_press_registry():
    """Each test starts as a fresh server would, with no shared press running or cached in this process
    (AppTest sessions of one test may still share; see tests/test_shared_presses.py)."""
    yield
    training = sys.modules.get("lib.engine.training")
    if training is not None:
        training.press_registry.clear()


@pytest.fixture(scope="session")
def app_url():
    with served_app(ARTIFACTS / "streamlit-server.log", {WARM_UP_VARIABLE: "1"}) as (url, _server):
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
