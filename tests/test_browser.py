"""The real app in a real browser: every page of the navigation opens without an exception box,
and the parameter-sharing demo trains until its chart appears, stops on request, and survives a
slider moved mid-training."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from lib.app.course import COURSE_PAGES
from lib.data.digits import max_train_count
from tests.browser_support import ARTIFACTS, assert_no_exception, move_slider, run_table, slider, wait_until_idle

pytestmark = pytest.mark.browser


def test_every_navigation_page_opens_without_exception(page: Page, app_url: str):
    page.goto(app_url)
    wait_until_idle(page)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Course map")).to_be_visible()
    for course_page in COURSE_PAGES:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=course_page.title).click()
        wait_until_idle(page)
        expect(page.get_by_role("heading", name=course_page.title, exact=True).first).to_be_visible()
        assert_no_exception(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Home").click()
        wait_until_idle(page)
        # The home page's card links to the same page.
        page.get_by_test_id("stPageLink").filter(has_text=course_page.title).click()
        wait_until_idle(page)
        expect(page.get_by_role("heading", name=course_page.title, exact=True).first).to_be_visible()


def open_parameter_sharing(page: Page, app_url: str, query: str = "") -> None:
    page.goto(f"{app_url}/parameter_sharing{query}")
    wait_until_idle(page)
    assert_no_exception(page)


def test_parameter_page_counts_the_notes_example_and_refuses_to_build_the_camera(page: Page, app_url: str):
    open_parameter_sharing(page, app_url)
    expect(page.get_by_test_id("stMetric").filter(has_text="Parameters (formula)")).to_contain_text("1,001,110")
    expect(page.get_by_test_id("stMetric").filter(has_text="count_params")).to_contain_text("1,001,110")
    page.get_by_test_id("stSelectbox").filter(has_text="Start from").click()
    page.get_by_role("option", name=re.compile("10-megapixel")).click()
    wait_until_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="count_params")).to_contain_text("not built")
    expect(page.get_by_test_id("stMetric").filter(has_text="Parameters (formula)")).to_contain_text("1,003,623,")
    assert_no_exception(page)


def test_demo_trains_until_its_chart_appears(page: Page, app_url: str):
    open_parameter_sharing(page, app_url)
    page.get_by_role("button", name="Train").click()
    # The default press can be over within a second, before a progress bar could be seen: wait for its run.
    expect(run_table(page)).to_contain_text("finished", timeout=120_000)
    wait_until_idle(page, timeout_ms=120_000)
    assert_no_exception(page)
    expect(run_table(page)).to_contain_text("100 examples · 512 hidden units")
    # The rule-of-thumb gauge, the parameters-against-side chart and the live training chart.
    expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "parameter-sharing-trained.png"))


def test_stop_keeps_a_partial_run(page: Page, app_url: str):
    # A seed of its own: the server may have trained the default press for an earlier test, and an
    # identical press would be served from its cache instead of training. 150 epochs on every training
    # digit, so that Stop lands while it trains (the default press can end within a second).
    open_parameter_sharing(page, app_url, f"?seed=11&epochs=150&training_examples={max_train_count()}")
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    wait_until_idle(page)
    assert_no_exception(page)
    expect(run_table(page)).to_contain_text("stopped at epoch")
    expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(3)


def test_slider_moved_mid_training_keeps_the_run_and_the_next_training_works(page: Page, app_url: str):
    # Every training digit, and 20 → 150 epochs, so that training is still running when the slider moves.
    open_parameter_sharing(page, app_url, f"?seed=12&training_examples={max_train_count()}")
    move_slider(page, "Epochs", "ArrowRight", 26, "150")
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    units = slider(page, "Hidden units")
    units.focus()
    units.press("ArrowLeft")
    wait_until_idle(page)
    assert_no_exception(page)
    expect(run_table(page)).to_contain_text("stopped at epoch")
    move_slider(page, "Epochs", "ArrowLeft", 27, "15")  # a quick second run
    page.get_by_role("button", name="Train").click()
    # Quick enough to end before a progress bar could be seen: wait for its row (the first run had 512 units).
    expect(run_table(page)).to_contain_text("128 hidden units", timeout=120_000)
    wait_until_idle(page, timeout_ms=120_000)
    assert_no_exception(page)
    expect(run_table(page)).to_contain_text("finished")


def test_recurrence_trains_and_compares_in_the_browser(page: Page, app_url: str):
    page.goto(f"{app_url}/recurrence")
    wait_until_idle(page)
    assert_no_exception(page)
    page.get_by_test_id("stRadio").get_by_text("daily maximum").click()
    wait_until_idle(page)
    move_slider(page, "Epochs", "ArrowLeft", 3, "2")
    page.get_by_role("button", name="Train the selected models").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    wait_until_idle(page, timeout_ms=180_000)
    assert_no_exception(page)
    table = page.get_by_test_id("stDataFrame").filter(has_text="Test MAE")
    for kind in ("Window MLP", "SimpleRNN", "LSTM", "GRU"):
        expect(table).to_contain_text(f"{kind} · 32 units")
    expect(page.get_by_text("Best on the test part")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "recurrence-trained.png"), full_page=True)


@pytest.mark.parametrize("course_page", COURSE_PAGES, ids=lambda course_page: course_page.title)
def test_a_deep_link_opens_the_page_inside_the_app(browser, app_url: str, course_page):
    # A fresh browser session whose first request is the page's own address, as when an
    # instructor shares a link: it must get the app's navigation and wide layout, not the page alone.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{app_url}/{course_page.path.removeprefix('app_pages/').removesuffix('.py')}")
    # Wait for the page itself: a server still busy with an earlier test's training can take longer than
    # an idle check's first look to start this session's run (a CI run once failed this test on its
    # first page, right after the Recurrence training test; alone it passed every time).
    expect(page.get_by_role("heading", name=course_page.title, exact=True).first).to_be_visible(timeout=120_000)
    wait_until_idle(page)
    navigation = page.get_by_test_id("stSidebarNav")
    expect(navigation.get_by_role("link", name="Home")).to_be_visible(timeout=30_000)
    expect(navigation).not_to_contain_text("streamlit app")
    assert_no_exception(page)
    context.close()


def test_a_second_session_queues_while_the_only_slot_is_busy(browser, one_slot_app_url: str):
    first_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    second_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first, second = first_context.new_page(), second_context.new_page()
    # The first trains 150 epochs on every training digit, long enough for the second to queue behind it.
    first.goto(f"{one_slot_app_url}/parameter_sharing?training_examples={max_train_count()}")
    second.goto(f"{one_slot_app_url}/parameter_sharing")
    for page in (first, second):
        wait_until_idle(page)
    move_slider(first, "Epochs", "ArrowRight", 26, "150")
    first.get_by_role("button", name="Train").click()
    expect(first.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)

    second.get_by_role("button", name="Train").click()
    expect(second.get_by_text("Queued: 1 training ahead of yours")).to_be_visible(timeout=15_000)

    first.get_by_role("button", name="Stop").click()
    wait_until_idle(first)
    expect(run_table(first)).to_contain_text("stopped at epoch")
    # The freed slot goes to the waiting session, which trains to the end (quickly: its run is what to wait for).
    expect(run_table(second)).to_contain_text("finished", timeout=120_000)
    wait_until_idle(second, timeout_ms=120_000)
    for page in (first, second):
        assert_no_exception(page)
    first_context.close()
    second_context.close()


def default_memory_setting() -> tuple[str, int]:
    """The setup and lag the Vanishing-gradients page presses by default: the shipped sweep's clearest contrast."""
    from lib.models.long_memory import clearest_contrast, load_sweep, summarise_sweep

    contrast = clearest_contrast(summarise_sweep(load_sweep()))
    return contrast.setup, contrast.lag


