"""The workshop room's glue (#24): opening a room, joining and leaving it, publishing a participant's
runs and predictions, the instructor's preset notice; per session, in `st.session_state`.

A room is opt-in. An instructor opens one on the home page and gets two links: the participants'
(`?room=<code>`) and the board's (`board?room=<code>&key=<key>`). A participant who opens a room link
sees a join box above the page: a display name (or a generated one), what is shared (settings, runs'
curves and final figures, predictions; never uploads' contents), and a "Leave the room" button from then
on. Their runs are published as they train, through the engine's run listeners (lib/engine/training.py):
at most once a second per run while it trains, and once when it ends; what the page measures after a
run (its final figures) is published when the page has drawn.

Nothing here may break a page: a wrong or expired code, a full room, a rate limit or a store that cannot
be reached each get a note (or nothing, for a skipped publish), and the page works as without the room.
Display names are shown as text only (`st.text`, table cells), never as Markdown or HTML.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import secrets
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import streamlit as st

from lib.app.course import COURSE_PAGES
from lib.app.settings import (
    Drawn,
    Multiselect,
    NumberInput,
    Radio,
    SegmentedControl,
    Selectbox,
    SelectSlider,
    Setting,
    Slider,
    TextInput,
    Toggle,
)
from lib.app.url_settings import ROOM_PARAMETER, app_address, current_settings
from lib.app.url_settings import Preset as LinkPreset
from lib.data.room_store import (
    MAX_NAME_LENGTH,
    STORE_VARIABLE,
    NotAllowed,
    Prediction,
    Preset,
    PublishedRun,
    RateLimited,
    RoomError,
    RoomFull,
    RoomKeys,
    RoomNotFound,
    RoomStore,
    StoreUnavailable,
    open_store,
)
from lib.engine.training import TrainingRun, add_run_listener, page_runs, remove_run_listener
from lib.page_glue import predict

KEY_PARAMETER = "key"
BOARD_PATH = "app_pages/board.py"
# A run in training is published at most this often; its end is always published.
PUBLISH_SECONDS = 1.0
# After the store could not be reached, this session leaves it alone for this long.
RETRY_SECONDS = 20.0
LISTENER = "workshop_room"

MEMBERSHIP = "room::membership"
INSTRUCTING = "room::instructing"
OPENED = "room::opened"
PUBLISHED = "room::published"
DOWN_UNTIL = "room::down_until"
REFUSED = "room::refused"
PRESET_SEEN = "room::preset_seen"
MY_SETTINGS = "room::my_settings"
NOTE = "room::note"
INVITED = "room::invited"
LEAVING = "room::leaving"

WHAT_IS_SHARED = (
    "Joining shares with the room, under your display name: each run's settings, its curves and final "
    "figures, and your predictions. Never the contents of anything you upload. You can leave at any "
    "time; your runs leave the room with you (they stay on your page)."
)


@dataclass(frozen=True)
class Membership:
    code: str
    participant_id: str
    name: str


@dataclass
class Publication:
    """What this session last published of one run: its id in the room, what it showed, and when."""

    run: TrainingRun
    page: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    signature: tuple = ()
    at: float = 0.0


# --- The store, shared by the process ----------------------------------------------------------


@st.cache_resource(show_spinner=False)
def shared_store(url: str) -> RoomStore:
    """One store per store address for the whole process (a failure to open it is not cached)."""
    return open_store(url or None)


def store() -> RoomStore | None:
    """The room store, or None while it cannot be reached (the session then retries after RETRY_SECONDS)."""
    if time.monotonic() < st.session_state.get(DOWN_UNTIL, 0.0):
        return None
    try:
        return shared_store(os.environ.get(STORE_VARIABLE, ""))
    except (StoreUnavailable, OSError):
        store_down()
        return None


def store_down() -> None:
    st.session_state[DOWN_UNTIL] = time.monotonic() + RETRY_SECONDS


def store_is_down() -> bool:
    return time.monotonic() < st.session_state.get(DOWN_UNTIL, 0.0)


STORE_DOWN_NOTE = (
    "The workshop room cannot be reached just now. This page works as without the room, and nothing you "
    "train is lost: your runs are published when the room is back."
)


# --- Names -------------------------------------------------------------------------------------

ADJECTIVES = ["Brave", "Curious", "Patient", "Quick", "Quiet", "Bright", "Steady", "Clever", "Gentle", "Bold"]
ANIMALS = ["Otter", "Heron", "Lynx", "Badger", "Falcon", "Gecko", "Marten", "Puffin", "Ibex", "Wren"]


def generated_name() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)} {secrets.randbelow(90) + 10}"


def clean_name(name: str) -> str:
    """A display name as the room keeps it: printable characters, spaces collapsed, at most MAX_NAME_LENGTH."""
    kept = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable())
    return re.sub(r"\s+", " ", kept).strip()[:MAX_NAME_LENGTH]


# --- Addresses ---------------------------------------------------------------------------------


def participant_link(code: str) -> str:
    return f"{app_address()}/?{urlencode({ROOM_PARAMETER: code})}"


def board_link(keys: RoomKeys) -> str:
    return f"{app_address()}/board?{urlencode({ROOM_PARAMETER: keys.code, KEY_PARAMETER: keys.instructor_key})}"


def course_page(page_key: str):
    return next((page for page in COURSE_PAGES if page.url_path == page_key), None)


# --- Opening a room (home page) ----------------------------------------------------------------


def open_room_box() -> None:
    """The home page's "Open a workshop room": creates a room and shows its two links."""
    with st.container(border=True):
        st.markdown(
            "**A workshop room** lets the instructor see the whole room's runs on one board, live: every "
            "participant's curves overlaid, one colour per setting, and their predictions tallied against "
            "what happened. Nobody's runs change anybody else's; joining is each participant's choice."
        )
        if st.button("Open a workshop room", icon=":material/groups:", key="room::open"):
            found = store()
            if found is None:
                st.warning(STORE_DOWN_NOTE, icon=":material/cloud_off:")
            else:
                try:
                    keys = found.create_room()
                except StoreUnavailable:
                    store_down()
                    st.warning(STORE_DOWN_NOTE, icon=":material/cloud_off:")
                else:
                    st.session_state[OPENED] = keys
                    st.session_state.setdefault(INSTRUCTING, {})[keys.code] = keys.instructor_key
                    # The navigation (built before this page) shows the board from the next run on.
                    st.rerun()
        keys = st.session_state.get(OPENED)
        if keys is not None:
            st.markdown("**The participants' link** (send it to the room; it opens the app in the room):")
            st.code(participant_link(keys.code), language=None)
            st.markdown("**Your board's link** (open it on the projector):")
            st.code(board_link(keys), language=None)
            st.warning(
                "Keep the board's link to yourself: its key lets whoever has it see the board and send "
                "presets to the room. The participants' link carries only the room's code. The board takes "
                "the key out of its address bar once opened, so the projector does not show it.",
                icon=":material/key:",
            )
            st.page_link(BOARD_PATH, label="Open the board here", icon=":material/dashboard:")


