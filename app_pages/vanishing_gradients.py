"""Vanishing gradients: BPTT measured on real models, and how far back SimpleRNN, LSTM and GRU remember."""

import pandas as pd
import streamlit as st

from lib.engine.charts import line_chart, show
from lib.engine.training import live_training, page_runs
from lib.models.long_memory import (
    CLIP_NORM,
    DEFAULT_BUDGET,
    DEFAULT_LAG,
    LONGEST_DEFAULT_LAG,
    NOTES_EXPECTED_MAX_LAG,
    PAPER_ERROR_THRESHOLD,
    PAPER_TEST_SEQUENCES,
    SETUPS,
)
from lib.page_glue.export import memory_cell_archive, run_downloads
from lib.page_glue.load_back import MEMORY_CELL_LOADER, load_back_box
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.settings.vanishing_gradients import SETTINGS
from lib.page_glue.vanishing import (
    activation_frame,
    bptt_terms,
    default_contrast,
    gate_traces,
    gradient_chart,
    gradient_frame,
    gradient_kept,
    latest_press,
    latest_trained_models,
    mlp_gradients,
    mlp_gradients_chart,
    paper_long_budget_reading,
    paper_long_budget_summary,
    paper_setup_caption,
    paper_setups_in_order,
    paper_task_reading,
    paper_task_summary,
    paper_task_table,
    probe_sequence,
    recurrent_gradients,
    remembered_early,
    sweep_accuracy,
    sweep_chart_frame,
    sweep_reading,
    sweep_summary,
    train_memory_press,
    trained_gradients,
)

PAGE_KEY = SETTINGS.page

st.title("Vanishing gradients")
link = SETTINGS.link()
st.markdown(
    "> *Training: BPTT. Difference with standard backpropagation: gradients at every timestep are summed. "
    "Multiplying by numbers < 1 decreases the magnitude, layer after layer. Practical consequences: 20 steps "
    "maximum for a basic RNN, 100 steps maximum for an LSTM.*  — the notes"
)

# --- 1. The MLP case ----------------------------------------------------------------------------------
st.header("1 · The MLP case: a product of derivatives")
chain_column, derivative_column = st.columns(2, gap="large")
with chain_column:
    # Two rows of two: on one line the chain is wider than half the main column at 1,400 px.
    st.latex(r"\begin{aligned} l_1 &= U X, & h_1 &= \tanh(l_1),\\ l_2 &= V h_1, & y &= \tanh(l_2) \end{aligned}")
    st.latex(
        r"\frac{\partial E}{\partial l_1} = \frac{\partial E}{\partial y}\,"
        r"\underbrace{\tanh'(l_2)}_{\le 1}\,V\,\underbrace{\tanh'(l_1)}_{\le 1}"
    )
    st.markdown(
        "Each layer multiplies the gradient by a derivative of at most 1 (at most ¼ for the sigmoid), "
        "so in a deep stack the product shrinks layer after layer, unless the weights make up for it."
    )
with derivative_column:
    show(
        st,
        line_chart(
            activation_frame(),
            "x",
            "derivative",
            "activation",
            x_title="Pre-activation",
            y_title="Derivative of the activation",
        ),
        width="stretch",
    )

mlp_controls = st.columns(3)
depth = SETTINGS.widget("mlp_depth", mlp_controls[0])
activation = SETTINGS.widget("mlp_activation", mlp_controls[1])
init_scale = SETTINGS.widget("mlp_init_scale", mlp_controls[2])
mlp_norms = mlp_gradients(depth, activation, init_scale)
show(st, mlp_gradients_chart(mlp_norms), width="stretch")
weights = mlp_norms[mlp_norms["quantity"] == "weights"].set_index("layer")["gradient_norm"]
st.caption(
    f"Measured by backpropagation on a real batch through a {depth}-layer Keras MLP: the gradient reaching "
    f"layer 1 is {weights.iloc[0] / weights.iloc[-1]:.2g} times the one reaching the last layer."
)

