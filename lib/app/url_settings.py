"""Settings shareable by URL: what a link asked for, what the page could not take, the link to copy, presets.

Every setting widget of a page is bound to a query parameter of the same name as its key (Streamlit's
`bind="query-params"`, passed as `bind=URL` by lib/app/settings.py, which draws every declared setting),
so the browser's address always holds the page's settings and opening that address reproduces them, the
way TensorFlow Playground's state lives in its URL. The Streamlit internals this module needs are read
through lib/app/streamlit_internals.py only.

Streamlit drops a value its widget cannot take (a slider position out of range, an option the list
does not have) without a word; a workshop participant who opened the instructor's link would then
train on other settings than the room. `SettingsLink` remembers what the opening URL asked for
and, once the page's widgets exist, says which values were not taken and what the control shows
instead. Train, Stop and uploads are never bound: a link reproduces settings, never actions or data.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

from lib.app import streamlit_internals

URL = "query-params"

# Query parameters that Streamlit itself reads (embedding options); they are not settings of a page.
STREAMLIT_PARAMETERS = frozenset({"embed", "embed_options"})
# The workshop room's code (lib/page_glue/room.py): not a setting of a page, but kept in the page's
# share link, so that a link handed round a room brings whoever opens it into the same room.
ROOM_PARAMETER = "room"


@dataclass(frozen=True)
class Preset:
    """A named link an instructor hands out: the settings of one page that show one point of the notes."""

    name: str
    shows: str
    settings: dict[str, str | list[str]]

    def query(self) -> str:
        return urlencode(self.settings, doseq=True)


@dataclass(frozen=True)
class IgnoredValue:
    key: str
    asked: str
    shown: str | None

    def sentence(self) -> str:
        if self.shown is None:
            return f"`{self.key}={_short(self.asked)}` is not a setting of this page."
        return f"`{self.key}={_short(self.asked)}` is not a value this control can take; it shows **{_short(self.shown)}**."


class SettingsLink:
    """A page's link: what the URL that opened the page asked for, and a place under the title for the
    share box and for the values the page could not take.

    Create it first on a page (before any widget) and call `finish()` after the page's last setting:
    only then does the URL hold every setting of this run, and does every bound widget exist.
    """

    def __init__(self, page_key: str, page_path: str, presets: list[Preset] = ()):
        self.page_path, self.presets = page_path, presets
        self.store = f"link_request_{page_key}"
        # A session opens a page's link once: later reruns change the URL themselves (bound widgets
        # write their values into it), so only the first run's parameters are what the link asked for.
        if self.store not in st.session_state:
            st.session_state[self.store] = {
                key: st.query_params.get_all(key)
                for key in st.query_params
                if key not in STREAMLIT_PARAMETERS and key != ROOM_PARAMETER
            }
            st.session_state[f"{self.store}_notes"] = None
        self.requested: dict[str, list[str]] = st.session_state[self.store]
        self.area = st.container()

    def finish(self) -> list[IgnoredValue]:
        """Fill the share box, and say which of the link's values were not taken (until the user moves them)."""
        write_settings_into_address()
        with self.area:
            share_box(self.page_path, self.presets)
        notes_key = f"{self.store}_notes"
        if st.session_state[notes_key] is None:
            st.session_state[notes_key] = (
                [(ignored, _current(ignored.key)) for ignored in ignored_values(self.requested)],
                current_settings(),
            )
        notes, settings_at_opening = st.session_state[notes_key]
        # A note stays while its control still shows what the page chose instead: once the user sets
        # that control, the note has been read and acted on. A note on a name that is no setting of the
        # page stays until the user sets anything.
        unchanged = current_settings() == settings_at_opening
        standing = [
            ignored
            for ignored, value in notes
            if (_current(ignored.key) == value if ignored.shown is not None else unchanged)
        ]
        if standing:
            self.area.warning(
                "This link asked for settings the page cannot take, so it uses its own:\n\n"
                + "\n".join(f"- {ignored.sentence()}" for ignored in standing),
                icon=":material/link_off:",
            )
        return standing


def ignored_values(requested: dict[str, list[str]]) -> list[IgnoredValue]:
    """The requested values that no widget of this run took as asked (call after the page's widgets)."""
    ignored = []
    for key, asked in requested.items():
        widget = _bound_widget(key)
        if widget is None:
            ignored.append(IgnoredValue(key, ", ".join(asked), None))
            continue
        if _takes(widget, asked, st.session_state[key]):
            continue
        ignored.append(IgnoredValue(key, ", ".join(asked), _shown(widget, st.session_state[key])))
    return ignored


def refuse_values_no_control_can_take() -> None:
    """Make Streamlit refuse a link's value that a control cannot hold, instead of breaking the page with it.

    Streamlit seeds a bound widget from the URL after checking that the value parses and is one of the
    widget's options, and clears the parameter (the widget opens on its default) when it is not. Two
    kinds of value still get through in 1.67: one that would leave a control that always holds a value
    without one (`?training=` empties a required `st.segmented_control`, and the page received None),
    and one whose conversion fails with an error Streamlit does not expect (`?examples=inf`: an integer
    `st.number_input` raises OverflowError). Both are refused here the way Streamlit refuses an invalid
    value, whatever the widget, so `SettingsLink` names them in its note like any value the page could
    not take. A widget that opens empty (its default is None) keeps taking an empty link. Installed
    once per process; the rule is the same for every session. It wraps a method of Streamlit's session
    state through lib/app/streamlit_internals.py; tests/test_url_sweep.py fails if that method changes under it.
    """
    streamlit_internals.filter_values_seeded_from_url(
        lambda metadata, value: value is not None or metadata.deserializer(None) is None,
        marker="refuses_values_no_control_can_take",
    )


