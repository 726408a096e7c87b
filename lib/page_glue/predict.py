"""Predict before you press: the page's question above its Train button, and the prediction beside what
the runs showed under its run table. Works for one person; a room's board publishes `my_prediction` and
`prediction_outcome`.

The answer is kept in `st.session_state`, one per page, under a key of its own: the question's widget is
not a setting (it is in no page's settings table, so it is in no link), and once answered it is no longer
drawn. The box is always exactly one placeholder (`st.empty`), so that what follows it keeps its place
whether the question, the compact prediction or nothing is shown.
"""

from __future__ import annotations

import threading

import streamlit as st

from lib.app.predictions import Question, question_for
from lib.engine.training import page_runs


def _answer_key(page_key: str) -> str:
    return f"prediction::{page_key}"


def _widget_key(page_key: str) -> str:
    return f"prediction_choice::{page_key}"


def _stored(page_key: str) -> dict | None:
    """{"question": id, "answer": option or None (skipped)} for this page's current question, or None."""
    question = question_for(page_key)
    stored = st.session_state.get(_answer_key(page_key))
    if question is None or not stored or stored.get("question") != question.id:
        return None
    return stored


def my_prediction(page_key: str) -> tuple[str, str] | None:
    """(question id, answer) when this session answered the page's question, else None (skipped or not asked)."""
    stored = _stored(page_key)
    if stored is None or stored.get("answer") is None:
        return None
    return stored["question"], stored["answer"]


def prediction_outcome(page_key: str) -> str | None:
    """The option this session's runs on the page made true, or None while they cannot tell."""
    question = question_for(page_key)
    return None if question is None else question.outcome(page_runs(page_key))


def _choose(page_key: str, question: Question) -> None:
    answer = st.session_state.get(_widget_key(page_key))
    if answer is not None:
        st.session_state[_answer_key(page_key)] = {"question": question.id, "answer": answer}


def _skip(page_key: str, question: Question) -> None:
    st.session_state[_answer_key(page_key)] = {"question": question.id, "answer": None}


def _change(page_key: str) -> None:
    st.session_state.pop(_answer_key(page_key), None)


# The box drawn by this script run, per page: the run table's `prediction_result` redraws it once the
# press has made the page's first run (the question then gives way, without waiting for another rerun).
# Kept per thread: each script run draws in its own thread, and a box belongs to the run that drew it.
_drawn = threading.local()


def prediction_box(page_key: str) -> None:
    """Before the page's Train button: the question, until this session has a run on the page or answers it
    (pressing Train without answering is fine); once answered, the prediction in one line."""
    area = st.empty()
    boxes = getattr(_drawn, "boxes", None)
    if boxes is None:
        boxes = _drawn.boxes = {}
    boxes[page_key] = area
    _draw_box(area, page_key)


def _draw_box(area, page_key: str) -> None:
    question = question_for(page_key)
    if question is None:
        area.empty()
        return
    stored = _stored(page_key)
    has_runs = bool(page_runs(page_key))
    if stored is not None and stored["answer"] is not None:
        row = area.container(horizontal=True, vertical_alignment="center")
        row.markdown(f":material/psychology_alt: **Your prediction:** {stored['answer']}")
        if not has_runs:
            row.button(
                "Change", key=f"prediction_change::{page_key}", type="tertiary", on_click=_change, args=(page_key,)
            )
        return
    if stored is not None or has_runs:
        area.empty()
        return
    with area.container(border=True):
        st.radio(
            f"**Predict before you press.** {question.text}",
            question.options,
            index=None,
            horizontal=True,
            key=_widget_key(page_key),
            on_change=_choose,
            args=(page_key, question),
        )
        row = st.container(horizontal=True, vertical_alignment="center")
        row.caption("Your answer is shown beside what your run measures. Or just press Train without answering.")
        row.button(
            "Skip", key=f"prediction_skip::{page_key}", type="tertiary", on_click=_skip, args=(page_key, question)
        )


def prediction_result(page_key: str) -> None:
    """Under the run table: the prediction beside what the runs showed, marked right or wrong, with the
    figures it was read from; or what the runs still miss to answer."""
    runs = page_runs(page_key)
    area = getattr(_drawn, "boxes", {}).pop(page_key, None)
    if area is not None and runs:
        _draw_box(area, page_key)  # The press made the first run: the question above gives way at once.
    answer = my_prediction(page_key)
    question = question_for(page_key)
    if answer is None or question is None or not runs:
        return
    reading = question.reading(runs)
    predicted = answer[1]
    if reading.outcome is None:
        st.info(
            f"**You predicted:** {predicted}. Your runs cannot answer yet: {reading.figures}.",
            icon=":material/hourglass_top:",
        )
    elif reading.outcome == predicted:
        st.success(
            f"**You predicted:** {predicted}. **Your runs show:** {reading.outcome} ({reading.figures}). Right.",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"**You predicted:** {predicted}. **Your runs show:** {reading.outcome} ({reading.figures}). Not this time.",
            icon=":material/cancel:",
        )
