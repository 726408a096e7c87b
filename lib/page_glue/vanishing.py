"""The Vanishing-gradients page's glue: cached gradient measurements, the sweep's reading, the live press.

The measurements themselves live in lib.models.gradients and lib.models.long_memory (no Streamlit there); this
module caches them for every session of the process (they are deterministic for given settings),
writes what the shipped sweep shows next to the notes' claim, setup by setup, and trains the chosen
cells on the fresh stream through the shared engine, charting the gradient that reaches each step
back while they train.
"""

from __future__ import annotations

import time

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lib.engine.charts import line_chart, show
from lib.engine.training import TrainingRun, train_live
from lib.models.builders import held_out_batches
from lib.models.gradients import (
    activation_derivatives,
    lstm_gate_traces,
    mlp_layer_gradient_norms,
    recurrent_step_gradient_norms,
    sequence_input_gradient_norms,
    truncated_bptt_terms,
)
from lib.models.long_memory import (
    CHANCE_ACCURACY,
    CLIP_NORM,
    DEFAULT_BUDGET,
    KERAS_CELL_SETUP,
    MODERN,
    NOTES_EXPECTED_MAX_LAG,
    PAPER_ERROR_THRESHOLD,
    PAPER_LONG_BUDGET_FILE,
    PAPER_SETUP,
    PAPER_SETUPS,
    SOLVED_ACCURACY,
    STOPS_WHEN_REMEMBERED,
    SWEEP_SEEDS,
    Contrast,
    TrainingSetup,
    build_long_memory_model,
    clearest_contrast,
    fresh_sequences,
    held_out_sequences,
    load_paper_task,
    load_sweep,
    paper_result,
    stop_when_remembered,
    summarise_paper_task,
    summarise_sweep,
    variant_name,
)

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
    chart = line_chart(
        norms,
        "layer",
        "gradient_norm",
        "quantity",
        x_title="Layer (1 = nearest the input)",
        y_title="Gradient norm (log scale)",
        log_y=True,
    )
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
            {
                "cell": cell,
                "total gradient norm": measured.total_gradient_norm,
                "after clipping": measured.clipped_gradient_norm,
                "scaled by": measured.clipping_factor,
            }
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


def default_contrast() -> Contrast | None:
    """The setting the default press trains, chosen from the shipped sweep (see `clearest_contrast`)."""
    return clearest_contrast(sweep_summary())


def sweep_chart_frame(summary: pd.DataFrame, setup: str) -> pd.DataFrame:
    """Mean held-out accuracy against lag per variant of one setup, with chance as a series of its own."""
    rows = summary[summary["setup"] == setup]
    frame = rows[["variant", "lag", "mean_accuracy"]].rename(columns={"mean_accuracy": "accuracy"})
    chance = pd.DataFrame(
        {"variant": "chance (1 in 8)", "lag": sorted(rows["lag"].unique()), "accuracy": CHANCE_ACCURACY}
    )
    return pd.concat([frame, chance], ignore_index=True)


def _listing(numbers: list, conjunction: str = "and") -> str:
    words = [str(number) for number in numbers]
    if not words:
        return "none"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _lags(numbers: list, conjunction: str = "and") -> str:
    """ "lag 5" or "lags 5 and 10": the lags of a sentence, with the noun in the right number."""
    return f"lag{'s' if len(numbers) > 1 else ''} {_listing(numbers, conjunction)}"


def variant_reach(rows: pd.DataFrame) -> str:
    """One variant's lags, sorted into solved by every seed, by some, and by none; written from the rows."""
    every = rows[rows["solved_seeds"] == rows["seeds"]]["lag"].tolist()
    some = rows[(rows["solved_seeds"] > 0) & (rows["solved_seeds"] < rows["seeds"])]["lag"].tolist()
    none = rows[rows["solved_seeds"] == 0]["lag"].tolist()
    parts = []
    if every:
        parts.append(f"solved {_lags(every)} with every seed")
    if some:
        parts.append(f"{_listing(some)} with some seeds" if every else f"solved {_lags(some)} with some seeds")
    if none:
        parts.append(f"not {_listing(none, 'or')}")
    return "; ".join(parts)


