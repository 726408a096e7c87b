"""Layouts that only a real browser shows: the home page's course map reads in the course's order on a
phone and on a desktop, and every option of the Translator's "Training" choice can be read and
clicked at desktop widths (it was cut off after "pr…" at 1,400 px)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from lib.app.course import COURSE_PAGES
from lib.page_glue.translator_page import PROFESSOR_FORCING, TRAINING_CHOICES
from tests.browser_support import assert_no_exception, wait_until_idle

pytestmark = pytest.mark.browser


def open_at(browser, url: str, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 1000}).new_page()
    page.goto(url)
    wait_until_idle(page)
    assert_no_exception(page)
    return page


def reading_order(boxes: dict[str, dict]) -> list[str]:
    """Names in the order a reader meets their boxes: rows top to bottom, left to right within a row.
    Boxes whose vertical extents overlap share a row (a card's title sits lower when its caption wraps)."""
    rows: list[list[str]] = []
    row_bottom = float("-inf")
    for name in sorted(boxes, key=lambda n: boxes[n]["y"]):
        box = boxes[name]
        if rows and box["y"] < row_bottom:
            rows[-1].append(name)
            row_bottom = max(row_bottom, box["y"] + box["height"])
        else:
            rows.append([name])
            row_bottom = box["y"] + box["height"]
    return [name for row in rows for name in sorted(row, key=lambda n: boxes[n]["x"])]


@pytest.mark.parametrize("width", [390, 1400])
def test_course_map_reads_in_the_course_order(browser, app_url: str, width: int):
    page = open_at(browser, app_url, width)
    titles = [course_page.title for course_page in COURSE_PAGES]
    headings = {title: page.get_by_role("heading", name=title, exact=True) for title in titles}
    for heading in headings.values():
        expect(heading).to_be_visible()
    # One evaluation measures every title, so no scroll moves the page between two measurements.
    boxes = page.evaluate(
        """titles => Object.fromEntries(titles.map(title => {
            const heading = [...document.querySelectorAll('[data-testid=stMain] h3')]
                .find(h => h.innerText.trim() === title);
            const r = heading.getBoundingClientRect();
            return [title, {x: r.x, y: r.y, height: r.height}];
        }))""",
        titles,
    )
    assert reading_order(boxes) == titles
    if width == 1400:  # a desktop shows the map in rows of several cards, not one long column
        assert len({round(box["y"]) for box in boxes.values()}) < len(titles)
    page.context.close()


@pytest.mark.parametrize("width", [1280, 1400])
def test_every_training_option_can_be_read_and_clicked(browser, app_url: str, width: int):
    page = open_at(browser, f"{app_url}/translator", width)
    group = page.get_by_role("radiogroup", name="Training")
    group.scroll_into_view_if_needed()
    for option in TRAINING_CHOICES:
        expect(group.get_by_role("radio", name=option, exact=True)).to_be_visible()
    # Each option lies wholly inside the control's box, and what is drawn at its label's both ends
    # is the option itself (clipped, the control drew the next widget there, or nothing).
    unreadable = group.evaluate(
        """(group, options) => {
            const frame = group.closest('[data-testid=stButtonGroup]').getBoundingClientRect();
            return options.filter(option => {
                const button = [...group.querySelectorAll('[role=radio]')].find(b => b.innerText.trim() === option);
                const label = button.querySelector('p').getBoundingClientRect();
                const ends = [[label.left + 1, label.top + label.height / 2], [label.right - 1, label.top + label.height / 2]];
                const drawn = ends.every(([x, y]) => button.contains(document.elementFromPoint(x, y)));
                return !(drawn && label.left >= frame.left && label.right <= frame.right);
            });
        }""",
        list(TRAINING_CHOICES),
    )
    assert unreadable == []
    professor = group.get_by_role("radio", name=PROFESSOR_FORCING, exact=True)
    professor.click()
    expect(professor).to_have_attribute("aria-checked", "true")
    # The choice still goes into the address under its old name, so links made before keep working.
    page.wait_for_function(f"new URLSearchParams(location.search).get('training') === {PROFESSOR_FORCING!r}")
    wait_until_idle(page)
    assert_no_exception(page)
    page.context.close()


def test_a_link_with_a_training_choice_opens_on_it(browser, app_url: str):
    page = open_at(browser, f"{app_url}/translator?training=professor+forcing", 1400)
    group = page.get_by_role("radiogroup", name="Training")
    expect(group.get_by_role("radio", name=PROFESSOR_FORCING, exact=True)).to_have_attribute("aria-checked", "true")
    expect(page.get_by_text("runs the decoder twice per batch and trains a discriminator", exact=False)).to_be_visible()
    page.context.close()