# --- 2. BPTT in a recurrent network -------------------------------------------------------------------
st.header("2 · Backpropagation through time")
st.latex(
    r"\frac{\partial E_T}{\partial W} = \sum_{k=0}^{T} \frac{\partial E_T}{\partial \hat y_T}"
    r"\frac{\partial \hat y_T}{\partial s_T}\left(\prod_{j=k+1}^{T}\frac{\partial s_j}{\partial s_{j-1}}\right)"
    r"\frac{\partial s_k}{\partial W}"
)
st.markdown(
    "The gradient is a **sum over timesteps**; the term for step *k* carries a product of *T − k* Jacobians. "
    "Below, for each earlier step, the norm of the gradient of the last step's loss with respect to that "
    "step's input, measured with a gradient tape on fresh Keras models."
)
rnn_controls = st.columns(4)
length = SETTINGS.widget("bptt_length", rnn_controls[0])
recurrent_scale = SETTINGS.widget("bptt_recurrent_scale", rnn_controls[1])
clip_choice = SETTINGS.widget("bptt_clipping", rnn_controls[2])
cells = SETTINGS.widget("bptt_cells", rnn_controls[3])
clip_norm = None if clip_choice == "off" else float(clip_choice)
if cells:
    step_norms, totals = recurrent_gradients(tuple(cells), length, recurrent_scale, clip_norm)
    step_norms = step_norms.assign(cell=step_norms["cell"] + " at initialisation")
    trained = latest_trained_models(page_runs(PAGE_KEY), cells)
    if trained:
        step_norms = pd.concat(
            [
                step_norms,
                *(
                    trained_gradients(run.model, run.settings["cell"], length).assign(
                        cell=f"{run.settings['cell']} after training (lag {run.settings['lag']})"
                    )
                    for run in trained
                ),
            ],
            ignore_index=True,
        )
    plotted = "clipped_gradient_norm" if clip_norm else "gradient_norm"
    show(
        st,
        line_chart(
            step_norms,
            "steps_back",
            plotted,
            "cell",
            x_title="Steps back from the last step (T − k)",
            y_title="Gradient norm (log scale)",
            log_y=True,
        ),
        width="stretch",
    )
    st.dataframe(
        totals,
        hide_index=True,
        column_config={
            "total gradient norm": st.column_config.NumberColumn(format="%.3g"),
            "after clipping": st.column_config.NumberColumn(format="%.3g"),
            "scaled by": st.column_config.NumberColumn(format="%.3g"),
        },
    )
    if not trained:
        st.caption("Train a cell in section 3 to add its curve after training beside the one at initialisation.")
    st.caption(
        "Clipping rescales the whole gradient when its global norm exceeds the threshold: it tames an exploding "
        "step, but every term of the sum is scaled by the same factor, so the curve keeps its slope and vanished "
        "terms stay vanished."
    )
else:
    st.info("Choose at least one cell.")

truncation = SETTINGS.widget("bptt_truncation", max_value=length, value=min(20, length))
terms = bptt_terms(length, truncation).assign(
    term=lambda f: f["kept"].map({True: "kept", False: "dropped by truncation"})
)
show(
    st,
    line_chart(
        terms,
        "steps_back",
        "jacobians_in_product",
        "term",
        x_title="Steps back (T − k)",
        y_title="Jacobians in the term's product",
    ),
    width="stretch",
)
st.caption(
    f"Truncating at k = {truncation} keeps {truncation} of the {length} terms of the sum: the ones with the shortest products."
)

# --- 3. The long-memory experiment ---------------------------------------------------------------------
st.header("3 · How far back can each cell remember?")
st.markdown(
    "The task, Hochreiter and Schmidhuber's (1997) long-time-lag experiment with 8 symbols: recall the first "
    "symbol of a sequence after *lag* distractors (chance 1 in 8). As in the papers the claim comes from, every "
    f"batch is **{DEFAULT_BUDGET.batch_size} sequences never seen before**, drawn from a seeded stream, so nothing "
    f"can be memorised; every cell gets the same budget at every lag, **{DEFAULT_BUDGET.updates:,} updates** of "
    f"{DEFAULT_BUDGET.units} units, and is measured on {DEFAULT_BUDGET.held_out_examples} fixed held-out sequences. "
    "Two setups: "
    + "; ".join(f"**{setup.title}** ({setup.describe()})" for setup in SETUPS.values())
    + f". Clipping caps the SimpleRNN's gradient at a global norm of {CLIP_NORM:g}."
)
summary = sweep_summary()
contrast = default_contrast()
for column, setup in zip(st.columns(len(SETUPS), gap="large"), SETUPS.values()):
    with column:
        st.subheader(setup.title)
        show(
            st,
            line_chart(
                sweep_chart_frame(summary, setup.name),
                "lag",
                "accuracy",
                "variant",
                x_title="Lag (steps, log scale)",
                y_title="Held-out accuracy (mean of seeds)",
                log_x=True,
            ),
            width="stretch",
        )
        for line in sweep_reading(setup.name):
            st.markdown(line)