def sweep_reading(setup_name: str) -> list[str]:
    """What the shipped sweep shows for one setup, beside the notes' expectation; every number from the data."""
    summary = sweep_summary()
    rows = summary[summary["setup"] == setup_name]
    if rows.empty:
        return ["The shipped sweep has no run of this setup yet."]
    lines = []
    for variant, variant_rows in rows.groupby("variant", sort=False):
        lines.append(f"**{variant}**: {variant_reach(variant_rows)}.")
    seeds = sorted(rows["seeds"].unique())
    lines.append(
        f"Solved means a held-out accuracy of at least {SOLVED_ACCURACY:.0%} after {DEFAULT_BUDGET.updates:,} updates; "
        f"{_listing(seeds, 'or')} seed{'s' if seeds != [1] else ''} per point"
        + (
            f" (the sweep plans {len(SWEEP_SEEDS)}: the points with fewer are still being measured)."
            if min(seeds) < len(SWEEP_SEEDS)
            else "."
        )
    )
    lines.extend(_ordering_lines(rows, setup_name))
    return lines


def _ordering_lines(rows: pd.DataFrame, setup_name: str) -> list[str]:
    """Where the notes' ordering (the LSTM reaches further than the SimpleRNN) holds in this setup, and where not.

    A lag counts for the ordering when the LSTM solved it with more seeds and its mean accuracy is
    not lower (or with as many seeds and a higher mean), against it in the mirror case, and as
    mixed when the seeds solved and the means disagree; each is written with its numbers.
    """
    plain = rows[rows["clip_norm"] == 0].set_index(["cell", "lag"])
    lags = sorted(rows["lag"].unique())
    holds, reversed_, mixed, both_fail, both_solve = [], [], [], [], []
    for lag in lags:
        if ("LSTM", lag) not in plain.index or ("SimpleRNN", lag) not in plain.index:
            continue
        lstm, simple = plain.loc[("LSTM", lag)], plain.loc[("SimpleRNN", lag)]
        if lstm["solved_seeds"] == lstm["seeds"] and simple["solved_seeds"] == simple["seeds"]:
            both_solve.append(lag)
            continue
        if lstm["solved_seeds"] == 0 and simple["solved_seeds"] == 0:
            both_fail.append(lag)
            continue
        count = int(np.sign(lstm["solved_seeds"] - simple["solved_seeds"]))
        mean = int(np.sign(round(lstm["mean_accuracy"] - simple["mean_accuracy"], 3)))
        detail = (
            f"LSTM {lstm['solved_seeds']} of {lstm['seeds']} seeds, mean {lstm['mean_accuracy']:.2f}; "
            f"SimpleRNN {simple['solved_seeds']} of {simple['seeds']}, mean {simple['mean_accuracy']:.2f}"
        )
        if (count > 0 and mean >= 0) or (count == 0 and mean > 0):
            holds.append((lag, detail))
        elif (count < 0 and mean <= 0) or (count == 0 and mean < 0):
            reversed_.append((lag, detail))
        else:
            mixed.append((lag, detail))
    lines = []
    for found, heading in (
        (holds, "The notes' ordering holds at"),
        (reversed_, "It is reversed at"),
        (mixed, "The seeds solved and the means disagree at"),
    ):
        if found:
            details = [detail if len(found) == 1 else f"lag {lag}: {detail}" for lag, detail in found]
            lines.append(f"**{heading} {_lags([lag for lag, _ in found])}** ({'; '.join(details)}).")
    if both_solve:
        lines.append(f"Both cells solved {_lags(both_solve)} with every seed.")
    if both_fail:
        lines.append(f"Neither solved {_lags(both_fail, 'or')} with any seed within the budget.")
    if not holds:
        lines.append("**This setup does not show the notes' ordering** at this budget; it is shown as measured.")
    clipped = rows[rows["clip_norm"] > 0].set_index("lag")["solved_seeds"]
    unclipped = (
        plain.xs("SimpleRNN", level="cell")["solved_seeds"]
        if "SimpleRNN" in plain.index.get_level_values(0)
        else pd.Series(dtype=int)
    )
    helped = [lag for lag in lags if lag in clipped.index and lag in unclipped.index and clipped[lag] > unclipped[lag]]
    hurt = [lag for lag in lags if lag in clipped.index and lag in unclipped.index and clipped[lag] < unclipped[lag]]
    if helped or hurt:
        lines.append(
            "Clipping the SimpleRNN's gradient "
            + (f"added solved seeds at {_lags(helped)}" if helped else "")
            + (" and " if helped and hurt else "")
            + (f"lost some at {_lags(hurt)}" if hurt else "")
            + ": it tames an exploding step, it cannot restore a vanished one."
        )
    lines.extend(_why_lines(rows, setup_name))
    return lines