# --- The participant's side: join, leave, the preset notice ------------------------------------


# The room bar this script run drew (each run draws in its own thread).
_bar = threading.local()


def membership() -> Membership | None:
    return st.session_state.get(MEMBERSHIP)


def room_bar(page_key: str | None) -> None:
    """Above every page but the board: the join box for a room link, or the room's bar once joined,
    the instructor's preset notice, and what is still to publish. `page_key` is the course page's key
    (None on the home page)."""
    _bar.note = None
    note = st.session_state.pop(NOTE, None)
    if note is not None:
        st.info(note, icon=":material/groups:")
    # A participant who left while the store was unreachable: tell the room now that it is back.
    if (gone := st.session_state.get(LEAVING)) is not None and not store_is_down() and tell_room_of_leaving(gone):
        del st.session_state[LEAVING]
    member = membership()
    # A room link's code is kept for the session: moving to another page drops the address's query.
    asked = st.query_params.get(ROOM_PARAMETER)
    if asked:
        st.session_state[INVITED] = asked
    elif member is None:
        asked = st.session_state.get(INVITED)
    if member is None and asked:
        join_box(asked)
        return
    if member is None:
        return
    # Page links drop the query; the room's code stays in the address, so the page's share link carries it.
    if asked != member.code:
        st.query_params[ROOM_PARAMETER] = member.code
    # The engine tells this session's runs to the room while it is in one (removed when it leaves).
    add_run_listener(LISTENER, publish_listener)
    member_bar(member)
    if membership() is None:
        return
    preset_notice(member)
    publish_known()


