"""The real app in a real browser: every page of the navigation opens without an exception box,
and the parameter-sharing demo trains until its chart appears, stops on request, and survives a
slider moved mid-training."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from lib.course import COURSE_PAGES

pytestmark = pytest.mark.browser

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
RUNNING = "[data-testid=stApp][data-test-script-state=running]"


def wait_until_idle(page: Page, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def assert_no_exception(page: Page) -> None:
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def test_every_navigation_page_opens_without_exception(page: Page, app_url: str):
    page.goto(app_url)
    wait_until_idle(page)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Course map")).to_be_visible()
    titles = [course_page.title for course_page in COURSE_PAGES]
    for title in titles:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
        page.wait_for_timeout(300)
        wait_until_idle(page)
        expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()
        assert_no_exception(page)


def open_parameter_sharing(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/parameter_sharing")
    wait_until_idle(page)
    assert_no_exception(page)


def test_parameter_page_counts_the_notes_example(page: Page, app_url: str):
    open_parameter_sharing(page, app_url)
    formula = page.get_by_test_id("stMetric").filter(has_text="Parameters (formula)")
    expect(formula).to_contain_text("1,001,110")
    keras_metric = page.get_by_test_id("stMetric").filter(has_text="count_params")
    expect(keras_metric).to_contain_text("1,001,110")
    page.get_by_role("combobox").first.click()
    page.get_by_role("option", name=re.compile("10-megapixel")).click()
    wait_until_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="count_params")).to_contain_text("not built")
    assert_no_exception(page)


def test_demo_trains_until_its_chart_appears(page: Page, app_url: str):
    open_parameter_sharing(page, app_url)
    page.get_by_role("button", name=re.compile("Train")).click()
    page.wait_for_selector(RUNNING, timeout=10_000)
    wait_until_idle(page, timeout_ms=120_000)
    assert_no_exception(page)
    table = page.get_by_test_id("stDataFrame").last
    expect(table).to_be_visible()
    charts = page.locator("[data-testid=stVegaLiteChart]")
    # The gauge, the side chart and the training chart.
    expect(charts).to_have_count(3)
    page.screenshot(path="test-artifacts/parameter-sharing-trained.png", full_page=True)


def test_stop_keeps_a_partial_run(page: Page, app_url: str):
    open_parameter_sharing(page, app_url)
    # A long run, so that Stop lands mid-training.
    page.get_by_role("button", name=re.compile("Train")).click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name=re.compile("Stop")).click()
    wait_until_idle(page)
    assert_no_exception(page)
    expect(page.get_by_test_id("stDataFrame").last).to_contain_text("stopped")