def _solved_lags(rows: pd.DataFrame, variant: str, every_seed: bool) -> list[int]:
    chosen = rows[rows["variant"] == variant]
    mask = chosen["solved_seeds"] == chosen["seeds"] if every_seed else chosen["solved_seeds"] > 0
    return chosen[mask]["lag"].tolist()


def _why_lines(rows: pd.DataFrame, setup_name: str) -> list[str]:
    """The reasons the page can give for what this setup measured, each said only when the data shows it."""
    lines = []
    simple_expected, lstm_expected = NOTES_EXPECTED_MAX_LAG["SimpleRNN"], NOTES_EXPECTED_MAX_LAG["LSTM"]
    simple_beyond = [lag for lag in _solved_lags(rows, "SimpleRNN", every_seed=False) if lag > simple_expected]
    lstm_reach = max(_solved_lags(rows, "LSTM", every_seed=True), default=None)
    measured_lags = set(rows["lag"])
    if lstm_reach is not None and lstm_reach >= lstm_expected:
        lines.append(f"The LSTM reached the notes' {lstm_expected} steps: every seed solved lag {lstm_reach}.")
    elif max(measured_lags) >= lstm_expected:
        lines.append(
            f"The LSTM did not reach the notes' {lstm_expected} steps within {DEFAULT_BUDGET.updates:,} updates"
            + (f" (every seed solved up to lag {lstm_reach})." if lstm_reach else ".")
        )
    if setup_name == MODERN.name:
        if simple_beyond:
            lines.append(
                f"Why the SimpleRNN solved {_lags(simple_beyond)} with some seed, beyond the notes' "
                f"{simple_expected} steps: Keras starts it with an orthogonal recurrent matrix (all singular values 1), "
                "the notes' first remedy, \"careful initialisation\"; Adam also rescales every weight's step, so a "
                "small gradient still moves its weight."
            )
        lines.append(
            f"The learning rate, {MODERN.learning_rate:g}, is ten times Keras's default: at the default the LSTM learned "
            "nothing at lag 20 within the budget in the pilot (data/README.md), so this choice favours the LSTM."
        )
    else:
        lstm_failed = sorted(lag for lag in measured_lags if lag not in _solved_lags(rows, "LSTM", every_seed=False))
        if lstm_failed:
            gru_solved = [lag for lag in _solved_lags(rows, "GRU", every_seed=False) if lag in lstm_failed]
            lines.append(
                f"The era's LSTM solved no seed at {_lags(lstm_failed)}. One difference from the 1997 experiments: "
                "Keras's LSTM always has a forget gate, which without a bias starts at σ(0) = 0.5, halving the cell's "
                "content at every step; the 1997 LSTM had none (its cell kept its content with weight 1)."
                + (
                    f" That is not the whole story: the GRU, whose update gate also starts near 0.5, solved "
                    f"{_lags(gru_solved)} here."
                    if gru_solved
                    else ""
                )
            )
    return lines


def sweep_accuracy(cell: str, lag: int, setup: str = MODERN.name, clip_norm: float = 0.0) -> float | None:
    summary = sweep_summary()
    match = summary[
        (summary["cell"] == cell)
        & (summary["lag"] == lag)
        & (summary["setup"] == setup)
        & (summary["clip_norm"] == clip_norm)
    ]
    return None if match.empty else float(match["mean_accuracy"].iloc[0])


# --- The paper's own task (Hochreiter and Schmidhuber 1997, experiment 2) beside the variant above -------


@st.cache_data(show_spinner=False)
def paper_task_summary() -> pd.DataFrame | None:
    """The shipped runs of the paper's task, summarised; None when data/paper_memory_task.csv is absent."""
    runs = load_paper_task()
    return None if runs is None or runs.empty else summarise_paper_task(runs)


def _sequences(value: float) -> str:
    return f"{int(round(value)):,}"


