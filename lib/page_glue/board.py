"""The room's board (#24), drawn for the instructor's key: app_pages/board.py calls `draw_board`.

One course page at a time: every participant's runs overlaid (one colour per setting label, not per
person), the setting that varies across the room against what the runs measured, the predictions tallied
against what the runs showed, and a control that sends the room the instructor's next setting. The live
part refreshes itself every REFRESH_SECONDS (`st.fragment(run_every=...)`) and reads the store three
times per refresh. Everything a participant wrote (a name, a setting's text) is shown as text: in table
cells, `st.text`, charts, or escaped Markdown.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from lib.app.course import COURSE_PAGES
from lib.app.predictions import question_for
from lib.app.presets import PRESETS
from lib.data.room_store import Prediction, PublishedRun, RoomNotFound, RoomStore, StoreUnavailable
from lib.engine.charts import METRIC_TITLES, draw_room_curves, room_scatter_chart, show
from lib.page_glue import room

REFRESH_SECONDS = 2
# Figures where higher is better; for any other (a loss, an error) lower is better.
HIGHER_IS_BETTER = ("accuracy", "bleu", "exact", "match")
# Final figures the scatter offers first, in this order, when a page's runs have them.
PREFERRED_FIGURES = ("test_mae", "test_error", "bleu", "val_accuracy", "val_loss", "accuracy", "loss")
# Settings that name a draw or a press rather than a choice: offered last, never a colour.
IDENTIFIERS = ("seed", "press")
PANELS = 4


def escaped(text: object) -> str:
    """Text a participant's session wrote, made safe inside Markdown (it shows as typed)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", str(text))


def higher_is_better(name: str) -> bool:
    return any(word in name.lower() for word in HIGHER_IS_BETTER)


def figure_title(name: str) -> str:
    """A final figure's name as the board writes it: `val_accuracy` is "Accuracy (validation)"."""
    base = name.removeprefix("val_")
    title = METRIC_TITLES.get(base, base.replace("_", " "))
    return f"{title} (validation)" if name.startswith("val_") else title


def curves_frame(runs: list[PublishedRun]) -> pd.DataFrame:
    """The runs' curves in long form (run_id, label, metric, split, epoch, value) for the overlay."""
    rows = [
        {
            "run_id": run.run_id,
            "label": run.label,
            "metric": name.removeprefix("val_"),
            "split": "validation" if name.startswith("val_") else "train",
            "epoch": index + 1,
            "value": value,
        }
        for run in runs
        for name, values in run.curve.items()
        for index, value in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["run_id", "label", "metric", "split", "epoch", "value"])


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def varying_settings(runs: list[PublishedRun]) -> list[str]:
    """The settings whose value differs between the runs: numbers first (they make an axis), then
    choices (the model, say), identifiers (seed, press) last."""
    keys = list(dict.fromkeys(key for run in runs for key in run.settings))
    varying = [key for key in keys if len({repr(run.settings.get(key)) for run in runs}) > 1]

    def rank(key: str) -> tuple[bool, bool]:
        return key in IDENTIFIERS, not all(is_number(run.settings.get(key)) for run in runs)

    return sorted(varying, key=rank)


def common_figures(runs: list[PublishedRun]) -> list[str]:
    """The final figures every run has, the most telling first (a test error before a training loss)."""
    figures = [
        name for name in dict.fromkeys(f for run in runs for f in run.final) if all(name in run.final for run in runs)
    ]
    return [name for name in PREFERRED_FIGURES if name in figures] + [f for f in figures if f not in PREFERRED_FIGURES]


def scatter_reading(frame: pd.DataFrame, x: str, y: str) -> str:
    """Which value of the setting did best on average, and the others' means: read from the runs' numbers."""
    means = frame.groupby("x")["y"].mean()
    best = means.idxmax() if higher_is_better(y) else means.idxmin()
    others = "; ".join(f"{escaped(value)}: {mean:.4g}" for value, mean in means.items() if value != best)
    return (
        f"Across {len(frame)} finished runs, {escaped(x)} = {escaped(best)} gave the "
        f"{'highest' if higher_is_better(y) else 'lowest'} mean {figure_title(y).lower()}: {means[best]:.4g} "
        f"(over {int((frame['x'] == best).sum())} run(s))" + (f"; {others}." if others else ".")
    )


