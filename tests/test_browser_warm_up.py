"""The background warm-up in a real server: the home page answers while it runs, it fills every
cache it names without a failure, and the translator pages then open on the shipped figures."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from lib.page_glue.warm_up import STEPS, WARM_UP_VARIABLE
from tests.browser_support import ARTIFACTS, assert_no_exception, served_app, wait_until_idle

pytestmark = pytest.mark.browser

FINISHED = re.compile(r"RNN Playground warm-up finished in ([0-9.]+) s \((\d+) steps, (\d+) failed\)")


def finished_line(log_path, timeout_seconds: float = 300) -> re.Match:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        match = FINISHED.search(log_path.read_text(errors="replace"))
        if match:
            return match
        time.sleep(1)
    raise AssertionError(f"the warm-up did not finish; see {log_path}")


def test_warm_up_fills_every_cache_while_the_home_page_serves(page: Page):
    log_path = ARTIFACTS / "streamlit-warm-up.log"
    with served_app(log_path, {WARM_UP_VARIABLE: "1"}) as (url, _server):
        # The first view of a fresh server starts the warm-up; the home page does not wait for it.
        page.goto(url)
        wait_until_idle(page)
        expect(page.get_by_role("heading", name="Course map")).to_be_visible()
        assert_no_exception(page)
        assert not FINISHED.search(log_path.read_text(errors="replace")), "the home page waited for the warm-up"

        match = finished_line(log_path)
        assert (int(match.group(2)), int(match.group(3))) == (len(STEPS), 0), match.group(0)

        page.goto(f"{url}/translator")
        wait_until_idle(page)
        assert_no_exception(page)
        # The shipped model's held-out figures (data/translator/evaluation.json) are charted by length.
        expect(page.get_by_text("Corpus BLEU (0-100, 4-grams").first).to_be_visible()
