"""Settings shared by URL, under AppTest: a link opens a page on its settings, every preset is taken as
written, a value a control cannot take is named in a note (never an exception), the share box's
link follows the controls, and a setting keeps its place on the page whatever sentence is typed above it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lib.app.presets import PRESETS
from tests.browser_support import ROOT
from tests.page_support import APP, APPTEST_TIMEOUT, moved, open_page, setting_places

LINK_NOTE = "This link asked for settings the page cannot take"


def open_link(page_file: str, settings: dict[str, str | list[str]]) -> AppTest:
    """A browser opening `/<page>?<settings>` directly: the page runs first, with the link's parameters."""
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    app.switch_page(f"app_pages/{page_file}.py")
    app.query_params.update(settings)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def link_notes(app: AppTest) -> list[str]:
    return [warning.value for warning in app.warning if LINK_NOTE in warning.value]


def shared_link(app: AppTest) -> str:
    return next(code.value for code in app.code if "?" in code.value or code.value.startswith(("/", "http")))


PRESET_CASES = [(page_key, preset) for page_key, presets in PRESETS.items() for preset in presets]


@pytest.mark.parametrize("page_key, preset", PRESET_CASES, ids=[f"{k}-{p.name}" for k, p in PRESET_CASES])
def test_every_preset_opens_its_page_with_every_value_taken(page_key, preset):
    app = open_link(page_key, preset.settings)
    assert link_notes(app) == []
    # The link the page offers to copy holds the preset's settings again (a preset is a copied link).
    link = shared_link(app)
    for key in preset.settings:
        assert f"{key}=" in link, (key, link)


def test_every_course_page_has_presets():
    from lib.app.course import COURSE_PAGES

    assert {course_page.url_path for course_page in COURSE_PAGES} == set(PRESETS)
    assert all(len(presets) >= 2 for presets in PRESETS.values())


def test_a_link_sets_the_controls_and_what_the_page_computes():
    app = open_link(
        "parameter_sharing",
        {"image_height": "28", "image_width": "28", "hidden_units": "32", "training_examples": "1437", "epochs": "25"},
    )
    assert app.number_input(key="image_height").value == 28
    assert app.slider(key="epochs").value == 25
    # The count follows the linked image: 28×28 inputs into 100 hidden units, 10 outputs.
    assert any("79,510" in metric.value for metric in app.metric), [m.value for m in app.metric]
    assert link_notes(app) == []


def test_values_a_control_cannot_take_are_named_and_the_page_keeps_its_own():
    app = open_link("parameter_sharing", {"epochs": "999", "hidden_units": "7", "image_width": "ten", "nonsense": "1"})
    [note] = link_notes(app)
    assert "`epochs=999`" in note and "shows **20**" in note
    assert "`hidden_units=7`" in note and "shows **512**" in note
    assert "`image_width=ten`" in note
    assert "`nonsense=1` is not a setting of this page" in note
    assert app.slider(key="epochs").value == 20
    assert app.select_slider(key="hidden_units").value == 512


def test_an_empty_value_for_a_control_that_always_holds_one_is_named_and_the_page_keeps_its_default():
    # Issue 25: `?training=` emptied the required "Training" control and the page received None.
    app = open_link("translator", {"training": "", "sentence": ["the cat", "the dog"]})
    assert app.get("button_group")[0].value == "teacher forcing"
    [note] = link_notes(app)
    assert "`training=` is not a value this control can take; it shows **teacher forcing**" in note
    # A repeated parameter for a one-value control: the box takes the last, and the note says so.
    assert "`sentence=the cat, the dog` is not a value this control can take; it shows **the dog**" in note


def test_a_number_no_control_can_hold_is_named_instead_of_breaking_the_page():
    # `examples=inf` made Streamlit's integer box raise OverflowError while reading the link.
    app = open_link("parameter_sharing", {"examples": "inf", "image_height": "1e308"})
    [note] = link_notes(app)
    assert "`examples=inf` is not a value this control can take; it shows **10000**" in note
    assert "`image_height=1e308`" in note
    assert app.number_input(key="examples").value == 10_000