def draw_scatter(runs: list[PublishedRun], label_order: list[str]) -> None:
    """The setting that varies against the measured result, one point per finished run. Coloured by the
    runs' settings, a label keeps the colour the curves give it (`label_order`: the curves' labels)."""
    varying, figures = varying_settings(runs), common_figures(runs)
    if not varying or not figures:
        st.caption(
            "The scatter appears once the room's finished runs differ in a setting: so far they were all "
            "trained with the same settings."
            if not varying
            else "The finished runs have no final figure in common yet."
        )
        return
    columns = st.columns(2)
    x = columns[0].selectbox("Setting that varies", varying, key="board::x")
    y = columns[1].selectbox("Measured result", figures, format_func=figure_title, key="board::y")
    # Coloured by another choice that varies (the model, say), else by the runs' settings as the curves are.
    series = next((key for key in varying if key != x and key not in IDENTIFIERS), None)
    frame = pd.DataFrame(
        {
            "x": [run.settings.get(x) for run in runs],
            "y": [run.final[y] for run in runs],
            "label": [run.label for run in runs],
            "series": [str(run.settings.get(series)) if series else run.label for run in runs],
        }
    )
    numeric = all(is_number(value) for value in frame["x"])
    if not numeric:
        frame["x"] = frame["x"].astype(str)
    chart = room_scatter_chart(
        frame,
        "x",
        "y",
        "series",
        x_numeric=numeric,
        x_title=x,
        y_title=figure_title(y),
        series_title=series or "Setting",
        series_order=None if series else label_order,
    )
    show(st, chart, width="stretch")
    st.caption(scatter_reading(frame, x, y))


def prediction_tally(predictions: list[Prediction], options: list[str]) -> pd.DataFrame:
    """Per answer: how many predicted it, how many runs showed it, how many predicted it and were right."""
    told = [p for p in predictions if p.outcome is not None]
    options = options + [a for a in dict.fromkeys(p.answer for p in predictions) if a not in options]
    return pd.DataFrame(
        [
            {
                "Answer": option,
                "Predicted by": sum(p.answer == option for p in predictions),
                "Runs showed it": sum(p.outcome == option for p in told),
                "Predicted it and right": sum(p.answer == option == p.outcome for p in told),
            }
            for option in options
        ]
    )


def draw_predictions(page_key: str, predictions: list[Prediction]) -> None:
    question = question_for(page_key)
    asked = [p for p in predictions if question is None or p.question == question.id]
    if question is not None:
        st.markdown(f"*{question.text}*")
    if not asked:
        st.caption("No prediction yet on this page.")
        return
    # Answers as table cells: text, whatever a session sent.
    st.dataframe(prediction_tally(asked, list(question.options) if question else []), hide_index=True)
    told = [p for p in asked if p.outcome is not None]
    if told:
        right = sum(p.answer == p.outcome for p in told)
        shown = pd.Series([p.outcome for p in told]).value_counts()
        st.caption(
            f"{right} of {len(told)} predictions with a finished run matched what the run showed. The runs showed: "
            + ", ".join(f"{escaped(answer)} ({count})" for answer, count in shown.items())
            + "."
        )
    else:
        st.caption(f"{len(asked)} prediction(s); no run has finished to tell yet.")


def draw_runs(runs: list[PublishedRun], names: dict[str, str], page_title: str) -> list[str]:
    """The room's curves overlaid and its runs' table; returns the curves' labels in their colours' order."""
    if not runs:
        st.info(
            f"No run on {page_title} yet: the runs appear here as participants train.",
            icon=":material/hourglass_empty:",
        )
        return []
    frame = curves_frame(runs)
    if not frame.empty:
        draw_room_curves(st, frame, list(dict.fromkeys(frame["metric"]))[:PANELS])
    # Names as table cells: text, never Markdown or HTML.
    st.dataframe(
        pd.DataFrame(
            [
                {"Participant": names.get(run.participant_id, "(left)"), "Run": run.label, "Status": run.status}
                | {figure_title(name): value for name, value in run.final.items()}
                for run in runs
            ]
        ),
        hide_index=True,
    )
    return list(dict.fromkeys(frame["label"]))


