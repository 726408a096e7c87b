"""Home: the course map, one card per page, and how to run a workshop with the playground."""

import streamlit as st

from lib.app.course import COURSE_PAGES
from lib.page_glue.room import open_room_box

st.title("RNN Playground")
st.markdown(
    "A course on recurrent networks you can touch: from parameter sharing in MLPs and ConvNets, "
    "through recurrence and backpropagation through time, to sequence-to-sequence models. "
    "Every page builds a **real Keras model** and trains it **live** in front of you, and says "
    "what it measured."
)

st.header("Course map")
# One row of columns per CARDS_PER_ROW pages, filled in the course's order: a narrow screen stacks
# each row's columns, so the cards still read 1, 2, 3, 4, ... (three columns filled side by side
# stacked into 1, 4, 7, 2, 5, ... on a phone).
CARDS_PER_ROW = 3
for row_start in range(0, len(COURSE_PAGES), CARDS_PER_ROW):
    row = COURSE_PAGES[row_start : row_start + CARDS_PER_ROW]
    for index, (column, course_page) in enumerate(zip(st.columns(CARDS_PER_ROW), row), start=row_start):
        with column.container(border=True, height="stretch", key=f"course_card_{index}"):
            st.caption(f"{index + 1} · Notes: {course_page.notes_section}")
            st.subheader(course_page.title)
            st.markdown(course_page.question)
            st.page_link(course_page.path, label=f"Open {course_page.title}", icon=course_page.icon)

st.header("Using it in a workshop")
st.markdown(
    """
- **Follow the course order** in the sidebar: each page makes one section of the notes tangible,
  and its first screen opens on the notes' own example.
- **Everyone trains their own model.** Each browser tab has its own models and curves; nobody's
  slider changes anybody else's run. Press **Train**, watch the curves, change one setting, train
  again: the runs overlay on one chart, labelled by their settings.
- **Send a link, not instructions.** Every setting is in the page's address: *Share these
  settings*, under each page's title, gives the link to copy, and a few presets that each show one
  point of the notes. Whoever opens it gets the same settings and trains their own model.
- **Stop is safe.** Stop (or moving a slider mid-training) ends the run after the current batch and
  keeps what it learned so far.
- **A full room shares the CPU.** Only a few trainings run at once on the host; if you see
  *Queued*, your run starts as soon as a slot frees up.
"""
)

st.subheader("A workshop room: the whole room's results on one board")
open_room_box()