st.subheader("The same claim on the task that established it")
st.markdown(
    "Hochreiter and Schmidhuber's experiment 2 (1997, section 5.2) is easier than the variant above in one decisive "
    "way: the symbol to recall is **x or y, two symbols that never occur among the distractors** a₁ … a₍ₚ₋₁₎, and the "
    "net predicts the next symbol at every step. Task 2a has one fixed distractor string, task 2b random distractors. "
    f"Success is the paper's: the largest output error below {PAPER_ERROR_THRESHOLD:g} on {PAPER_TEST_SEQUENCES:,} "
    "test sequences; the table counts the training sequences each seed needed (`scripts/paper_memory_task.py`, "
    "see data/README.md)."
)
paper_summary = paper_task_summary()
if paper_summary is not None:
    for paper_setup in paper_setups_in_order(paper_summary):
        st.dataframe(paper_task_table(paper_summary, paper_setup), hide_index=True, width="stretch")
        st.caption(paper_setup_caption(paper_setup))
for line in [
    *paper_task_reading(paper_summary, summary),
    *paper_long_budget_reading(paper_summary, paper_long_budget_summary()),
]:
    st.markdown(line)
st.markdown(
    "**The notes expect:** about "
    + ", ".join(f"{steps} steps for {cell}" for cell, steps in NOTES_EXPECTED_MAX_LAG.items())
    + ". The shipped sweep (`scripts/long_memory_sweep.py`, see data/README.md) is measured once; train below to "
    "see one point of it happen, and the gradient that reaches each step back while the cells learn."
)
if contrast is None:
    st.warning("The shipped sweep has no point with both the SimpleRNN and the LSTM measured yet.")
else:
    measured = (
        f"the LSTM solved it with {contrast.lstm_solved} of {contrast.seeds} seeds, the SimpleRNN with "
        f"{contrast.simple_rnn_solved} (mean held-out accuracy {contrast.lstm_mean_accuracy:.2f} against "
        f"{contrast.simple_rnn_mean_accuracy:.2f}). The press trains seed 0 of the sweep."
    )
    if contrast.every_seed:
        st.success(
            f"The default below, **{SETUPS[contrast.setup].title}, lag {contrast.lag}**, is where the sweep "
            f"showed the notes' contrast with every seed: {measured}"
        )
    else:
        st.warning(
            f"**No point of the sweep up to lag {LONGEST_DEFAULT_LAG} showed the notes' contrast with every "
            f"seed.** The default below, {SETUPS[contrast.setup].title}, lag {contrast.lag}, is the clearest "
            f"one it measured: {measured}"
        )

live_controls = st.columns([2, 3, 3, 2, 2])
live_setup = SETTINGS.widget(
    "memory_setup", live_controls[0], index=list(SETUPS).index(contrast.setup) if contrast else 0
)
live_cells = SETTINGS.widget("memory_cells", live_controls[1])
live_lag = SETTINGS.widget("memory_lag", live_controls[2], value=contrast.lag if contrast else DEFAULT_LAG)
live_clip = SETTINGS.widget("memory_clipping", live_controls[3])
live_seed = SETTINGS.widget("seed", live_controls[4])
if not live_cells:
    st.info("Choose at least one cell to train.")