def test_the_note_goes_once_the_control_is_set_and_the_link_follows_the_controls():
    app = open_link("parameter_sharing", {"epochs": "999"})
    assert link_notes(app)
    app.slider(key="epochs").set_value(80).run()
    assert link_notes(app) == []
    assert not app.exception
    assert "epochs=80" in shared_link(app)
    # A setting at its default is left out of the link, which stays short.
    app.slider(key="epochs").set_value(20).run()
    assert "epochs" not in shared_link(app)


def test_a_translator_link_translates_the_linked_sentence_with_the_linked_beam():
    app = open_link("translator", {"sentence": "the cat eats an apple", "beam": "1"})
    assert app.text_input(key="sentence").value == "the cat eats an apple"
    assert any(caption.value == "Beam search, width 1" for caption in app.caption)
    assert link_notes(app) == []


def test_an_overlong_sentence_in_a_link_is_refused_like_a_typed_one():
    app = open_link("translator", {"sentence": "cat " * 300})
    # The box holds at most 400 characters, as when typing; the note says the link's text was cut,
    # quoting it short, and the page translates the first words as it does for a typed sentence.
    assert len(app.text_input(key="sentence").value) == 400
    [note] = link_notes(app)
    assert "`sentence=cat cat" in note and "(1,200 characters)" in note and len(note) < 400
    assert any("only the first 40 are translated" in warning.value for warning in app.warning)


def test_the_readme_lists_every_preset_as_it_is():
    from scripts.preset_table import preset_table

    assert preset_table() in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "README's preset table is stale: python scripts/preset_table.py"
    )


# --- A setting keeps its place --------------------------------------------------------------------
# The browser keeps a setting's link to the address with the element drawn at its place on the page;
# when a note above it comes or goes and it moves, Streamlit 1.67's browser side sometimes drops that
# link, and a click on the setting no longer reaches the URL. So the translator pages draw what the
# sentence box shows in fixed slots, and these tests check every bound setting's place.


def test_the_translators_settings_keep_their_place_whatever_sentence_is_typed():
    app = open_page("app_pages/translator.py")
    example = setting_places(app)
    assert {"sentence", "beam", "step", "cell", "training"} <= example.keys()
    box = next(t for t in app.text_input if t.key == "sentence")
    box.set_value("the small zebra sleeps").run()  # An unknown word: a warning above the translation.
    assert any("zebra" in w.value for w in app.warning)
    assert moved(example, setting_places(app)) == {}
    next(t for t in app.text_input if t.key == "sentence").set_value("").run()  # A hint, and no translation.
    empty = setting_places(app)
    assert "beam" not in empty and "cell" in empty
    assert moved(example, empty) == {}


@pytest.mark.parametrize("page_file", ["attention", "transformer"])
def test_the_attention_pages_settings_keep_their_place_whatever_sentence_is_chosen(page_file):
    app = open_page(f"app_pages/{page_file}.py")
    example = setting_places(app)
    assert len(example) > 10
    next(s for s in app.selectbox if s.key == "sentence_choice").set_value("Type your own…").run()
    own = setting_places(app)
    assert "sentence" in own  # The text box has appeared under the choice.
    next(t for t in app.text_input if t.key == "sentence").set_value("the small zebra sleeps").run()
    assert any("zebra" in w.value for w in app.warning)
    assert moved(example, own) == {} and moved(example, setting_places(app)) == {}


def test_the_page_writes_a_setting_the_address_missed_into_it():
    # AppTest, like a browser that missed a write, changes the widget without touching the address.
    app = open_link("convnets", {"epochs": "12"})
    assert app.query_params == {"epochs": "12"}
    app.slider(key="epochs").set_value(30).run()
    app.select_slider(key="canvas").set_value(24).run()
    assert app.query_params == {"epochs": "30", "canvas": "24"}