def test_vanishing_gradients_default_press_trains_both_cells_and_shows_the_lstm_gates(page: Page, app_url: str):
    setup, lag = default_memory_setting()
    page.goto(f"{app_url}/vanishing_gradients")
    wait_until_idle(page)
    assert_no_exception(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    wait_until_idle(page, timeout_ms=240_000)
    assert_no_exception(page)
    for cell in ("SimpleRNN", "LSTM"):
        expect(page.get_by_text(f"{cell} · lag {lag} · {setup}: held-out accuracy")).to_be_visible()
    expect(page.get_by_text("Train an LSTM in section 3")).to_have_count(0)
    expect(page.get_by_text("One held-out sequence read by your trained LSTM")).to_be_visible()


def test_recurrence_keeps_and_measures_a_run_stopped_mid_training(page: Page, app_url: str):
    page.goto(f"{app_url}/recurrence")
    wait_until_idle(page)
    # The page opens on the chaotic series, with the shipped results of both defaults written out.
    expect(page.get_by_text("steps of the Mackey-Glass delay equation")).to_be_visible()
    expect(page.get_by_text("What one press of Train with the default settings measured")).to_be_visible()
    # The hourly series has the most training windows, so that Stop lands inside the first model's
    # run (on the 5,000 Mackey-Glass steps the window MLP's 30 epochs can end before Stop arrives).
    page.get_by_test_id("stRadio").get_by_text("hourly").click()
    wait_until_idle(page)
    move_slider(page, "Epochs", "End", 1, "30")
    page.get_by_role("button", name="Train the selected models").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    wait_until_idle(page, timeout_ms=60_000)
    assert_no_exception(page)
    # The stopped network keeps its model, so it is measured on the test part like the others.
    table = page.get_by_test_id("stDataFrame").filter(has_text="Test MAE")
    expect(table).to_contain_text("Window MLP · 32 units")
    expect(table).to_contain_text("stopped at epoch")


def test_vanishing_gradients_keeps_a_run_stopped_mid_press(page: Page, app_url: str):
    setup, lag = default_memory_setting()
    # A seed of its own: the default press may have been trained (and cached) for an earlier test.
    page.goto(f"{app_url}/vanishing_gradients?seed=5")
    wait_until_idle(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    wait_until_idle(page, timeout_ms=60_000)
    assert_no_exception(page)
    # The press trains the SimpleRNN first: Stop keeps it, with its curve and its line, and ends the press.
    expect(
        page.get_by_role("strong").filter(has_text=f"SimpleRNN · lag {lag} · {setup} · seed 5 (stopped)")
    ).to_be_visible()
    expect(page.get_by_text("Train an LSTM in section 3")).to_be_visible()
