"""A workshop room in Chromium (#24): the instructor opens a room and puts its board up; two participants
(two browser contexts, so two Streamlit sessions) open the room's link on a page, join under their
names and train; the board, refreshing itself, shows both of them and both runs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser_support import assert_no_exception, wait_until_idle

pytestmark = pytest.mark.browser

# Two cheap runs that differ in one setting (so the board colours them apart and has a scatter), with
# seeds no other test presses, so each trains in its own session's view.
RUNS = {"Ada": "hidden_units=8&seed=7101", "Grace": "hidden_units=32&seed=7102"}
SMALL = "training_examples=50&epochs=5"


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label)


def test_two_participants_runs_appear_on_the_instructors_board(browser, app_url: str):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1200}) for _ in range(3)]
    instructor, *participants = (context.new_page() for context in contexts)
    try:
        instructor.goto(app_url)
        instructor.get_by_role("button", name="Open a workshop room").click()
        board_code = instructor.get_by_test_id("stCode").filter(has_text="key=")
        expect(board_code).to_be_visible(timeout=60_000)
        board_link = board_code.inner_text().strip()
        code = parse_qs(urlsplit(board_link).query)["room"][0]
        instructor.goto(board_link)
        expect(metric(instructor, "Participants")).to_contain_text("0", timeout=60_000)
        assert_no_exception(instructor)

        for page, (name, settings) in zip(participants, RUNS.items()):
            page.goto(f"{app_url}/parameter_sharing?{SMALL}&{settings}&room={code}")
            name_box = page.get_by_label("Your display name on the instructor's board")
            expect(name_box).to_be_visible(timeout=120_000)
            name_box.fill(name)
            name_box.press("Enter")
            wait_until_idle(page)
            page.get_by_role("button", name="Join the room").click()
            expect(page.get_by_text(f"you take part as {name}")).to_be_visible(timeout=60_000)
            wait_until_idle(page)
        for page in participants:
            page.get_by_role("button", name="Train", exact=True).click()

        # The board refreshes itself every 2 s: both names and both runs appear, finished.
        expect(metric(instructor, "Participants")).to_contain_text("2", timeout=120_000)
        expect(instructor.get_by_test_id("stText").filter(has_text="Grace")).to_contain_text("Ada", timeout=60_000)
        expect(metric(instructor, "Runs on Parameter sharing")).to_contain_text("2", timeout=240_000)
        expect(metric(instructor, "Training now")).to_contain_text("0", timeout=240_000)
        expect(instructor.get_by_text("Across 2 finished runs, hidden_units =")).to_be_visible(timeout=60_000)
        for page in participants:
            wait_until_idle(page)
            assert_no_exception(page)
        assert_no_exception(instructor)
    finally:
        for context in contexts:
            context.close()
