"""The Translator page in a real browser: it translates at once with the pretrained model, reports
unknown words, steps through greedy decoding, offers professor forcing, and a short training from scratch charts and
measures the teacher-forcing gap; a full-page screenshot is kept for a human to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser_support import ARTIFACTS, assert_no_exception, move_slider, slider, wait_until_idle

pytestmark = pytest.mark.browser


def open_translator(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/translator")
    wait_until_idle(page)
    assert_no_exception(page)


def type_sentence(page: Page, text: str) -> None:
    box = page.get_by_label("An English sentence")
    box.fill(text)
    box.press("Enter")
    page.wait_for_timeout(500)
    wait_until_idle(page)


def test_translator_translates_at_once_and_steps_through_decoding(page: Page, app_url: str):
    open_translator(page, app_url)
    expect(page.get_by_role("heading", name="le petit chat ne voit pas les maisons vertes")).to_have_count(2)
    expect(page.get_by_text("Beam search, width 4")).to_be_visible()
    move_slider(page, "Step", "ArrowRight", 2, "3")
    assert_no_exception(page)
    expect(page.get_by_text("<s> le petit", exact=False).first).to_be_visible()
    type_sentence(page, "the small zebra sleeps")
    assert_no_exception(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="zebra")).to_be_visible()
    type_sentence(page, "")
    assert_no_exception(page)
    expect(page.get_by_text("Type an English sentence")).to_be_visible()
    # The three ways of training, and the shipped measurement of them beside the session's runs.
    expect(page.get_by_role("heading", name="Teacher forcing and its two remedies", exact=False)).to_be_visible()
    page.get_by_test_id("stButtonGroup").get_by_text("professor forcing", exact=True).click()
    page.wait_for_timeout(500)
    wait_until_idle(page)
    assert_no_exception(page)
    expect(page.get_by_text("runs the decoder twice per batch and trains a discriminator", exact=False)).to_be_visible()
    # The choice is written into the address (the browser does it as the rerun lands, so wait for it).
    page.wait_for_function("new URLSearchParams(location.search).get('training') === 'professor forcing'")


def test_translator_trains_from_scratch_and_measures_the_gap(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 5000})
    page = context.new_page()
    open_translator(page, app_url)
    units = slider(page, "Units")
    units.focus()
    units.press("Home")  # 64 units
    expect(units).to_have_attribute("aria-valuetext", "64")
    page.wait_for_timeout(800)
    wait_until_idle(page)
    pairs = slider(page, "Training pairs")
    pairs.focus()
    pairs.press("Home")  # 3,000 pairs
    expect(pairs).to_have_attribute("aria-valuetext", "3000")
    page.wait_for_timeout(800)
    wait_until_idle(page)
    expect(slider(page, "Epochs")).to_have_attribute("aria-valuetext", "2")  # the page's default
    page.get_by_role("button", name="Train from scratch").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    wait_until_idle(page, timeout_ms=240_000)
    assert_no_exception(page)
    # The session's mismatch table (the shipped measurement's table follows it).
    gap = page.get_by_test_id("stDataFrame").filter(has_text="Greedy token accuracy").first
    expect(gap).to_contain_text("GRU 64")
    expect(page.get_by_text("a gap of", exact=False).first).to_be_visible()
    page.wait_for_timeout(1500)  # let the charts finish drawing before the picture
    page.screenshot(path=str(ARTIFACTS / "translator-trained.png"), full_page=True)
    assert_no_exception(page)
    context.close()
