"""Identical presses train once, in the real app in Chromium: two participants (two browser contexts,
so two Streamlit sessions) press Train on the same link; the second joins the first's training and
says so; the first presses Stop and only it stops, while the second's training goes on to the end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import assert_no_exception, wait_until_idle

pytestmark = pytest.mark.browser

# All 1,437 digits for 150 epochs (a training of tens of seconds, so the second press comes while it
# runs), and a seed no other test presses, so the server's cache of finished presses cannot serve it.
SHARED_LINK = "/parameter_sharing?training_examples=1437&epochs=150&seed=4242"


def shared_note(page):
    return page.get_by_text("Newest run,")


def test_a_second_identical_press_joins_the_training_and_a_stop_detaches_only_its_session(browser, app_url: str):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1400}) for _ in range(2)]
    first, second = (context.new_page() for context in contexts)
    for page in (first, second):
        page.goto(f"{app_url}{SHARED_LINK}")
        wait_until_idle(page)
        assert_no_exception(page)
    first.get_by_role("button", name="Train").click()
    expect(first.get_by_test_id("stProgress")).to_be_visible(timeout=60_000)

    second.get_by_role("button", name="Train").click()
    # The second session draws the first one's training, and both progress lines say it is shared.
    for page in (second, first):
        expect(page.get_by_test_id("stProgress")).to_contain_text("one training for 2 sessions", timeout=60_000)

    first.get_by_role("button", name="Stop").click()
    expect(shared_note(first)).to_contain_text("stopped at epoch", timeout=60_000)
    expect(shared_note(first)).to_contain_text("it trained on for others")
    wait_until_idle(first)
    # The other session's training goes on: its progress still moves after the first one left.
    progress = second.get_by_test_id("stProgress")
    before = progress.inner_text()
    expect(progress).not_to_have_text(before, timeout=60_000)
    expect(shared_note(second)).to_contain_text(re.compile(r"finished · trained once for 2 sessions"), timeout=240_000)
    wait_until_idle(second)
    for page in (first, second):
        assert_no_exception(page)
    for context in contexts:
        context.close()