def paper_task_table(summary: pd.DataFrame, setup: str) -> pd.DataFrame:
    """One row per task, p and cell of a setup: seeds that met the paper's criterion and the sequences they needed,
    beside the paper's own figure where it gives one (p = 100)."""
    rows = []
    for row in summary[summary["setup"] == setup].itertuples():
        paper = paper_result(row.task, row.cell) if row.p == 100 else None
        if row.cell == "SimpleRNN" and row.p == 100:
            paper = paper_result(row.task, "BPTT") or paper_result(row.task, "BPTT, RTRL, CH")
        if paper is None:
            paper_text = ""
        elif paper.sequences is not None:
            paper_text = (
                f"{paper.method}: {paper.success_percent:.0f} % of {paper.trials} trials, {paper.sequences:,} sequences"
            )
        elif paper.trials is None:
            paper_text = f"{paper.method}: failed"
        else:
            paper_text = f"{paper.method}: {paper.success_percent:.0f} % of {paper.trials} trials" + (
                f" within {paper.stopped_after:,}" if paper.stopped_after else ""
            )
        rows.append(
            {
                "task": row.task,
                "p": int(row.p),
                "cell": row.cell,
                "solved (seeds)": f"{row.solved_seeds} of {row.seeds}",
                "training sequences to success": (
                    f"{_sequences(row.mean_sequences)} (mean; {_sequences(row.min_sequences)}–{_sequences(row.max_sequences)})"
                    if row.solved_seeds > 1
                    else _sequences(row.mean_sequences)
                    if row.solved_seeds
                    else f"none within {int(row.budget):,}"
                ),
                "the paper (p = 100)": paper_text,
            }
        )
    return pd.DataFrame(rows)


def _ordering_on_paper_task(rows: pd.DataFrame) -> dict[str, list[int]]:
    """The delays p sorted by how the LSTM and the SimpleRNN compared: "holds" (the LSTM met the criterion with
    more seeds), "reversed" (the SimpleRNN with more), "tied" (as many, at least one each) and "neither"."""
    sorted_ = {"holds": [], "reversed": [], "tied": [], "neither": []}
    for p, at_p in rows.groupby("p"):
        by_cell = at_p.set_index("cell")
        if not {"LSTM", "SimpleRNN"} <= set(by_cell.index):
            continue
        lstm, simple = int(by_cell.loc["LSTM", "solved_seeds"]), int(by_cell.loc["SimpleRNN", "solved_seeds"])
        key = "holds" if lstm > simple else "reversed" if simple > lstm else "tied" if lstm else "neither"
        sorted_[key].append(int(p))
    return sorted_


def variant_reversals(
    memory_summary: pd.DataFrame, setup: str = MODERN.name, shortest_lag: int = 20
) -> list[tuple[int, float, float]]:
    """The lags (≥ `shortest_lag`) of the 8-symbol variant's sweep where the SimpleRNN's mean held-out accuracy
    was above the LSTM's: (lag, SimpleRNN mean, LSTM mean)."""
    plain = memory_summary[(memory_summary["setup"] == setup) & (memory_summary["clip_norm"] == 0)]
    reversals = []
    for lag, rows in plain.groupby("lag"):
        by_cell = rows.set_index("cell")
        if lag < shortest_lag or not {"LSTM", "SimpleRNN"} <= set(by_cell.index):
            continue
        simple, lstm = float(by_cell.loc["SimpleRNN", "mean_accuracy"]), float(by_cell.loc["LSTM", "mean_accuracy"])
        if simple > lstm:
            reversals.append((int(lag), simple, lstm))
    return reversals


def paper_setups_in_order(summary: pd.DataFrame) -> list[str]:
    """The setups of the shipped runs, the main one (`PAPER_SETUP`) first."""
    names = list(dict.fromkeys(summary["setup"]))
    return sorted(names, key=lambda name: (name != PAPER_SETUP.name, names.index(name)))


def paper_setup_caption(setup: str) -> str:
    """What a setup of the paper's task trains, for the caption under its table."""
    known = PAPER_SETUPS.get(setup)
    return f"Setup `{setup}`: {known.describe()}." if known else f"Setup `{setup}`."