def join_box(code: str) -> None:
    if st.session_state.get(REFUSED) == code:
        return
    found = store()
    if found is None:
        st.info(STORE_DOWN_NOTE, icon=":material/cloud_off:")
        return
    try:
        exists = found.room_exists(code)
    except StoreUnavailable:
        store_down()
        st.info(STORE_DOWN_NOTE, icon=":material/cloud_off:")
        return
    if not exists:
        refuse(code)
        st.warning(
            "This link's workshop room was not found: its code is wrong, or the room has expired. "
            "The page works as usual, without a room; ask the instructor for the current link.",
            icon=":material/link_off:",
        )
        return
    box = st.empty()
    with box.container(border=True):
        st.markdown("**You opened a workshop room's link.** " + WHAT_IS_SHARED)
        name = st.text_input(
            "Your display name on the instructor's board",
            max_chars=MAX_NAME_LENGTH,
            placeholder="Leave empty for a generated name",
            key="room::name",
        )
        row = st.container(horizontal=True)
        join = row.button("Join the room", type="primary", icon=":material/login:", key="room::join")
        later = row.button("Not now", key="room::not_now")
    if later:
        refuse(code)
        box.empty()
        return
    if not join:
        return
    chosen = clean_name(name or "") or generated_name()
    try:
        participant = found.join(code, chosen)
    except RoomNotFound:
        message = "The room has just expired or closed: the page works as usual, without a room."
    except RoomFull:
        message = "The room is full: the page works as usual, without a room."
    except StoreUnavailable:
        store_down()  # the box stays: the participant may join once the room is back
        st.info(STORE_DOWN_NOTE, icon=":material/cloud_off:")
        return
    else:
        st.session_state[MEMBERSHIP] = Membership(code, participant.participant_id, participant.name)
        st.session_state[PUBLISHED] = {}
        add_run_listener(LISTENER, publish_listener)
        box.empty()
        member_bar(membership())
        return
    box.empty()
    refuse(code)
    st.warning(message, icon=":material/groups:")


def refuse(code: str) -> None:
    """This session goes on without the room of this link (the address keeps no room code)."""
    st.session_state[REFUSED] = code
    if ROOM_PARAMETER in st.query_params:
        del st.query_params[ROOM_PARAMETER]


def member_bar(member: Membership) -> None:
    bar = st.container(border=True, horizontal=True, vertical_alignment="center")
    # The name as text: a name is never Markdown or HTML.
    bar.text(f"Workshop room · you take part as {member.name}")
    bar.caption(
        "Shared with the room: your runs' settings, curves and final figures, and your predictions; "
        "never uploads' contents."
    )
    # Filled now, or after the page (`after_page`) if publishing its runs found the store unreachable.
    _bar.note = bar.empty()
    if store_is_down():
        _bar.note.caption(STORE_DOWN_NOTE)
    if bar.button("Leave the room", icon=":material/logout:", key="room::leave"):
        leave()


def leave() -> None:
    """This session leaves its room: everything it published leaves with it; its runs stay on its pages."""
    member = st.session_state.pop(MEMBERSHIP, None)
    st.session_state[PUBLISHED] = {}
    remove_run_listener(LISTENER)
    if ROOM_PARAMETER in st.query_params:
        del st.query_params[ROOM_PARAMETER]
    if member is None:
        return
    st.session_state[REFUSED] = member.code
    if tell_room_of_leaving(member):
        st.session_state[NOTE] = "You left the workshop room: the board no longer shows your runs. They stay here."
    else:
        st.session_state[LEAVING] = member
        st.session_state[NOTE] = (
            "You left the room here; the room cannot be reached just now, so your runs leave its board as "
            "soon as it can be told (while this tab stays open)."
        )
    st.rerun()


