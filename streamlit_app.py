"""RNN Playground's entry point: the page configuration and the navigation, in the order of the course."""

from pathlib import Path

import streamlit as st

from lib.app.course import BOARD, COURSE_PAGES, HOME
from lib.engine.cpus import size_tensorflow_thread_pools
from lib.engine.parse_lock import serialize_python_parsing
from lib.engine.streamlit_patches import collect_garbage_within_budget, keep_keras_state_between_reruns
from lib.page_glue import room
from lib.page_glue.warm_up import enabled as warm_up_enabled
from lib.page_glue.warm_up import ensure_tensorflow, start_warm_up, tensorflow_ready

# TensorFlow sizes its thread pools once, when it starts, to the host's cores; a container's CPU quota
# is what this process may use (lib/engine/cpus.py). Set before any page or the warm-up imports Keras.
size_tensorflow_thread_pools()

# Python 3.11 cannot parse in two threads at once; pages, autograph and tracebacks all parse (see the module).
serialize_python_parsing()

# Streamlit would otherwise reset Keras for every session after each rerun (see the module).
keep_keras_state_between_reruns()
# ... and collect all garbage after every run of every session (see the module).
collect_garbage_within_budget()

# The tab icon ships with the app (assets/icon.png, drawn by the project): a :material/ icon there
# is fetched from a font host, which a workshop room without internet cannot reach.
st.set_page_config(
    page_title="RNN Playground", page_icon=str(Path(__file__).parent / "assets" / "icon.png"), layout="wide"
)

# The first page view of the process starts filling the shared caches in the background (lib/page_glue/warm_up.py).
if warm_up_enabled():
    start_warm_up()

sections: dict[str, list] = {"": [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]}
for course_page in COURSE_PAGES:
    sections.setdefault(course_page.section, []).append(
        st.Page(course_page.path, title=course_page.title, icon=course_page.icon)
    )

# The workshop room's board: listed only for a session that instructs a room (see lib/app/course.py).
instructor = room.is_instructor_session()
board = st.Page(BOARD.path, title=BOARD.title, icon=BOARD.icon, visibility="visible" if instructor else "hidden")
sections.setdefault(BOARD.section if instructor else "", []).append(board)

page = st.navigation(sections)
if page.title not in (HOME.title, BOARD.title) and not tensorflow_ready():
    # Every course page uses TensorFlow; it is imported here, once and under a lock (lib/page_glue/warm_up.py),
    # never by two threads at once. The home page goes without it.
    with st.spinner("Loading TensorFlow (once per server)…"):
        ensure_tensorflow()
# A workshop room's join box or bar above every page but the board, and its publishing after the page.
page_key = next((course_page.url_path for course_page in COURSE_PAGES if course_page.title == page.title), None)
if page.title != BOARD.title:
    room.room_bar(page_key)
page.run()
if page.title != BOARD.title:
    room.after_page(page_key)
