"""Streamlit's private internals the settings links read, one test per name: a Streamlit upgrade that moves
one fails here with the name and the file to update, not as a page whose link notes quietly vanish."""

from __future__ import annotations

import pytest
import streamlit

from lib.app import streamlit_internals
from lib.app.streamlit_internals import PRIVATE_NAMES, missing_private_name


def owner_name(owner) -> str:
    return getattr(owner, "__qualname__", None) or owner.__name__


@pytest.mark.parametrize(
    "owner, name, use", PRIVATE_NAMES, ids=[f"{owner_name(owner)}.{name}" for owner, name, _ in PRIVATE_NAMES]
)
def test_streamlit_still_has_each_private_name_the_links_read(owner, name, use):
    assert not missing_private_name(owner, name), (
        f"Streamlit {streamlit.__version__}'s {owner_name(owner)} has no `{name}` any more ({use}): "
        "lib/app/streamlit_internals.py must be updated."
    )


def test_a_moved_name_is_noticed():
    class Moved:
        kept: int = 0

    assert missing_private_name(Moved, "_bindings_by_param")
    assert not missing_private_name(Moved, "kept")


def test_no_other_module_names_a_private_internal():
    from tests.browser_support import ROOT

    names = [name for _, name, _ in PRIVATE_NAMES if name != "_state"] + ["._state."]
    adapter = ROOT / "lib" / "app" / "streamlit_internals.py"
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("lib", "app_pages")
        for path in (ROOT / folder).rglob("*.py")
        if path != adapter
        for name in names
        if name in path.read_text(encoding="utf-8")
    ]
    assert offenders == [], "Only lib/app/streamlit_internals.py may read Streamlit's internals"


def test_the_adapter_answers_outside_a_run():
    # Outside a script run (a test, a script) the adapter says there is nothing bound, never raises.
    assert streamlit_internals.address() is None
    assert streamlit_internals.bound_parameters() == []
    assert streamlit_internals.bound_widget("epochs") is None


def test_a_value_is_written_and_read_as_the_address_does():
    assert streamlit_internals.url_form(True, "bool_value") == "true"
    assert streamlit_internals.url_form(["a", "b"], "string_array_value") == ["a", "b"]
    assert streamlit_internals.parse_url_value("25", "int_value") == 25
    assert streamlit_internals.parse_url_value("false", "bool_value") is False
    assert streamlit_internals.parse_url_value("", "int_value") is None  # `?k=`: the control is cleared.