def tell_room_of_leaving(member: Membership) -> bool:
    """Whether the room now knows the participant left (or no longer exists)."""
    found = store()
    if found is None:
        return False
    try:
        found.leave(member.code, member.participant_id)
    except RoomNotFound:
        return True
    except StoreUnavailable:
        store_down()
        return False
    except RoomError:
        return False
    return True


def preset_notice(member: Membership) -> None:
    """The instructor's next setting, sent to the room: a notice with its link, until seen."""
    found = store()
    if found is None:
        return
    try:
        preset = found.preset(member.code)
    except StoreUnavailable:
        store_down()
        return
    except RoomNotFound:
        room_gone()
        return
    target = course_page(preset.page) if preset is not None else None
    if target is None or st.session_state.get(PRESET_SEEN) == (preset.page, preset.query):
        return
    query = dict(parse_qsl(preset.query, keep_blank_values=True))
    query[ROOM_PARAMETER] = member.code
    with st.container(border=True):
        st.markdown(f"**The instructor sent the room a setting** for *{target.title}*:")
        st.code(f"{app_address()}/{target.url_path}?{urlencode(query)}", language=None)
        row = st.container(horizontal=True)
        if row.button("Open it here", type="primary", icon=":material/open_in_browser:", key="room::preset_open"):
            st.session_state[PRESET_SEEN] = (preset.page, preset.query)
            take_settings(preset.page, preset.query)
            st.switch_page(target.path, query_params={ROOM_PARAMETER: member.code})
        if row.button("Dismiss", key="room::preset_dismiss"):
            st.session_state[PRESET_SEEN] = (preset.page, preset.query)
            st.rerun()


def take_settings(page_key: str, query: str) -> None:
    """Put a link's settings into this session's widgets of the page, as opening the link would (every
    setting the link leaves out at its default), without leaving the session: the room, the runs and the
    models stay. Streamlit lets no page write a URL-bound parameter, so the widgets' values are set, each
    read from the link as the page's settings table declares it; a value the table refuses is left out."""
    try:
        table = importlib.import_module(f"lib.page_glue.settings.{page_key}").SETTINGS
    except (ImportError, AttributeError):
        return
    asked: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        asked.setdefault(key, []).append(value)
    for key, setting in table.settings.items():
        value = typed_value(setting, asked[key]) if key in asked else None
        if value is None:
            st.session_state.pop(key, None)  # back to its default
        else:
            st.session_state[key] = value
    # The page's link then reads this visit's address as its request, with no note on the old one.
    st.session_state.pop(f"link_request_{page_key}", None)
    st.session_state.pop(f"link_request_{page_key}_notes", None)


def typed_value(setting: Setting, asked: list[str]) -> Any:
    """A link's value for a declared setting as its widget holds it, or None when the table refuses it."""
    if setting.problem(asked if len(asked) > 1 else asked[0]) is not None:
        return None
    if isinstance(setting, Toggle):
        return asked[0] == "true"
    if isinstance(setting, (Slider, NumberInput)):
        number = float(asked[0])
        declared = [setting.min_value, setting.max_value, setting.value, setting.step]
        whole = all(isinstance(v, int) for v in declared if v is not None and not isinstance(v, Drawn))
        return int(number) if whole else number
    if isinstance(setting, (Selectbox, Radio, SelectSlider, SegmentedControl, Multiselect)):
        if isinstance(setting.options, Drawn):
            return None
        by_label = dict(zip(setting.labels(), setting.options))
        many = isinstance(setting, Multiselect) or getattr(setting, "selection_mode", "single") == "multi"
        return [by_label[item] for item in asked] if many else by_label[asked[0]]
    if isinstance(setting, TextInput):
        return asked[0]
    return None


def room_gone() -> None:
    st.session_state.pop(MEMBERSHIP, None)
    remove_run_listener(LISTENER)
    if ROOM_PARAMETER in st.query_params:
        del st.query_params[ROOM_PARAMETER]
    st.session_state[NOTE] = "The workshop room has expired or was closed: the page works as usual, without a room."


# --- Publishing ----------------------------------------------------------------------------------

