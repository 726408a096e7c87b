"""The Transformer page in a real browser: it translates at once with the shipped Transformer and
draws every head; silencing a head reruns without an exception; a short training from scratch is
stopped mid-run and kept; a screenshot is kept to look at."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from playwright.sync_api import expect

from tests.browser_support import ARTIFACTS, assert_no_exception, move_slider, slider, wait_until_idle

pytestmark = pytest.mark.browser


def test_transformer_translates_silences_a_head_trains_and_stops(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 5000})
    page = context.new_page()
    page.goto(f"{app_url}/transformer")
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="le petit chat ne voit pas les maisons vertes")).to_have_count(2)
    expect(page.get_by_text("decoder cross-attention (decoder → encoder)", exact=False).first).to_be_visible()

    page.get_by_test_id("stButtonGroup").get_by_role("button", name="encoder 1 self · head 1").click()
    wait_until_idle(page, timeout_ms=120_000)
    assert_no_exception(page)
    expect(page.get_by_text("1 head(s) silenced")).to_be_visible()

    move_slider(page, "Layers", "ArrowLeft", 1, "1")
    width = slider(page, "Model width d")
    width.focus()
    width.press("Home")  # d = 64
    expect(width).to_have_attribute("aria-valuetext", "64")
    page.wait_for_timeout(800)
    wait_until_idle(page)
    # 20 epochs, so that the run is surely still training when Stop is pressed.
    move_slider(page, "Epochs", "End", 1, "20")
    page.get_by_role("button", name="Train from scratch").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=120_000)
    # Past the first epoch (any redraw of the progress text from the second epoch on).
    expect(page.get_by_text(re.compile(r"Epoch ([2-9]|1\d|20)/20")).first).to_be_visible(timeout=240_000)
    page.get_by_role("button", name="Stop").click()
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    expect(page.get_by_text("Replay the live map")).to_be_visible()
    # The comparison is far down the page, inside Streamlit's scrolling main area.
    # The data grid writes its cells into the page only once it is on screen.
    # The three translators' table is the one under section 5's heading (the FLOP count's table comes after it).
    page.get_by_role("heading", name="5 · No recurrence").scroll_into_view_if_needed()
    comparison = page.get_by_test_id("stDataFrame").filter(has_text="Seconds per epoch")
    comparison.scroll_into_view_if_needed()
    expect(comparison).to_contain_text("Seconds per epoch", timeout=15_000)
    expect(comparison).to_contain_text("(stopped)")
    page.wait_for_timeout(1500)  # Let the charts finish drawing before the picture.
    page.screenshot(path=str(ARTIFACTS / "transformer-trained.png"), full_page=True)
    assert_no_exception(page)
    context.close()


@pytest.mark.parametrize("width", [1280, 1400])
def test_one_heads_matrices_fit_the_page_and_their_words_can_be_read(browser, app_url: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 2400})
    page = context.new_page()
    page.goto(f"{app_url}/transformer")
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    # The walkthrough's eight matrices (Q, K, V, four steps of the scores, the output) are the page's first charts.
    charts = page.get_by_test_id("stVegaLiteChart").locator("svg.marks")
    expect(charts.nth(7)).to_be_visible(timeout=60_000)
    boxes = page.evaluate("""() => {
        const main = document.querySelector('[data-testid=stMainBlockContainer]');
        const style = getComputedStyle(main), box = main.getBoundingClientRect();
        const charts = [...document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')].slice(0, 8);
        const labels = [...charts[0].querySelectorAll('text')].filter(t => /^\\d+ /.test(t.textContent))
            .map(t => { const r = t.getBoundingClientRect(); return [r.top, r.bottom]; });
        return {left: box.left + parseFloat(style.paddingLeft), right: box.right - parseFloat(style.paddingRight),
                charts: charts.map(c => { const r = c.getBoundingClientRect(); return [r.left, r.right, r.top]; }),
                labels};
    }""")
    for left, right, _ in boxes["charts"]:
        assert boxes["left"] - 1 <= left and right <= boxes["right"] + 1, (boxes["left"], boxes["right"], left, right)
    for (_, right, top), (left, _, next_top) in zip(boxes["charts"], boxes["charts"][1:]):
        assert next_top != top or left >= right  # Side by side, none runs over its neighbour.
    # Q's rows: one label per word of the example sentence, none running into the next.
    labels = sorted(boxes["labels"])
    assert len(labels) == 9
    assert all(bottom <= next_top + 0.5 for (_, bottom), (next_top, _) in pairwise(labels)), labels
    context.close()
