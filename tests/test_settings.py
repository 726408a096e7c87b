"""Settings declared once (lib/app/settings.py): every page's table imports with its presets checked, a
preset naming a setting or value the table does not declare fails at import naming it, and a page can
neither redeclare a declared argument nor forget one the table leaves to it."""

from __future__ import annotations

import importlib

import pytest

from lib.app.presets import PRESETS
from lib.app.settings import SEED, Drawn, Multiselect, PageSettings, Selectbox, SelectSlider, Slider, TextInput, Toggle
from lib.app.url_settings import Preset
from tests.browser_support import ROOT

TABLE_PAGES = sorted(
    path.stem for path in (ROOT / "lib" / "page_glue" / "settings").glob("*.py") if path.stem in PRESETS
)


def table(page: str) -> PageSettings:
    return importlib.import_module(f"lib.page_glue.settings.{page}").SETTINGS


def test_every_course_page_has_a_settings_table():
    from lib.app.course import COURSE_PAGES

    assert TABLE_PAGES == sorted(course_page.url_path for course_page in COURSE_PAGES)


@pytest.mark.parametrize("page", TABLE_PAGES)
def test_every_preset_names_settings_and_values_its_pages_table_declares(page):
    settings = table(page)
    assert settings.page == page and settings.presets == PRESETS[page]
    for preset in settings.presets:
        assert settings.preset_problems(preset) == [], preset.name


def toy_table(*presets: Preset) -> PageSettings:
    return PageSettings(
        "toy",
        [
            Slider(key="epochs", label="Epochs", min_value=5, max_value=150, value=60, step=5),
            *(Selectbox(key=f"dilation_{i}", label="Dilation", options=[1, 2, 3, 4]) for i in range(3)),
            Selectbox(key="head", label="Head", options=["global_average", "flatten"], format_func=str.title),
            Multiselect(key="cells", label="Cells", options=["SimpleRNN", "LSTM"], default=["LSTM"]),
            SelectSlider(key="clip", label="Clip", options=["off", 0.1, 1.0], value="off"),
            Toggle(key="mask", label="Mask", value=True),
            TextInput(key="sentence", label="Sentence", value="the cat", max_chars=10),
            Slider(key="step", label="Step", min_value=1, max_value=Drawn("the steps"), value=1),
        ],
        presets=list(presets),
    )


def test_a_preset_the_table_can_take_is_accepted():
    toy_table(
        Preset(
            "all good",
            "",
            {
                "epochs": "80",
                "dilation_2": "4",
                "head": "Flatten",
                "cells": ["SimpleRNN", "LSTM"],
                "clip": "1.0",
                "mask": "false",
                "sentence": "a dog",
                "step": "7",  # Its largest value is the page's to give: any whole number from 1 is a preset's to ask.
            },
        )
    )


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"epoch": "80"}, "`epoch` is not a setting of toy"),
        ({"dilation_3": "2"}, "`dilation_3` is not a setting of toy"),
        ({"epochs": "999"}, "`epochs`: '999' is outside [5, 150]"),
        ({"epochs": "6.5"}, "`epochs`: '6.5' is not a whole number"),
        ({"epochs": "inf"}, "`epochs`: 'inf'"),
        ({"head": "flatten"}, "`head`: 'flatten' is not one of ['Global_Average', 'Flatten']"),
        ({"cells": ["GRU"]}, "`cells`: 'GRU' is not one of"),
        ({"clip": "1"}, "`clip`: '1' is not one of"),
        ({"mask": "off"}, "`mask`: 'off' is neither true nor false"),
        ({"sentence": "a very long sentence"}, "`sentence`: the text has 20 characters, more than 10"),
        ({"step": "0"}, "`step`: '0' is outside"),
    ],
)
def test_a_preset_naming_what_the_table_does_not_declare_fails_at_import_naming_it(settings, named):
    with pytest.raises(ValueError, match="toy's presets ask for settings or values") as refused:
        toy_table(Preset("bad", "", settings))
    assert named in str(refused.value)


def test_a_setting_is_declared_once_and_its_default_is_one_it_can_take():
    with pytest.raises(ValueError, match="'epochs' is declared twice"):
        PageSettings("toy", [Slider(key="epochs", label="E", min_value=1, max_value=3, value=1), SEED] * 2, presets=[])
    with pytest.raises(ValueError, match="default 0 outside"):
        Slider(key="epochs", label="Epochs", min_value=1, max_value=3, value=0)
    with pytest.raises(ValueError, match="default 3 is not one of its options"):
        SelectSlider(key="units", label="Units", options=[8, 16], value=3)


class Recorder:
    """Stands in for a Streamlit container: records the widget drawn and its arguments."""

    def __getattr__(self, widget):
        def draw(**arguments):
            self.drawn = (widget, arguments)
            return arguments.get("value")

        return draw


def test_the_widget_is_drawn_with_every_argument_from_the_declaration_and_bound_to_the_address():
    place = Recorder()
    assert toy_table().widget("epochs", place) == 60
    assert place.drawn == (
        "slider",
        {
            "key": "epochs",
            "bind": "query-params",
            "label": "Epochs",
            "min_value": 5,
            "max_value": 150,
            "value": 60,
            "step": 5,
        },
    )
    toy_table().widget("step", place, max_value=9, label_visibility="collapsed")
    assert place.drawn[1]["max_value"] == 9 and place.drawn[1]["label_visibility"] == "collapsed"


def test_a_page_neither_redeclares_a_declared_argument_nor_forgets_one_left_to_it():
    with pytest.raises(TypeError, match=r"'epochs' already declares \['max_value'\]"):
        toy_table().widget("epochs", Recorder(), max_value=10)
    with pytest.raises(TypeError, match=r"'step' is drawn with \['max_value'\]: the page must give them"):
        toy_table().widget("step", Recorder())


def test_only_the_settings_module_binds_a_widget_to_the_address():
    allowed = {"lib/app/settings.py", "lib/app/url_settings.py"}
    binding = [
        path.relative_to(ROOT).as_posix()
        for folder in ("lib", "app_pages")
        for path in (ROOT / folder).rglob("*.py")
        if "bind=URL" in path.read_text(encoding="utf-8") or 'bind="query-params"' in path.read_text(encoding="utf-8")
    ]
    assert set(binding) <= allowed, sorted(set(binding) - allowed)