RUN_SUFFIX = re.compile(r" · run \d+$")


def plain(value: Any) -> Any:
    """A setting's value as the store keeps it (JSON): numbers, text, truth values; anything else as text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return str(value)


def curves(run: TrainingRun) -> dict[str, list[float]]:
    """A run's values per epoch, named as Keras names them: `loss`, `val_loss`, `accuracy`, ..."""
    found: dict[str, list[float]] = {}
    for row in run.epoch_rows:
        name = row["metric"] if row["split"] == "train" else f"val_{row['metric']}"
        found.setdefault(name, []).append(float(row["value"]))
    return found


def final_figures(run: TrainingRun, curve: dict[str, list[float]]) -> dict[str, float]:
    """The last value of each curve, and every number the page measured after the run (a test error, BLEU)."""
    figures = {name: values[-1] for name, values in curve.items() if values and math.isfinite(values[-1])}
    for name, value in run.results.items():
        if isinstance(value, bool) or not (isinstance(value, (int, float)) or type(value).__module__ == "numpy"):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            figures[name] = number
    return figures


def published_run(member: Membership, publication: Publication) -> PublishedRun:
    run = publication.run
    curve = curves(run)
    return PublishedRun(
        participant_id=member.participant_id,
        page=publication.page,
        run_id=publication.run_id,
        label=RUN_SUFFIX.sub("", run.label),
        settings={str(key): plain(value) for key, value in run.settings.items()},
        curve=curve,
        final=final_figures(run, curve),
        status=run.status,
    )


def publications() -> dict[int, Publication]:
    return st.session_state.setdefault(PUBLISHED, {})


def publish_listener(page_key: str, run: TrainingRun) -> None:
    """The engine's run listener: publish a run in training at most once a second, its end at once."""
    publish(page_key, run, throttle=True)


def publish(page_key: str, run: TrainingRun, throttle: bool = False) -> None:
    member = membership()
    if member is None:
        return
    known = publications()
    publication = known.get(id(run))
    if publication is None or publication.run is not run:
        publication = known[id(run)] = Publication(run, page_key)
    signature = (run.status, len(run.epoch_rows), tuple(sorted(final_figures(run, {}))))
    if signature == publication.signature:
        return
    now = time.monotonic()
    if throttle and run.status == "training" and now - publication.at < PUBLISH_SECONDS:
        return
    found = store()
    if found is None:
        return  # published when the store is back: the signature still differs
    publication.at = now
    if written(lambda: found.publish_run(member.code, published_run(member, publication))):
        publication.signature = signature


def publish_known() -> None:
    """Publish what changed since last time in every run this session has published (a run stopped,
    a page's measurement after its run)."""
    for publication in list(publications().values()):
        publish(publication.page, publication.run)


def after_page(page_key: str | None) -> None:
    """After the page has drawn: publish its runs (with what it measured after them) and the session's
    prediction; and for an instructor, remember the page's settings for the board's preset."""
    if page_key is None:
        return
    if st.session_state.get(INSTRUCTING):
        st.session_state.setdefault(MY_SETTINGS, {})[page_key] = urlencode(current_settings(), doseq=True)
    member = membership()
    if member is None:
        return
    runs = page_runs(page_key)
    for run in runs:
        publish(page_key, run)
    # A run the page no longer keeps (cleared, or past its runs' limit) changes no more: forget it here.
    known = publications()
    for key, publication in list(known.items()):
        if publication.page == page_key and not any(run is publication.run for run in runs):
            del known[key]
    publish_prediction(member, page_key)
    note = getattr(_bar, "note", None)
    if store_is_down() and note is not None:
        note.caption(STORE_DOWN_NOTE)


def publish_prediction(member: Membership, page_key: str) -> None:
    try:
        mine = predict.my_prediction(page_key)
        outcome = predict.prediction_outcome(page_key) if mine is not None else None
    except Exception:
        return  # the prediction glue's own trouble is not the room's
    if mine is None:
        return
    question, answer = mine
    signature = (page_key, str(question), str(answer), outcome)
    sent = st.session_state.setdefault("room::predictions_sent", set())
    if signature in sent:
        return
    found = store()
    if found is None:
        return
    prediction = Prediction(
        member.participant_id, page_key, str(question), str(answer), None if outcome is None else str(outcome)
    )
    if written(lambda: found.record_prediction(member.code, prediction)):
        sent.add(signature)