def _reach(rows: pd.DataFrame, cell: str) -> str:
    """One cell's delays, sorted into met by every seed, by some, and by none."""
    rows = rows[rows["cell"] == cell]
    every = rows[rows["solved_seeds"] == rows["seeds"]]["p"].tolist()
    some = rows[(rows["solved_seeds"] > 0) & (rows["solved_seeds"] < rows["seeds"])]["p"].tolist()
    none = rows[rows["solved_seeds"] == 0]["p"].tolist()
    parts = (
        ([f"every seed at p = {_listing(every)}"] if every else [])
        + ([f"some seeds at p = {_listing(some)}"] if some else [])
        + ([f"no seed at p = {_listing(none, 'or')}"] if none else [])
    )
    return ", ".join(parts)


def _cell_gaps(summary: pd.DataFrame, main_setup: str) -> list[tuple[str, int, int, int, int, int]]:
    """(task, p, Keras-cell seeds solved, its seeds, main-setup seeds solved, its seeds) where the main setup's
    LSTM met the criterion with more seeds than the LSTM of Keras's own cell."""
    lstm = summary[summary["cell"] == "LSTM"]
    main = lstm[lstm["setup"] == main_setup].set_index(["task", "p"])
    other = lstm[lstm["setup"] == KERAS_CELL_SETUP.name].set_index(["task", "p"])
    gaps = []
    for key in sorted(set(main.index) & set(other.index)):
        if main.loc[key, "solved_seeds"] > other.loc[key, "solved_seeds"]:
            gaps.append(
                (
                    key[0],
                    int(key[1]),
                    int(other.loc[key, "solved_seeds"]),
                    int(other.loc[key, "seeds"]),
                    int(main.loc[key, "solved_seeds"]),
                    int(main.loc[key, "seeds"]),
                )
            )
    return gaps


def paper_task_reading(
    summary: pd.DataFrame | None, memory_summary: pd.DataFrame | None, main_setup: str = PAPER_SETUP.name
) -> list[str]:
    """What the paper's task shows next to the 8-symbol variant, every number from the two shipped files.

    For the main setup, task by task: where the notes' ordering (the LSTM meets the criterion with more
    seeds than the SimpleRNN) held, and the LSTM at p = 100 beside the paper's figure; for any other
    setup (Keras's own LSTM cell), where its LSTM met the criterion; then, if the variant above reversed
    the ordering where the paper's task kept it, why the two tasks differ.
    """
    if summary is None or summary.empty:
        return [
            "The runs of the paper's task (`scripts/paper_memory_task.py`, data/paper_memory_task.csv) are not "
            "shipped with this copy, so this section shows only the variant above."
        ]
    lines = []
    held_anywhere = False
    main = summary[summary["setup"] == main_setup]
    for task, rows in main.groupby("task", sort=False):
        ordering = _ordering_on_paper_task(rows)
        held_anywhere = held_anywhere or bool(ordering["holds"])
        parts = []
        if ordering["holds"]:
            parts.append(
                f"the LSTM met the paper's criterion with more seeds than the SimpleRNN at p = {_listing(ordering['holds'])}"
            )
        if ordering["tied"]:
            parts.append(f"both with as many seeds at p = {_listing(ordering['tied'])}")
        if ordering["reversed"]:
            parts.append(f"the SimpleRNN with more seeds at p = {_listing(ordering['reversed'])}")
        if ordering["neither"]:
            parts.append(f"neither at p = {_listing(ordering['neither'], 'or')}")
        lstm_100 = rows[(rows["cell"] == "LSTM") & (rows["p"] == 100)]
        if not lstm_100.empty:
            row = lstm_100.iloc[0]
            paper = paper_result(task)
            batch = int(row["batch_size"]) if "batch_size" in row and row["batch_size"] == row["batch_size"] else None
            updates = (
                f", {_sequences(row['mean_sequences'] / batch)} updates of {batch}"
                if batch and batch > 1 and row["solved_seeds"]
                else ""
            )
            measured = (
                f"the LSTM succeeded with {row['solved_seeds']} of {row['seeds']} seeds after "
                f"{_sequences(row['mean_sequences'])} training sequences on average{updates}"
                if row["solved_seeds"]
                else f"no LSTM seed succeeded within {int(row['budget']):,} training sequences"
            )
            parts.append(
                f"at p = 100 {measured}"
                + (
                    f" (the paper: {paper.success_percent:.0f} % of {paper.trials} trials, {paper.sequences:,} on average, "
                    "one update per sequence)"
                    if paper is not None and paper.sequences
                    else ""
                )
            )
        lines.append(
            f"**Task {task}**: " + ("; ".join(parts) if parts else "no delay with both cells measured yet") + "."
        )
    for setup, rows in summary[summary["setup"] != main_setup].groupby("setup", sort=False):
        known = PAPER_SETUPS.get(setup)
        name = f"{setup} ({known.lstm_cell()})" if known else setup
        for task, task_rows in rows.groupby("task", sort=False):
            if (task_rows["cell"] == "LSTM").any():
                lines.append(f"**Task {task} with the LSTM cell of setup {name}**: {_reach(task_rows, 'LSTM')}.")
    cell_gaps = _cell_gaps(summary, main_setup)
    if cell_gaps:
        lines.append(
            "**The cell matters too**: Keras's own LSTM cell met the criterion with fewer seeds than the 1997-like "
            "cell at "
            + "; ".join(
                f"task {task}, p = {p} ({own} of {seeds} against {paper} of {paper_seeds})"
                for task, p, own, seeds, paper, paper_seeds in cell_gaps
            )
            + ". The variant above trains Keras's own cell."
        )
    if memory_summary is None:
        return lines
    reversals = variant_reversals(memory_summary)
    if reversals and held_anywhere:
        listing = "; ".join(
            f"lag {lag}: SimpleRNN {simple:.2f} against LSTM {lstm:.2f}" for lag, simple, lstm in reversals
        )
        lines.append(
            "**Why the variant above reads the other way** (its mean held-out accuracies, " + listing + "; chance "
            f"{CHANCE_ACCURACY:.3f}): in the paper's task the symbol to recall is x or y, which never occur among the "
            "distractors, so a unit that switches on when it sees x and stays on has solved it; in the variant the "
            "symbol to recall is one of the same 8 symbols as every distractor, so the net must also tell step 0 from "
            "every later step by position alone and shut its memory to 8 kinds of input after the first, with 3 bits "
            "to keep instead of 1."
        )
    elif reversals:
        lines.append(
            "The variant above reversed the notes' ordering at lag"
            + ("s " if len(reversals) > 1 else " ")
            + _listing([lag for lag, _, _ in reversals])
            + ", and the paper's task did not restore it here."
        )
    return lines


