"""A link must never break a page: every page, with every setting it binds to the address set at once to
the same bad value, still serves its sections, shows each control a value it can take, and names in its
note every value it did not take (issue 25: `?training=` reached the translator as None).

The settings are read from the page itself (the widgets whose element carries a query parameter), so a
setting added to a page is swept without touching this file. Nothing is trained: no button is pressed.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.browser_support import ROOT
from tests.page_support import APPTEST_TIMEOUT

APP = str(ROOT / "streamlit_app.py")
LINK_NOTE = "This link asked for settings the page cannot take"
# Every page with a settings table (lib/page_glue/settings/<page>.py); the home page has none, so no link can break it.
PAGES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in (ROOT / "app_pages").glob("*.py")
    if (ROOT / "lib" / "page_glue" / "settings" / path.name).exists()
)

# What a new user (or a mangled link) puts after `=`. A list is the parameter repeated (?k=a&k=b).
BAD_VALUES = {
    "empty": "",
    "huge": "999999999",
    "negative": "-1",
    "nan": "nan",
    "infinite": "inf",  # Parses as a float like 1e308 but never compares as a number in range.
    "overflow": "1e308",
    "long": "zebra " * 50,  # 300 characters.
    "markup": "<b>x</b><script>",
    "repeated": ["a", "b"],
    "repeated_empty": ["", ""],  # Streamlit reads a list of empty values as "cleared", like one.
    "nul": "\x00",
    "backtick": "`x`",  # Would close the note's code span around the value.
}


def bound_widgets(app: AppTest) -> dict[str, object]:
    """The page's widgets bound to the address, by parameter name, as the browser receives them."""
    found = {}

    def visit(node):
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                visit(child)
            return
        proto = getattr(node, "proto", None)
        parameter = getattr(proto, "query_param_key", "") if proto is not None else ""
        if parameter:
            found[parameter] = node

    visit(app._tree)
    return found


def open_with(page: str, settings: dict[str, str | list[str]]) -> AppTest:
    """A browser opening `/<page>?<settings>` directly: the page's first run has the link's parameters."""
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    app.switch_page(page)
    app.query_params.update(settings)
    return app.run()


@functools.cache
def clean(page: str) -> tuple[tuple[str, ...], dict[str, object], dict[str, str]]:
    """The page opened without a link: its section headers, its bound settings with their values and labels."""
    app = open_with(page, {})
    assert not app.exception, [e.value for e in app.exception]
    widgets = bound_widgets(app)
    return (
        tuple(h.value for h in app.header),
        {key: w.value for key, w in widgets.items()},
        {key: w.proto.label for key, w in widgets.items()},
    )


@pytest.mark.parametrize("page", PAGES, ids=[Path(p).stem for p in PAGES])
def test_every_setting_the_page_binds_is_declared_in_its_table_as_drawn(page):
    import importlib

    table = importlib.import_module(f"lib.page_glue.settings.{Path(page).stem}").SETTINGS
    _, _, labels = clean(page)
    assert set(labels) <= set(table.settings), sorted(set(labels) - set(table.settings))
    for key, label in labels.items():
        declared = table[key].label
        assert isinstance(declared, str) and label == declared, (key, label, declared)


def shows(value, asked: str | list[str]) -> bool:
    """Whether a control shows what the link asked for (then it took it, and no note is owed)."""
    if isinstance(value, (list, tuple)) and set(asked if isinstance(asked, list) else [asked]) == {""}:
        return list(value) == []  # `?k=`: a choice of several options (a multiselect) left empty.
    if isinstance(asked, list) or isinstance(value, (list, tuple)):
        return isinstance(asked, list) and isinstance(value, (list, tuple)) and [str(v) for v in value] == asked
    if isinstance(value, bool):
        return asked.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(asked), value)
        except ValueError:
            return False
    return str(value) == asked


def as_quoted(asked: str | list[str]) -> str:
    """The start of the value as the note quotes it: the address's spelling of what cannot be printed."""
    text = ", ".join(asked) if isinstance(asked, list) else asked
    return "".join(c if c.isprintable() and c != "`" else f"%{ord(c):02X}" for c in text)[:40]


SWEEP = [(page, name) for page in PAGES for name in BAD_VALUES]


@pytest.mark.parametrize("page, name", SWEEP, ids=[f"{Path(p).stem}-{n}" for p, n in SWEEP])
def test_a_link_with_bad_values_for_every_setting_never_breaks_the_page(page, name):
    headers, defaults, _ = clean(page)
    assert defaults, f"{page} binds settings in its source, but none was found on the page"
    asked = BAD_VALUES[name]
    app = open_with(page, {key: asked for key in defaults})

    assert not app.exception, [e.value for e in app.exception]
    assert tuple(h.value for h in app.header) == headers
    notes = " ".join(w.value for w in app.warning if LINK_NOTE in w.value)
    widgets = bound_widgets(app)
    for key, default in defaults.items():
        widget = widgets.get(key)
        # A setting whose control this link made disappear (the step slider of an unusable sentence)
        # is named as no setting of the page.
        if widget is None or not shows(widget.value, asked):
            assert f"`{key}={as_quoted(asked)}" in notes, (key, asked, notes)
        if widget is not None and default is not None:
            assert widget.value is not None, (key, asked)