# A widget is bound with `bind=URL` (lib/app/settings.py), so this module is imported before the first bound widget.
refuse_values_no_control_can_take()


def share_box(page_path: str, presets: list[Preset] = ()) -> None:
    """The page's link with its current settings, one click to copy, and the page's presets as links."""
    with st.expander("Share these settings", icon=":material/link:"):
        room = {ROOM_PARAMETER: st.query_params[ROOM_PARAMETER]} if ROOM_PARAMETER in st.query_params else {}
        query = urlencode(current_settings() | room, doseq=True)
        page_address = f"{_app_address()}/{page_path}"
        st.code(f"{page_address}?{query}" if query else page_address, language=None)
        st.caption(
            "Copy this link (the icon at the box's right) and send it: it opens this page on these settings. "
            "Settings at their default are left out of it. Trained models are not in a link: "
            "everyone trains their own."
            + (" It carries your workshop room's code: whoever opens it is invited into the room." if room else "")
        )
        if presets:
            st.markdown("**Presets** (each opens in a new tab, so nothing trained here is lost):")
            for preset in presets:
                link_column, text_column = st.columns([1, 3], vertical_alignment="center")
                link_column.link_button(preset.name, f"{page_path}?{preset.query()}", width="stretch")
                text_column.markdown(preset.shows)


def app_address() -> str:
    """The app's address in the browser, without a page's path (empty outside a browser)."""
    return _app_address()


def _app_address() -> str:
    """The app's address in the browser, without a page's path (empty outside a browser).

    st.context.url holds the address the session was opened at, with the page's path or without it,
    depending on how the page was reached; the course's page paths are removed here either way.
    """
    from lib.app.course import COURSE_PAGES

    address = (st.context.url or "").rstrip("/")
    for course_page in COURSE_PAGES:
        address = address.removesuffix(f"/{course_page.url_path}")
    return address


def current_settings() -> dict[str, list[str]]:
    """This run's bound settings that differ from their default, written as the URL writes them.

    The same query the browser's address bar shows, rebuilt from the widgets themselves: the server
    learns the browser's address only at the next rerun, so reading it back would lag one move behind.
    """
    settings = {}
    # The bindings are kept in the order the page created its widgets, which keeps the link readable.
    for key in streamlit_internals.bound_parameters():
        widget = _bound_widget(key)
        if widget is None or st.session_state[key] == widget.deserializer(None):
            continue
        written = widget.serializer(st.session_state[key])
        settings[key] = [_number(item) for item in (written if isinstance(written, list) else [written])]
    return settings


def write_settings_into_address() -> list[str]:
    """Write into the browser's address every setting of this run that it does not hold as shown; return their keys.

    The browser writes a bound widget's value into the address as the user sets it, and the run that
    follows starts from that address. Streamlit 1.67's browser side sometimes misses the write after the
    widget has moved on the page (a note above it came or went): the run then starts from an address
    without the new value, and nothing would put it back. This puts it back at the end of that same run,
    with the message Streamlit uses to correct a value itself. Nothing is sent when the address agrees,
    so a page that works as it should never hears from this.
    """
    address = streamlit_internals.address()
    written = []
    for key in streamlit_internals.bound_parameters():
        widget = _bound_widget(key)
        if widget is None or st.session_state[key] == widget.deserializer(None):
            continue
        value = widget.serializer(st.session_state[key])
        if _as_list(address.get_all(key)) == _as_list(streamlit_internals.url_form(value, widget.value_type)):
            continue
        address.set_corrected_value(key, value, widget.value_type)
        written.append(key)
    return written


def _as_list(value) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _current(key: str):
    value = st.session_state.get(key)
    return tuple(value) if isinstance(value, list) else value


def _bound_widget(key: str):
    """Streamlit's record of the widget bound to `key` in this run (its value type and serializer), or None."""
    return streamlit_internals.bound_widget(key) if key in st.session_state else None


def _takes(widget, asked: list[str], value) -> bool:
    """Whether the widget shows what the link asked for: its value, written the way the URL writes it, is the request."""
    try:
        requested = streamlit_internals.parse_url_value(asked if len(asked) > 1 else asked[0], widget.value_type)
    except (ValueError, TypeError, IndexError, ArithmeticError):
        return False
    written = widget.serializer(value)
    if len(asked) > 1 and not isinstance(written, list):
        return False  # A repeated parameter for a control of one value: it took only one of them.
    if isinstance(requested, list) and not isinstance(written, list):
        written = [written]
    if isinstance(written, list) and not isinstance(requested, list):
        requested = [requested]
    return written == requested


def _shown(widget, value) -> str:
    written = widget.serializer(value)
    if isinstance(written, list):
        written = ", ".join(_number(item) for item in written)
    return _number(written)


def _short(text: str, limit: int = 60) -> str:
    """A value as a note quotes it: a long text (a sentence of 400 characters) is cut, not repeated whole.

    A character that cannot be printed (a NUL, a line break) or that would end the note's code span
    (a backtick) is written as the address writes it (%00, %0A, %60), so the note shows what was asked.
    """
    length = len(text)
    text = text if length <= limit else text[:limit]
    text = "".join(c if c.isprintable() and c != "`" else "".join(f"%{b:02X}" for b in c.encode()) for c in text)
    return text if length <= limit else f"{text}… ({length:,} characters)"


def _number(item) -> str:
    if isinstance(item, bool):
        return str(item).lower()
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return str(item)
