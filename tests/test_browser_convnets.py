"""The ConvNets page in a real browser: it counts the default stack, the receptive field follows the
unit sliders, and one press trains both models, tests the shifted digits and draws the gallery."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser_support import ARTIFACTS, assert_no_exception, move_slider, wait_until_idle

pytestmark = pytest.mark.browser


def open_convnets(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/convnets")
    wait_until_idle(page)
    assert_no_exception(page)


def test_convnets_counts_the_stack_and_moves_the_field(page: Page, app_url: str):
    open_convnets(page, app_url)
    expect(page.get_by_test_id("stMetric").filter(has_text="ConvNet parameters (formula)")).to_contain_text("6,218")
    expect(page.get_by_test_id("stMetric").filter(has_text="count_params")).to_contain_text("6,218")
    # The parameters-by-side chart and the three receptive-field grids.
    expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(4)
    expect(page.get_by_text("depends on exactly the 81 input pixels")).to_be_visible()
    move_slider(page, "Unit column", "ArrowLeft", 8, "0")
    assert_no_exception(page)
    expect(page.get_by_text("unit (8, 0) of layer 3 depends on exactly the 45 input pixels")).to_be_visible()
    expect(page.get_by_text("zero padding", exact=False)).to_be_visible()
    move_slider(page, "Conv layers", "ArrowRight", 1, "4")
    assert_no_exception(page)
    expect(page.get_by_text("conv 4", exact=True)).to_be_visible()
    expect(page.get_by_text("Formula and gradient agree")).to_be_visible()


def test_convnets_trains_both_models_and_tests_moved_digits(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 4000})
    page = context.new_page()
    open_convnets(page, app_url)
    page.get_by_role("button", name="Train the ConvNet, then the MLP").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    table = page.get_by_test_id("stDataFrame").filter(has_text="Held-out accuracy")
    expect(table).to_contain_text("ConvNet #1 · 8·16·32 filters")
    expect(table).to_contain_text("MLP #1 · 23 hidden units")
    expect(page.get_by_text("On centred digits the", exact=False).first).to_be_visible()
    expect(page.get_by_text("The trained network's gradient reaches")).to_be_visible()
    # Parameters, 3 + 3 field grids, the training chart and the translation chart.
    expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(9)
    # The gallery (10 digits), the 8 filters, the input and its 8 feature maps.
    expect(page.locator("[data-testid=stImage] img")).to_have_count(10 + 8 + 1 + 8)
    page.wait_for_timeout(1000)  # let the charts finish drawing before the picture
    page.screenshot(path=str(ARTIFACTS / "convnets-trained.png"))
    move_slider(page, "Move right (pixels)", "ArrowRight", 3, "3")
    assert_no_exception(page)
    expect(page.get_by_text("Moved +3 right and +0 down")).to_be_visible()
    context.close()
