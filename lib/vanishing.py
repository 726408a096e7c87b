"""The Vanishing-gradients page's glue: cached gradient measurements, the sweep's reading, the live run.

The measurements themselves live in lib.gradients and lib.long_memory (no Streamlit there); this
module caches them for every session of the process (they are deterministic for given settings),
writes what the shipped sweep shows next to the notes' claim, and trains one long-memory model
through the shared engine.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lib.charts import line_chart
from lib.gradients import (
    activation_derivatives,
    lstm_gate_traces,
    mlp_layer_gradient_norms,
    recurrent_step_gradient_norms,
    truncated_bptt_terms,
)
from lib.long_memory import (
    CHANCE_ACCURACY,
    DEFAULT_BUDGET,
    NOTES_EXPECTED_MAX_LAG,
    SOLVED_ACCURACY,
    build_long_memory_model,
    load_sweep,
    make_training_split,
    summarise_sweep,
)
from lib.training import TrainingRun, train_live

# Norms below this are drawn at this floor on the log scale (a norm of exactly 0 has vanished
# below float32's range and cannot be drawn on a log axis at all).
NORM_FLOOR = 1e-30


@st.cache_data(show_spinner=False)
def activation_frame() -> pd.DataFrame:
    return activation_derivatives(np.linspace(-5, 5, 201))


@st.cache_data(max_entries=128, show_spinner="Backpropagating through the MLP…")
def mlp_gradients(depth: int, activation: str, init_scale: float) -> pd.DataFrame:
    frame = mlp_layer_gradient_norms(depth, activation, init_scale)
    return frame.assign(gradient_norm=frame["gradient_norm"].clip(lower=NORM_FLOOR))


def mlp_gradients_chart(norms: pd.DataFrame) -> alt.TopLevelMixin:
    """`mlp_gradients`' norms against the layer, on a log scale; layers are whole numbers, so are the ticks."""
    chart = line_chart(norms, "layer", "gradient_norm", "quantity", x_title="Layer (1 = nearest the input)",
                       y_title="Gradient norm (log scale)", log_y=True)
    chart.encoding.x.axis = alt.Axis(tickMinStep=1, format="d")
    return chart


@st.cache_data(max_entries=128, show_spinner="Backpropagating through time…")
def recurrent_gradients(cells: tuple[str, ...], length: int, recurrent_scale: float, clip_norm: float | None):
    """Per-step gradient norms of fresh models for each cell, and each cell's total and clipped norm."""
    frames, totals = [], []
    for cell in cells:
        measured = recurrent_step_gradient_norms(cell, length, recurrent_scale=recurrent_scale, clip_norm=clip_norm)
        frames.append(measured.frame)
        totals.append(
            {"cell": cell, "total gradient norm": measured.total_gradient_norm,
             "after clipping": measured.clipped_gradient_norm, "scaled by": measured.clipping_factor}
        )
    frame = pd.concat(frames, ignore_index=True)
    for column in ("gradient_norm", "clipped_gradient_norm"):
        frame[column] = frame[column].clip(lower=NORM_FLOOR)
    return frame, pd.DataFrame(totals)


def trained_gradients(model, cell: str, length: int) -> pd.DataFrame:
    """The same measurement on a model the user trained (not cached: the model is theirs)."""
    frame = recurrent_step_gradient_norms(cell, length, trained_model=model).frame
    return frame.assign(gradient_norm=frame["gradient_norm"].clip(lower=NORM_FLOOR))


def latest_trained_models(runs: list[TrainingRun], cells: list[str]) -> list[TrainingRun]:
    """For each chosen cell, the newest live run that still holds its trained model."""
    latest = {}
    for run in runs:
        if run.model is not None and run.settings.get("cell") in cells and run.status != "training":
            latest[run.settings["cell"]] = run
    return [latest[cell] for cell in cells if cell in latest]


@st.cache_data(show_spinner=False)
def bptt_terms(length: int, k: int) -> pd.DataFrame:
    return truncated_bptt_terms(length, k)


@st.cache_data(show_spinner=False)
def sweep_summary() -> pd.DataFrame:
    return summarise_sweep(load_sweep())