@st.cache_data(show_spinner=False)
def paper_long_budget_summary() -> pd.DataFrame | None:
    """The runs of the paper's task run again with a larger budget, summarised; None when the file is absent."""
    runs = load_paper_task(PAPER_LONG_BUDGET_FILE)
    return None if runs is None or runs.empty else summarise_paper_task(runs)


def paper_long_budget_reading(summary: pd.DataFrame | None, long_budget: pd.DataFrame | None) -> list[str]:
    """For each point of the sweep where no LSTM seed met the criterion, what the larger budget found, every
    number from the two shipped files: the seeds run, those that met it, after how many sequences and
    updates, beside the sweep's budget; nothing when either file is absent."""
    if summary is None or long_budget is None:
        return []
    lines = []
    for row in long_budget.itertuples():
        sweep = summary[
            (summary["setup"] == row.setup)
            & (summary["task"] == row.task)
            & (summary["cell"] == row.cell)
            & (summary["p"] == row.p)
        ]
        if sweep.empty:
            continue
        before = sweep.iloc[0]
        first = f"Within the sweep's budget of {int(before['budget']):,} sequences, {before['solved_seeds']} of {before['seeds']} {row.cell} seeds met the criterion on task {row.task} at p = {row.p}"
        batch = PAPER_SETUPS[row.setup].batch_size if row.setup in PAPER_SETUPS else None
        if row.solved_seeds:
            updates = f" ({_sequences(row.mean_sequences / batch)} updates of {batch})" if batch and batch > 1 else ""
            found = (
                f"with {int(row.budget):,}, {row.solved_seeds} of {row.seeds} seed{'s' if row.seeds != 1 else ''} "
                f"run met it, after {_sequences(row.mean_sequences)} sequences"
                + (" on average" if row.solved_seeds > 1 else "")
                + updates
            )
            missed = row.seeds - row.solved_seeds
            if missed and pd.notna(getattr(row, "unsolved_max_error", None)):
                found += (
                    f"; the other{'s' if missed > 1 else ''} ended with the right symbol as the most probable "
                    f"output in {row.unsolved_recall:.2%} of the test sequences, yet a largest output error of "
                    f"{row.unsolved_max_error:.2f} on at least one, above the criterion's {PAPER_ERROR_THRESHOLD}"
                )
            paper = paper_result(row.task) if row.p == 100 and row.cell == "LSTM" else None
            reason = f": the budget, {'more than' if missed else 'not'} the cell, stopped it" + (
                f". Adam's batches of {batch} make one update per {batch} sequences, where the paper updated "
                "after every sequence"
                + (
                    f" (its LSTM: {paper.sequences:,} sequences on average)"
                    if paper is not None and paper.sequences
                    else ""
                )
                if batch and batch > 1
                else ""
            )
        else:
            found = (
                f"with {int(row.budget):,}, none of {row.seeds} seed{'s' if row.seeds != 1 else ''} run met it either"
            )
            reason = ", so the budget alone does not explain the failure here"
        lines.append(f"**A larger budget.** {first}; {found}{reason}.")
    return lines


