"""Helpers for the AppTest tests (tests/test_page*.py, tests/test_url_settings.py): open a page of the
real app in this process, and read what it drew (a metric, a chart's rows, a translation, a widget,
where each setting is drawn). Tests share these through this module, never by importing each other."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.browser_support import ROOT

APP = str(ROOT / "streamlit_app.py")
# TensorFlow's import alone takes about 4 s here; the first training page run also builds models.
APPTEST_TIMEOUT = 120


def open_page(path: str) -> AppTest:
    """The app opened on its home page and, unless `path` is the home page, switched to `path`."""
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT).run()
    if path != "app_pages/home.py":
        app.switch_page(path).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def widget(app: AppTest, kind: str, label: str):
    """The first widget of a kind ("slider", "selectbox", ...) with this label."""
    return next(w for w in app.get(kind) if w.label == label)


def chart_data(chart) -> pd.DataFrame:
    """The rows an Altair chart sent to the browser (Streamlit ships them as Arrow)."""
    import pyarrow

    proto = chart.proto
    arrow_bytes = proto.datasets[0].data.data if proto.datasets else proto.data.data
    return pyarrow.ipc.open_stream(arrow_bytes).read_pandas()


def charts(app: AppTest) -> list[pd.DataFrame]:
    """The rows of every Altair chart on the page, in page order."""
    return [chart_data(chart) for chart in app.get("vega_lite_chart")]


def output(app: AppTest, title: str) -> str:
    """A translator page's translation shown under a caption ("Greedy decoding", "Beam search, width k"),
    the text after the markdown heading marks."""
    captions = [c.value for c in app.caption]
    markdowns = [m.value for m in app.markdown if m.value.startswith("#### ")]
    titles = [c for c in captions if c.startswith(("Greedy decoding", "Beam search, width"))]
    return dict(zip(titles, markdowns))[title].removeprefix("#### ")


def setting_places(app: AppTest) -> dict[str, tuple[int, ...]]:
    """Where each keyed widget is drawn: its path of child positions from the page's root. A chart's "Save"
    menu buttons are not settings (they hold no value and move with their chart), so they are left out."""
    from lib.engine.charts import SAVE_KEY_PREFIX

    places = {}

    def visit(node, path):
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for position, child in children.items():
                visit(child, (*path, position))
        elif getattr(node, "key", None) and SAVE_KEY_PREFIX not in node.key:
            places[node.key] = path

    visit(app._tree, ())
    return places


def moved(before: dict, after: dict) -> dict:
    """The settings drawn in both `before` and `after` (from `setting_places`) whose place changed."""
    return {key: (before[key], after[key]) for key in before.keys() & after.keys() if before[key] != after[key]}


def run_downloads(app: AppTest) -> list:
    """The page's run downloads (each chart's "Save" menu holds download buttons too: those are left out)."""
    from lib.engine.charts import SAVE_KEY_PREFIX

    return [button for button in app.get("download_button") if SAVE_KEY_PREFIX not in button.proto.id]
