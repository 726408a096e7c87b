"""The Attention page in a real browser: it translates at once with the shipped attention model and
draws the alignment heatmap; training from scratch draws the heatmap live beside the curves, Stop
keeps the run, and the replay slider then shows its snapshots; a screenshot is kept to look at. On a
server with one training slot, a second session's press waits in the queue and trains once the first
one stops."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import ARTIFACTS, assert_no_exception, move_slider, slider, wait_until_idle

pytestmark = pytest.mark.browser


def test_attention_translates_trains_live_and_stops_cleanly(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 4000})
    page = context.new_page()
    page.goto(f"{app_url}/attention")
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="le petit chat ne voit pas les maisons vertes")).to_have_count(2)
    expect(page.get_by_text("Attention of greedy decoding (rows sum to 1)")).to_be_visible()
    charts_before = page.locator("[data-testid=stVegaLiteChart]").count()

    # A small model, so that the press is short; then Stop in the middle of the second epoch.
    units = slider(page, "Units")
    units.focus()
    units.press("Home")  # 64 units
    expect(units).to_have_attribute("aria-valuetext", "64")
    page.wait_for_timeout(800)
    wait_until_idle(page)
    # 20 epochs, so that the run is surely still training when Stop is pressed (a small model's
    # epoch can pass between two redraws of the progress text).
    move_slider(page, "Epochs", "End", 1, "20")
    page.get_by_role("button", name="Train from scratch").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=120_000)
    # Past the first epoch (any redraw of the progress text from the second epoch on).
    expect(page.get_by_text(re.compile(r"Epoch ([2-9]|1\d|20)/20")).first).to_be_visible(timeout=240_000)
    page.get_by_role("button", name="Stop").click()
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    expect(page.get_by_text("Replay the alignment forming")).to_be_visible()
    # The comparison's Status column (its second, so never scrolled out of the grid) says how the run ended.
    expect(page.get_by_test_id("stDataFrame").filter(has_text="Status")).to_contain_text("stopped at epoch")
    assert page.locator("[data-testid=stVegaLiteChart]").count() > charts_before
    page.wait_for_timeout(1500)  # Let the charts finish drawing before the picture.
    page.screenshot(path=str(ARTIFACTS / "attention-trained.png"), full_page=True)
    assert_no_exception(page)
    context.close()


def test_a_second_press_queues_and_trains_when_the_slot_frees(browser, one_slot_app_url: str):
    # Both sessions open the same link: a small model and 20 epochs, so the first press is surely
    # still training when the second one comes.
    contexts = [browser.new_context(viewport={"width": 1400, "height": 3000}) for _ in range(2)]
    first, second = (context.new_page() for context in contexts)
    # Two seeds: with one, the second press would join the first's training instead of queueing.
    for page, seed in ((first, 1), (second, 2)):
        page.goto(f"{one_slot_app_url}/attention?units=64&training_pairs=3000&epochs=20&seed={seed}")
        wait_until_idle(page, timeout_ms=180_000)
        # Under load the page's run may begin after the first idle check: wait for the control itself.
        expect(slider(page, "Units")).to_have_attribute("aria-valuetext", "64", timeout=120_000)
        # The two presses must differ in their seed, or the second joins the first instead of queueing.
        expect(page.get_by_label("Seed", exact=True)).to_have_value(str(seed), timeout=120_000)
    first.get_by_role("button", name="Train from scratch").click()
    expect(first.get_by_test_id("stProgress")).to_be_visible(timeout=120_000)

    second.get_by_role("button", name="Train from scratch").click()
    # The second session's page runs up to its training control while the first trains on the machine's
    # cores: under a loaded machine that run alone can take tens of seconds.
    expect(second.get_by_text("Queued: 1 training ahead of yours")).to_be_visible(timeout=120_000)
    # It keeps waiting while the first one trains: no progress bar of its own.
    second.wait_for_timeout(3000)
    expect(second.get_by_text("Queued: 1 training ahead of yours")).to_be_visible()
    expect(second.get_by_test_id("stProgress")).to_have_count(0)

    first.get_by_role("button", name="Stop").click()
    wait_until_idle(first, timeout_ms=180_000)
    expect(first.get_by_test_id("stDataFrame").filter(has_text="Status")).to_contain_text("stopped at epoch")
    # The freed slot goes to the waiting session: it prepares, then trains (and is stopped here too).
    expect(second.get_by_test_id("stProgress")).to_be_visible(timeout=120_000)
    expect(second.get_by_text(re.compile(r"Epoch ([2-9]|1\d|20)/20")).first).to_be_visible(timeout=240_000)
    second.get_by_role("button", name="Stop").click()
    wait_until_idle(second, timeout_ms=180_000)
    expect(second.get_by_test_id("stDataFrame").filter(has_text="Status")).to_contain_text("stopped at epoch")
    for page in (first, second):
        assert_no_exception(page)
    for context in contexts:
        context.close()
