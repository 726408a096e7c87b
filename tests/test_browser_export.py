"""Take it home, in a real browser: every chart saves itself as a PNG from its own toolbar and as an SVG or a
PNG from its "Save" menu, and a trained run's download gives its zip; neither reruns the page. The zip uploaded
again joins the run table."""

from __future__ import annotations

import io
import zipfile

import pytest
from playwright.sync_api import Page, expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.browser_support import assert_no_exception, wait_until_idle

pytestmark = pytest.mark.browser

# A short run of a seed of its own (so that no earlier test's identical press is served from the cache).
TRAINED_PAGE = "parameter_sharing?training_examples=20&epochs=5&seed=31"


def train_short_run(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/{TRAINED_PAGE}")
    wait_until_idle(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_role("button", name="Download the run")).to_be_visible(timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)


def test_every_chart_saves_itself_as_png_from_its_own_toolbar(page: Page, app_url: str):
    """Streamlit 1.67 draws Vega-Embed with its menu off (`actions: false`) and drops `actions` from a chart's
    `usermeta.embedOptions`; what each chart offers is its toolbar's "Download as PNG", made in the browser."""
    train_short_run(page, app_url)
    charts = page.get_by_test_id("stElementContainer").filter(has=page.get_by_test_id("stVegaLiteChart"))
    # The rule-of-thumb gauge, the parameters-against-side chart and the training chart.
    expect(charts).to_have_count(3)
    for index in range(charts.count()):
        chart = charts.nth(index)
        page.mouse.move(0, 0)  # away from the previous chart, whose toolbar then folds away
        # In the middle of the window, so that the toolbar over the chart's top edge needs no scrolling (scrolled
        # to the window's top edge, the toolbar went under the page's header and the chart took the click).
        chart.evaluate("element => element.scrollIntoView({block: 'center'})")
        chart.hover()  # the toolbar shows while the pointer is over the chart's element, toolbar included
        save = chart.get_by_role("button", name="Download as PNG")
        expect(save).to_be_visible()
        with page.expect_download() as download:
            save.click()
        with open(download.value.path(), "rb") as saved:
            assert saved.read(4) == b"\x89PNG", f"chart {index} saved something other than a PNG"


def test_every_chart_saves_itself_as_svg_and_png_from_its_save_menu_without_a_rerun(page: Page, app_url: str):
    """Each chart's own "Save" menu (the app's, since Streamlit keeps Vega-Embed's off) gives an SVG with the
    chart's words and a PNG, made on the server only when clicked; the clicks rerun nothing."""
    sent: list[object] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda frame: sent.append(frame)))
    train_short_run(page, app_url)
    menus = page.get_by_test_id("stPopover").filter(has_text="Save")
    # The rule-of-thumb gauge, the parameters-against-side chart and the training chart: one menu each.
    expect(menus).to_have_count(3)
    sent_before = len(sent)
    for index in range(menus.count()):
        menus.nth(index).get_by_role("button").click()
        body = page.get_by_test_id("stPopoverBody")
        expect(body).to_be_visible()
        saved = {}
        for kind in ("SVG", "PNG"):
            with page.expect_download() as download:
                body.get_by_role("button", name=kind).click()
            with open(download.value.path(), "rb") as file:
                saved[kind] = (download.value.suggested_filename, file.read())
        page.keyboard.press("Escape")
        expect(body).to_have_count(0)
        (svg_name, svg), (png_name, png) = saved["SVG"], saved["PNG"]
        assert svg_name.endswith(".svg") and png_name == svg_name[:-4] + ".png", (svg_name, png_name)
        assert svg.lstrip().startswith(b"<svg") and b"</svg>" in svg, f"chart {index} saved no SVG"
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), f"chart {index} saved something other than a PNG"
    # The last menu is the training chart's: its SVG draws the run's curves against the epochs.
    assert svg_name == "training-curves.svg" and b">Epoch<" in svg and b">Loss" in svg
    kinds = [BackMsg.FromString(frame).WhichOneof("type") for frame in sent[sent_before:]]
    assert "rerun_script" not in kinds, kinds
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    assert_no_exception(page)


def test_the_download_gives_the_run_and_leaves_the_page_as_it_was(page: Page, app_url: str):
    # Every message the browser sends the server (a rerun request is one), from the page's first load on.
    sent: list[object] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda frame: sent.append(frame)))
    train_short_run(page, app_url)
    table_before = page.get_by_test_id("stDataFrame").last.inner_text()
    sent_before = len(sent)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the run").click()
    # The click asked the server for the archive (the deferred file's request), and no rerun of the script.
    kinds = [BackMsg.FromString(frame).WhichOneof("type") for frame in sent[sent_before:]]
    assert kinds and "rerun_script" not in kinds, kinds
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        assert {"model.keras", "history.csv", "train.py", "data.npz", "requirements.txt"} <= set(archive.namelist())
    # No rerun: the page is not running, and the run table and the download are as they were.
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    assert page.get_by_test_id("stDataFrame").last.inner_text() == table_before
    expect(page.get_by_role("button", name="Download the run")).to_be_visible()
    assert_no_exception(page)


def test_a_downloaded_run_uploaded_again_joins_the_run_table_beside_the_trained_one(page: Page, app_url: str):
    """Take it home and bring it back, in a real browser: the zip the page gave is uploaded into its "Load a run
    you took home" box and joins the run table as a second row, the trained run kept."""
    train_short_run(page, app_url)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the run").click()
    archive = open(download.value.path(), "rb").read()
    page.get_by_text("Load a run you took home").click()
    page.locator("[data-testid=stFileUploader] input[type=file][accept*='.zip']").set_input_files(
        {"name": "my-run.zip", "mimeType": "application/zip", "buffer": archive}
    )
    table = page.get_by_test_id("stDataFrame").last
    expect(table).to_contain_text("loaded from my-run.zip", timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)
    expect(page.get_by_text("cannot be loaded")).to_have_count(0)