def sweep_chart_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean held-out accuracy against lag per cell, with chance drawn as a series of its own."""
    frame = summary[["cell", "lag", "mean_accuracy"]].rename(columns={"mean_accuracy": "accuracy"})
    chance = pd.DataFrame({"cell": "chance (1 in 8)", "lag": sorted(summary["lag"].unique()), "accuracy": CHANCE_ACCURACY})
    return pd.concat([frame, chance], ignore_index=True)


def sweep_reading() -> list[str]:
    """What the shipped sweep shows, cell by cell, beside the notes' expectation; written from the data."""
    sweep = load_sweep()
    summary = summarise_sweep(sweep)
    seeds = sweep["seed"].nunique()
    lines = []
    for cell in summary["cell"].unique():
        rows = summary[summary["cell"] == cell]
        solved_lags = rows[rows["solved_seeds"] > 0]["lag"].tolist()
        failed_lags = rows[rows["solved_seeds"] == 0]["lag"].tolist()
        reach = f"solved lags {_listing(solved_lags)}" if solved_lags else "solved no lag"
        if failed_lags:
            reach += f", not {_listing(failed_lags, 'or')}"
        expected = NOTES_EXPECTED_MAX_LAG.get(cell)
        note = f"; the notes expect about {expected} steps" if expected else ""
        lines.append(f"**{cell}**: {reach}{note}.")
    lines.append(f"Solved means a held-out accuracy of at least {SOLVED_ACCURACY:.0%} for at least one of {seeds} seeds.")
    furthest = summary[summary["solved_seeds"] > 0].groupby("cell")["lag"].max()
    agrees = furthest.get("LSTM", 0) > furthest.get("SimpleRNN", 0)
    if agrees:
        lines.append("The ordering the notes describe appears: the LSTM remembers further than the basic RNN.")
    else:
        lines.append(
            "**This measurement does not reproduce the notes' ordering** at this budget (32 units, 3,840 updates, "
            "no tuning): it is shown as measured, not adjusted to agree. Keras starts the basic RNN with an "
            "orthogonal recurrent matrix, which is the notes' own first remedy (careful initialisation), and "
            "the LSTM's forget gate starts near 0.73, whose twentieth power is 0.002: see section 2."
        )
    return lines


def _listing(numbers: list[int], conjunction: str = "and") -> str:
    words = [str(number) for number in numbers]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def sweep_accuracy(cell: str, lag: int) -> float | None:
    summary = sweep_summary()
    match = summary[(summary["cell"] == cell) & (summary["lag"] == lag)]
    return None if match.empty else float(match["mean_accuracy"].iloc[0])


def train_long_memory_live(page_key: str, cell: str, lag: int, area) -> TrainingRun:
    """Train one cell at one lag with the sweep's budget, live, with chance and the sweep as references."""
    data = make_training_split(lag)
    model = build_long_memory_model(cell)
    references = [{"run": "chance (1 in 8)", "metric": "accuracy", "value": CHANCE_ACCURACY}]
    shipped = sweep_accuracy(cell, lag)
    if shipped is not None:
        references.append({"run": f"shipped sweep: {cell} at lag {lag}", "metric": "accuracy", "value": shipped})
    run = train_live(
        model,
        data.x_train,
        data.y_train,
        validation_data=(data.x_validation, data.y_validation),
        epochs=DEFAULT_BUDGET.epochs,
        batch_size=DEFAULT_BUDGET.batch_size,
        label=f"{cell} · lag {lag}",
        page_key=page_key,
        settings={"cell": cell, "lag": lag},
        metrics=["loss", "accuracy"],
        area=area,
        references=references,
    )
    return run


@st.cache_data(max_entries=16, show_spinner=False)
def probe_sequence(lag: int) -> np.ndarray:
    """The first held-out sequence at this lag: the same one whether the run finished or was stopped."""
    return make_training_split(lag).x_validation[0]


def gate_traces(model, sequence: np.ndarray, units: int = 4) -> pd.DataFrame:
    """The gates and cell state of the first few units, for a chart that stays readable."""
    frame = lstm_gate_traces(model, sequence)
    return frame[frame["unit"] < units].assign(unit=lambda f: "unit " + f["unit"].astype(str))
