"""The room's board (#24): what the whole workshop found, live, for the instructor's key only.

One course page at a time: every participant's runs overlaid (one colour per setting label, not per
person), the setting that varies across the room against what the runs measured, the predictions
tallied against what happened, and a control that sends the room the instructor's next setting.
"""

import math

import pandas as pd
import streamlit as st

from lib.app.course import COURSE_PAGES
from lib.app.predictions import question_for
from lib.app.presets import PRESETS
from lib.data.room_store import RoomNotFound, StoreUnavailable
from lib.engine.charts import METRIC_TITLES, draw_room_curves, room_scatter_chart, show
from lib.page_glue import room

REFRESH_SECONDS = 2
# Figures where higher is better; for any other (a loss, an error) lower is better.
HIGHER_IS_BETTER = ("accuracy", "bleu", "exact", "match", "r2")
# Final figures the scatter offers first, in this order, when a page's runs have them.
PREFERRED_FIGURES = ("test_mae", "test_error", "bleu", "val_accuracy", "val_loss", "accuracy", "loss")

st.title("Workshop room board")
access = room.board_access()
if isinstance(access, str):
    st.error(access, icon=":material/lock:")
else:
    found, code, key = access
    titles = {page.title: page.url_path for page in COURSE_PAGES}
    chosen_title = st.selectbox("Course page", list(titles), key="board::page")
    page_key = titles[chosen_title]

    def higher_is_better(name: str) -> bool:
        return any(word in name.lower() for word in HIGHER_IS_BETTER)

    def figure_title(name: str) -> str:
        base = name.removeprefix("val_")
        title = METRIC_TITLES.get(base, base.replace("_", " "))
        return f"{title} (validation)" if name.startswith("val_") else title

    def curves_frame(runs) -> pd.DataFrame:
        rows = []
        for run in runs:
            for name, values in run.curve.items():
                split = "validation" if name.startswith("val_") else "train"
                metric = name.removeprefix("val_")
                rows.extend(
                    {
                        "run_id": run.run_id,
                        "label": run.label,
                        "metric": metric,
                        "split": split,
                        "epoch": i + 1,
                        "value": v,
                    }
                    for i, v in enumerate(values)
                )
        return pd.DataFrame(rows, columns=["run_id", "label", "metric", "split", "epoch", "value"])

    def varying_settings(runs) -> list[str]:
        """The settings whose value differs between the published runs, the seed last."""
        keys = list(dict.fromkeys(key for run in runs for key in run.settings))
        varying = [key for key in keys if len({repr(run.settings.get(key)) for run in runs}) > 1]
        return sorted(varying, key=lambda key: key == "seed")

    def is_number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def draw_scatter(runs) -> None:
        varying = varying_settings(runs)
        figures = [
            name
            for name in dict.fromkeys(f for run in runs for f in run.final)
            if all(name in run.final for run in runs)
        ]
        if not varying or not figures:
            st.caption(
                "The scatter appears once the room's runs differ in a setting and have a final figure in "
                "common: so far every finished run was trained with the same settings."
                if not varying
                else "The runs have no final figure in common yet."
            )
            return
        columns = st.columns(2)
        x = columns[0].selectbox("Setting that varies", varying, key="board::x")
        ordered = [name for name in PREFERRED_FIGURES if name in figures] + [
            f for f in figures if f not in PREFERRED_FIGURES
        ]
        y = columns[1].selectbox("Measured result", ordered, format_func=figure_title, key="board::y")
        others = [key for key in varying if key not in (x, "seed")]
        series = others[0] if others else None
        frame = pd.DataFrame(
            {
                "x": [run.settings.get(x) for run in runs],
                "y": [run.final[y] for run in runs],
                "label": [run.label for run in runs],
                **({"series": [str(run.settings.get(series)) for run in runs]} if series else {}),
            }
        )
        numeric = all(is_number(value) for value in frame["x"])
        if not numeric:
            frame["x"] = frame["x"].astype(str)
        show(
            st,
            room_scatter_chart(
                frame,
                "x",
                "y",
                "series" if series else None,
                x_numeric=numeric,
                x_title=x,
                y_title=figure_title(y),
            ),
            width="stretch",
        )
        # The reading, from the numbers: which value of the setting did best on average.
        means = frame.groupby("x")["y"].mean()
        best = means.idxmax() if higher_is_better(y) else means.idxmin()
        st.caption(
            f"Across {len(frame)} finished runs, {x} = {best} gave the "
            f"{'highest' if higher_is_better(y) else 'lowest'} mean {figure_title(y).lower()}: "
            f"{means[best]:.4g} (over {int((frame['x'] == best).sum())} run(s)); "
            + "; ".join(f"{x} = {value}: {mean:.4g}" for value, mean in means.items() if value != best)
            + "."
        )

    def draw_predictions(predictions) -> None:
        question = question_for(page_key)
        asked = [p for p in predictions if question is None or p.question == question.id]
        if question is not None:
            st.markdown(f"*{question.text}*")
        if not asked:
            st.caption("No prediction yet on this page.")
            return
        options = list(question.options) if question is not None else []
        options += [a for a in dict.fromkeys(p.answer for p in asked) if a not in options]
        told = [p for p in asked if p.outcome is not None]
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Answer": option,
                        "Predicted by": sum(p.answer == option for p in asked),
                        "Runs showed it": sum(p.outcome == option for p in told),
                        "Predicted it and right": sum(p.answer == option == p.outcome for p in told),
                    }
                    for option in options
                ]
            ),
            hide_index=True,
        )
        if told:
            right = sum(p.answer == p.outcome for p in told)
            shown = pd.Series([p.outcome for p in told]).value_counts()
            st.caption(
                f"{right} of {len(told)} predictions with a finished run matched what the run showed. "
                "The runs showed: " + ", ".join(f"{answer} ({count})" for answer, count in shown.items()) + "."
            )
        else:
            st.caption(f"{len(asked)} prediction(s); no run has finished to tell yet.")

    @st.fragment(run_every=REFRESH_SECONDS)
    def live_board() -> None:
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
        counts[1].metric(f"Runs on {chosen_title}", len(runs))
        counts[2].metric("Training now", sum(run.status == "training" for run in runs))
        st.subheader("The room's runs")
        frame = curves_frame(runs)
        if not runs:
            st.info(
                f"No run on {chosen_title} yet: the runs appear here as participants train.",
                icon=":material/hourglass_empty:",
            )
        else:
            if not frame.empty:
                draw_room_curves(st, frame, list(dict.fromkeys(frame["metric"]))[:4])
            names = {participant.participant_id: participant.name for participant in participants}
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
        st.subheader("The setting that varies, against what it measured")
        draw_scatter([run for run in runs if run.status != "training" and run.final])
        st.subheader("Predictions against what happened")
        draw_predictions(predictions)
        if participants:
            st.caption("In the room:")
            st.text(", ".join(participant.name for participant in participants))

    live_board()

    st.subheader("Send this preset to the room")
    with st.container(border=True):
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
        if query is not None:
            st.code(f"{target}?{query}" if query else target, language=None)
            if st.button("Send to the room", type="primary", icon=":material/send:", key="board::send"):
                why_not = room.send_preset(found, code, key, target, query)
                if why_not is None:
                    st.success(f"Sent: every participant's page now offers {target_title} with these settings.")
                else:
                    st.warning(why_not)