prediction_box(PAGE_KEY)
if live_training(
    PAGE_KEY,
    ["loss", "accuracy"],
    lambda area: train_memory_press(
        PAGE_KEY, live_cells, SETUPS[live_setup], live_lag, live_clip, area, seed=live_seed
    ),
    disabled=not live_cells,
    share={"setup": live_setup, "cells": list(live_cells), "lag": live_lag, "clip": live_clip, "seed": live_seed},
):
    st.rerun()  # Redraw from the stored runs, so that section 2 shows the trained cells' gradients too.

load_back_box(PAGE_KEY, MEMORY_CELL_LOADER)
# Every run, finished or stopped, keeps its settings, its gradient snapshots and (if recent) its model.
finished = [run for run in page_runs(PAGE_KEY) if run.status != "training"]
recent = latest_press(finished)
if recent:
    show(st, gradient_chart(gradient_frame(recent)), width="stretch")
    st.caption(
        "The gradient of the answer's loss reaching the input k steps back, on the same 32 held-out sequences, "
        "divided by the gradient at the last step, at update 0 and at each run's end (it was redrawn every round "
        "while the run trained). Divided, a model whose loss is already tiny is compared by the shape of its curve, "
        "not its size. Where a line stays level, the error signal reaches the symbol to recall; where it falls, "
        "it vanishes before it gets there."
    )
for run in recent:
    reached = run.final("accuracy")
    settings = run.settings
    shipped = sweep_accuracy(settings["cell"], settings["lag"], settings["setup"], settings["clip_norm"])
    kept = gradient_kept(run)
    if reached is None:
        st.markdown(
            f"**{run.display_label}**: stopped before its first round of {DEFAULT_BUDGET.updates_per_round} updates ended."
        )
        continue
    comparison = (
        f"; the shipped sweep measured {shipped:.2f} (mean of seeds) at the same point" if shipped is not None else ""
    )
    gradient = (
        f" The gradient reaching the symbol to recall, {settings['lag']} steps back, was {kept[0]:.1e} of the "
        f"last step's at update 0 and {kept[1]:.1e} at the end."
        if kept
        else ""
    )
    early = (
        f"; it remembered after {run.epochs_completed * DEFAULT_BUDGET.updates_per_round:,} of its "
        f"{DEFAULT_BUDGET.updates:,} updates, where the press stops a gated cell"
        if remembered_early(run)
        else ""
    )
    st.markdown(
        f"**{run.display_label}**: held-out accuracy **{reached:.2f}** ({run.status_text}{early}){comparison}.{gradient}"
    )
prediction_result(PAGE_KEY)
run_downloads(PAGE_KEY, finished, memory_cell_archive)

# --- 4. Inside the LSTM --------------------------------------------------------------------------------
st.header("4 · Inside the LSTM: gates that let information through")
lstm_runs = [run for run in finished if run.settings["cell"] == "LSTM" and run.model is not None]
if lstm_runs:
    run = lstm_runs[-1]
    traces = gate_traces(run.model, probe_sequence(run.settings["lag"]))
    st.markdown(
        f"One held-out sequence read by your trained LSTM ({run.display_label}). The forget gate near 1 keeps "
        "the cell state, and the symbol to recall, from step to step without passing through an activation."
    )
    gate_columns = st.columns(2)
    for index, quantity in enumerate(["forget gate", "input gate", "output gate", "cell state"]):
        show(
            gate_columns[index % 2],
            line_chart(
                traces[traces["quantity"] == quantity],
                "step",
                "value",
                "unit",
                x_title="Step",
                y_title=quantity.capitalize(),
            ),
            width="stretch",
        )
else:
    st.info(
        "Train an LSTM in section 3 to see its input, forget and output gates and its cell state, step by step.",
        icon=":material/play_arrow:",
    )

st.subheader("The notes' remedies, and where to try each one here")
st.markdown(
    """
- **Careful initialisation**: the *Initialisation scale* (section 1) and the *Recurrent weights' scale* (section 2).
- **Careful tuning of regularisation**: not a control on this page; *Gradient clipping* (section 2) is the
  closest tool here, and it handles exploding gradients, not vanishing ones.
- **ReLU activations**: the *Activation* choice in section 1.
- **GRU or LSTM cells**: the *Cells* in section 2 and the *Cell to train live* in section 3.
"""
)

link.finish()