# --- The live press: several cells on the fresh stream, with the gradient reaching each step back -------

# How many held-out sequences the live gradient chart backpropagates through at each snapshot.
GRADIENT_PROBE_SEQUENCES = 32


def memory_run_label(cell: str, lag: int, setup: TrainingSetup, clip_norm: float | None) -> str:
    return f"{variant_name(cell, clip_norm or 0.0)} · lag {lag} · {setup.name}"


def gradient_profile(model, lag: int, seed: int = 0) -> np.ndarray:
    """For the model as it is now: the gradient norm reaching the input k steps back, k = 0 … lag.

    Measured on the first held-out sequences, so that every snapshot of every run probes the same ones.
    """
    import keras

    x, y = held_out_sequences(lag, seed=seed)
    x, y = x[:GRADIENT_PROBE_SEQUENCES], y[:GRADIENT_PROBE_SEQUENCES]
    per_step, _ = sequence_input_gradient_norms(
        model, x, lambda outputs: keras.losses.sparse_categorical_crossentropy(y, outputs), parameters=False
    )
    return per_step[::-1].astype(np.float32)  # Index k is k steps back from the last step.


def gradient_frame(
    runs: list[TrainingRun], latest: dict | None = None, live_run: TrainingRun | None = None
) -> pd.DataFrame:
    """Each run's gradient reaching k steps back, over its gradient at the last step, at its first snapshot
    (update 0) and at its last (or `latest`), one series per (cell, update)."""
    frames = []
    for run in runs:
        if not run.snapshots:
            continue
        last = latest if (run is live_run and latest is not None) else run.snapshots[-1]
        taken = [run.snapshots[0]] + ([last] if last is not run.snapshots[0] else [])
        per_round = run.batches_per_epoch
        for snapshot in taken:
            norms = np.asarray(snapshot["value"], dtype=np.float64)
            # Relative to the last step's: a model that has solved the task has a tiny loss and so tiny
            # gradients everywhere; divided by its own last step, each curve shows only how the gradient
            # fades (or not) on its way back, which is what the cells are compared by.
            relative = norms / norms[0] if norms[0] > 0 else np.zeros_like(norms)
            update = int(round(snapshot["epoch"] * per_round))
            frames.append(
                pd.DataFrame(
                    {
                        "series": f"{variant_name(run.settings['cell'], run.settings.get('clip_norm') or 0.0)} · update {update:,}",
                        "steps_back": np.arange(len(norms)),
                        "relative_gradient": np.clip(relative, NORM_FLOOR, None),
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=["series", "steps_back", "relative_gradient"])
    return pd.concat(frames, ignore_index=True)


def gradient_chart(frame: pd.DataFrame):
    """`gradient_frame`'s curves: the gradient reaching k steps back over the last step's, on a log scale."""
    chart = line_chart(
        frame,
        "steps_back",
        "relative_gradient",
        "series",
        x_title="Steps back from the last step (k)",
        y_title="Gradient ÷ the last step's (log scale)",
        log_y=True,
    )
    chart.encoding.x.axis = alt.Axis(tickMinStep=1, format="d")
    return chart


def gradient_kept(run: TrainingRun) -> tuple[float, float] | None:
    """The gradient reaching the symbol to recall (lag steps back) over the last step's, at update 0 and now."""
    if not run.snapshots:
        return None
    first, last = (np.asarray(run.snapshots[index]["value"], dtype=np.float64) for index in (0, -1))
    return float(first[-1] / first[0]) if first[0] > 0 else 0.0, float(last[-1] / last[0]) if last[0] > 0 else 0.0


# A press stops a gated cell (STOPS_WHEN_REMEMBERED) at the first round it remembers (held-out accuracy
# SOLVED_ACCURACY or more): the rest of its budget cannot change the press's answer (docs/press-cost-light.md).
STOP_WHEN_REMEMBERED = True


def remembered_early(run: TrainingRun) -> bool:
    """Whether the press stopped this run before its budget because it remembered."""
    return run.status == "finished" and 0 < run.epochs_completed < run.epochs_planned


def train_memory_press(
    page_key: str, cells: list[str], setup: TrainingSetup, lag: int, clip: bool, area, seed: int = 0
) -> list[TrainingRun]:
    """Train each chosen cell on the fresh stream, one after another, with the sweep's budget, live.

    The chart of loss and accuracy grows run by run; under it, the gradient reaching each step back
    is redrawn during training for the cell in training beside those already trained in this press.
    Clipping, when on, applies to the SimpleRNN only, as in the sweep.
    """
    area = area.empty()  # One place for the whole press: each run's view replaces the previous one.
    press_id = time.time_ns()  # Tells this press's runs from earlier ones, for the chart drawn after it.
    x_held_out, y_held_out = held_out_sequences(lag, seed=seed)
    press: list[TrainingRun] = []
    references = [{"run": "chance (1 in 8)", "metric": "accuracy", "value": CHANCE_ACCURACY}]
    for cell in cells:
        clip_norm = CLIP_NORM if clip and cell == "SimpleRNN" else None
        shipped = sweep_accuracy(cell, lag, setup.name, clip_norm or 0.0)
        if shipped is not None:
            references.append(
                {
                    "run": f"shipped sweep: {variant_name(cell, clip_norm or 0.0)} (mean of seeds)",
                    "metric": "accuracy",
                    "value": shipped,
                }
            )
    for cell in cells:
        clip_norm = CLIP_NORM if clip and cell == "SimpleRNN" else None
        model = build_long_memory_model(cell, seed=seed, setup=setup, clip_norm=clip_norm)
        earlier = list(press)

        def draw_snapshot(placeholder, taken: dict, run: TrainingRun, earlier=earlier) -> None:
            frame = gradient_frame([*earlier, run], latest=taken, live_run=run)
            show(placeholder, gradient_chart(frame), width="stretch", save=False)  # redrawn live

        run = train_live(
            model,
            fresh_sequences(lag, DEFAULT_BUDGET, seed),
            validation_data=held_out_batches(x_held_out, y_held_out),
            epochs=DEFAULT_BUDGET.rounds,
            label=memory_run_label(cell, lag, setup, clip_norm) + (f" · seed {seed}" if seed else ""),
            page_key=page_key,
            settings={
                "cell": cell,
                "lag": lag,
                "setup": setup.name,
                "clip_norm": clip_norm or 0.0,
                "seed": seed,
                "press": press_id,
            },
            metrics=["loss", "accuracy"],
            area=area,
            references=references,
            snapshot=lambda model=model: gradient_profile(model, lag, seed),
            snapshots_per_epoch=1,
            draw_snapshot=draw_snapshot,
            extra_callbacks=[stop_when_remembered()]
            if STOP_WHEN_REMEMBERED and cell in STOPS_WHEN_REMEMBERED
            else None,
        )
        press.append(run)
    return press


def latest_press(runs: list[TrainingRun]) -> list[TrainingRun]:
    """The finished or stopped runs of the newest press, in the order they trained."""
    done = [run for run in runs if run.status != "training" and "press" in run.settings]
    return [run for run in done if run.settings["press"] == done[-1].settings["press"]] if done else []


@st.cache_data(max_entries=16, show_spinner=False)
def probe_sequence(lag: int) -> np.ndarray:
    """The first held-out sequence at this lag: the same one whether the run finished or was stopped."""
    return held_out_sequences(lag)[0][0]


def gate_traces(model, sequence: np.ndarray, units: int = 4) -> pd.DataFrame:
    """The gates and cell state of the first few units, for a chart that stays readable."""
    frame = lstm_gate_traces(model, sequence)
    return frame[frame["unit"] < units].assign(unit=lambda f: "unit " + f["unit"].astype(str))