def written(write: Callable[[], object]) -> bool:
    """Make one write of this session's to the room's store; False when it did not happen. A write
    refused by the rate limit is left for later (the next epoch or page run sends it again); a store
    that is down, or a room that is gone, is said to the participant once."""
    try:
        write()
    except RateLimited:
        return False
    except StoreUnavailable:
        store_down()
        return False
    except (RoomNotFound, NotAllowed):
        room_gone()
        return False
    return True


# --- The instructor's side ---------------------------------------------------------------------


def instructing() -> dict[str, str]:
    """The rooms this session instructs: code → instructor key."""
    return st.session_state.setdefault(INSTRUCTING, {})


def is_instructor_session() -> bool:
    return bool(st.session_state.get(INSTRUCTING))


def board_access() -> tuple[RoomStore, str, str] | str:
    """(store, code, key) when this session may see a room's board, else why not (a sentence).

    The board's link carries `room` and `key`; the key is then kept in the session and taken out of
    the address bar. A participant link (no key) or a wrong key never gives the board."""
    code = st.query_params.get(ROOM_PARAMETER)
    key = st.query_params.get(KEY_PARAMETER)
    rooms = instructing()
    if not code and rooms:
        code = next(reversed(rooms))
    if not code:
        return (
            "The board needs a room: open one on the home page (**Open a workshop room**), then open the "
            "board's link it gives you."
        )
    key = key or rooms.get(code)
    if not key:
        return (
            "This is the instructor's board: it needs the instructor's key, which is in the board's link "
            "only. A participant's link does not open it."
        )
    found = store()
    if found is None:
        return STORE_DOWN_NOTE
    try:
        if not found.room_exists(code):
            return "No room has this code: it is wrong, or the room has expired."
        allowed = found.is_instructor(code, key)
    except StoreUnavailable:
        store_down()
        return STORE_DOWN_NOTE
    if not allowed:
        return "The key in this link is not this room's instructor key, so the board stays closed."
    rooms[code] = key
    if KEY_PARAMETER in st.query_params:
        del st.query_params[KEY_PARAMETER]
    if st.query_params.get(ROOM_PARAMETER) != code:
        st.query_params[ROOM_PARAMETER] = code
    return found, code, key


def my_page_settings(page_key: str) -> str | None:
    """This session's settings on a page when it last drew it (the query its share link would carry)."""
    return st.session_state.get(MY_SETTINGS, {}).get(page_key)


def preset_from_link(link: str) -> tuple[str | None, str]:
    """A pasted share link's page (None when its path names no course page) and its settings' query,
    without any room code or key."""
    parts = urlsplit(link.strip())
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    page = course_page(last)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in (ROOM_PARAMETER, KEY_PARAMETER)
    ]
    return (page.url_path if page is not None else None), urlencode(query)


def link_problems(page_key: str, query: str) -> list[str]:
    """What in a link's settings the page's controls cannot take (its settings table says), as sentences."""
    try:
        table = importlib.import_module(f"lib.page_glue.settings.{page_key}").SETTINGS
    except (ImportError, AttributeError):
        return []
    asked: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        asked.setdefault(key, []).append(value)
    settings = {key: values[0] if len(values) == 1 else values for key, values in asked.items()}
    problems = table.preset_problems(LinkPreset("pasted", "", settings))
    return [problem.removeprefix("- preset 'pasted': ") for problem in problems]


def send_preset(found: RoomStore, code: str, key: str, page_key: str, query: str) -> str | None:
    """Send the room a page and its settings; None when sent, else why not."""
    try:
        found.send_preset(code, key, Preset(page_key, query))
    except NotAllowed:
        return "The room did not take it: this key is not the room's instructor key."
    except RoomNotFound:
        return "The room has expired."
    except StoreUnavailable:
        store_down()
        return STORE_DOWN_NOTE
    return None