@st.fragment(run_every=REFRESH_SECONDS)
def live_board(found: RoomStore, code: str, page_key: str, page_title: str) -> None:
    """The part that refreshes itself: counts, the runs, the scatter, the predictions, who is in the room."""
    try:
        participants = found.participants(code)
        runs = found.runs(code, page_key)
        predictions = found.predictions(code, page_key)
    except RoomNotFound:
        st.warning("The room has expired.", icon=":material/timer_off:")
        return
    except StoreUnavailable:
        st.warning(room.STORE_DOWN_NOTE, icon=":material/cloud_off:")
        return
    counts = st.columns(3)
    counts[0].metric("Participants", len(participants))
    counts[1].metric(f"Runs on {page_title}", len(runs))
    counts[2].metric("Training now", sum(run.status == "training" for run in runs))
    st.subheader("The room's runs")
    label_order = draw_runs(runs, {p.participant_id: p.name for p in participants}, page_title)
    st.subheader("The setting that varies, against what it measured")
    draw_scatter([run for run in runs if run.status != "training" and run.final], label_order)
    st.subheader("Predictions against what happened")
    draw_predictions(page_key, predictions)
    if participants:
        st.caption("In the room:")
        st.text(", ".join(participant.name for participant in participants))


def preset_sender(found: RoomStore, code: str, key: str, titles: dict[str, str]) -> None:
    """ "Send this preset to the room": a page and a link (a preset of the page, the instructor's own
    settings on it, or a pasted share link), checked against the page's settings table, then sent."""
    st.caption(
        "Every participant's page shows a notice with this link at its next rerun; they open it with one "
        "click, in the room, and train their own run on it."
    )
    target_title = st.selectbox("Page", list(titles), key="board::preset_page")
    target = titles[target_title]
    sources = ["A preset of the page", "My current settings on that page", "Paste a share link"]
    source = st.radio("Link", sources, key="board::preset_source", horizontal=True)
    query, problem = None, None
    if source == sources[0]:
        presets = PRESETS.get(target, [])
        if presets:
            preset = st.selectbox("Preset", presets, format_func=lambda p: p.name, key="board::preset_name")
            st.caption(preset.shows)
            query = preset.query()
        else:
            problem = f"{target_title} has no presets; paste a share link instead."
    elif source == sources[1]:
        query = room.my_page_settings(target)
        if query is None:
            problem = f"Open {target_title} in this tab first, set it as you want, then come back here."
    else:
        pasted = st.text_input("Share link (from a page's *Share these settings*)", key="board::preset_link")
        if pasted:
            linked_page, query = room.preset_from_link(pasted)
            if linked_page is not None and linked_page != target:
                target, target_title = linked_page, room.course_page(linked_page).title
                st.caption(f"The link is to {target_title}: it is sent for that page.")
    if query is not None and (refused := room.link_problems(target, query)):
        problem = "This link asks for what the page cannot take, so it is not sent: " + "; ".join(refused)
        query = None
    if problem:
        st.caption(problem)
    if query is None:
        return
    st.code(f"{target}?{query}" if query else target, language=None)
    if st.button("Send to the room", type="primary", icon=":material/send:", key="board::send"):
        why_not = room.send_preset(found, code, key, target, query)
        if why_not is None:
            st.success(f"Sent: every participant's page now offers {target_title} with these settings.")
        else:
            st.warning(why_not)


def draw_board() -> None:
    """The whole board, or why this session may not see it."""
    access = room.board_access()
    if isinstance(access, str):
        st.error(access, icon=":material/lock:")
        return
    found, code, key = access
    titles = {page.title: page.url_path for page in COURSE_PAGES}
    page_title = st.selectbox("Course page", list(titles), key="board::page")
    live_board(found, code, titles[page_title], page_title)
    st.subheader("Send this preset to the room")
    with st.container(border=True):
        preset_sender(found, code, key, titles)
