"""The one place that reads Streamlit's private internals (pinned: streamlit==1.67.0).

Sharing settings by URL needs four things Streamlit keeps to itself: which query parameters are bound
to which widgets, in the order the page created them (`QueryParams._bindings_by_param`); the widget
behind a key (`SessionState._key_id_mapper`, `SessionState._new_widget_state`); how a value is written
into the address (`query_params._coerce_value_for_query_url`); and the step that seeds a widget from
the address (`SessionState._seed_widget_from_url`). Nothing else in the app names a private attribute
of Streamlit's state: it calls the functions below. `PRIVATE_NAMES` lists every private name used
here; tests/test_streamlit_internals.py checks each one against the installed Streamlit, so an
upgrade that moves one fails a test that names it, instead of silently hiding the page's notes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.state import query_params as _query_params_module
from streamlit.runtime.state.query_params import QueryParams, parse_url_param
from streamlit.runtime.state.safe_session_state import SafeSessionState
from streamlit.runtime.state.session_state import SessionState

# (owner, private name, what the app uses it for): every private name this module reads or replaces.
PRIVATE_NAMES: list[tuple[type | object, str, str]] = [
    (SafeSessionState, "_state", "the session state behind the thread-safe wrapper"),
    (QueryParams, "_bindings_by_param", "the page's URL-bound widgets, in the order it drew them"),
    (SessionState, "_key_id_mapper", "the widget id behind a widget's key"),
    (SessionState, "_new_widget_state", "a bound widget's serializer and value type"),
    (SessionState, "_new_session_state", "the value a link seeded into a widget"),
    (SessionState, "_seed_widget_from_url", "seeding a widget from the link, wrapped to refuse bad values"),
    (SessionState, "_clear_url_param", "clearing a link's refused value from the address"),
    (_query_params_module, "_coerce_value_for_query_url", "how the address writes a value"),
]
_LOGGER = logging.getLogger(__name__)


def missing_private_name(owner: type | object, name: str) -> bool:
    """Whether the installed Streamlit lacks `owner.name` (a class attribute, a dataclass field or a function)."""
    if hasattr(owner, name):
        return False
    fields = getattr(owner, "__dataclass_fields__", {})
    annotations = getattr(owner, "__annotations__", {})
    return name not in fields and name not in annotations


def _session_state() -> SessionState | None:
    context = get_script_run_ctx()
    return None if context is None else context.session_state._state


def address() -> QueryParams | None:
    """This run's query parameters (Streamlit's own object, with its bindings), or None outside a run."""
    state = _session_state()
    return None if state is None else state.query_params


def bound_parameters() -> list[str]:
    """The query parameters bound to a widget in this run, in the order the page created the widgets."""
    params = address()
    return [] if params is None else list(params._bindings_by_param)


def bound_widget(key: str):
    """Streamlit's record of the widget bound to `key` in this run (its value type and serializer), or None."""
    state = _session_state()
    if state is None:
        return None
    widget_id = state._key_id_mapper.get_id_from_key(key, None)
    if widget_id is None or not state.query_params.is_bound(key):
        return None
    return state._new_widget_state.widget_metadata.get(widget_id)


def url_form(value: Any, value_type: str) -> str | list[str]:
    """A widget's serialized value written as the address writes it."""
    return _query_params_module._coerce_value_for_query_url(value, value_type)


def parse_url_value(value: str | list[str], value_type: str) -> Any:
    """A value from the address read as a widget of `value_type` reads it (raises when it cannot)."""
    return parse_url_param(value, value_type)


def filter_values_seeded_from_url(keep: Callable[[Any, Any], bool], marker: str) -> None:
    """Wrap Streamlit's seeding of a widget from the address: a value `keep(metadata, value)` refuses (or
    whose conversion raises) is dropped as Streamlit drops an invalid one, the widget opening on its default.

    Installed once per process (`marker` is set on the wrapper so a second call does nothing).
    """
    seed = SessionState._seed_widget_from_url
    if getattr(seed, marker, False):
        return

    def seed_only_kept_values(self, metadata, user_key, widget_id, url_value):
        try:
            if not seed(self, metadata, user_key, widget_id, url_value):
                return False
            if keep(metadata, self._new_session_state[user_key]):
                return True
        except Exception as error:  # noqa: BLE001 - a link's value that fails to convert is refused, never raised.
            _LOGGER.debug("Refused the link's value for %r: %r", user_key, error)
        if widget_id in self._new_widget_state:
            del self._new_widget_state[widget_id]
        self._new_session_state.pop(user_key, None)
        self._clear_url_param(user_key)
        return False

    setattr(seed_only_kept_values, marker, True)
    SessionState._seed_widget_from_url = seed_only_kept_values
