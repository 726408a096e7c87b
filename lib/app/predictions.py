"""Predict before you press: one question per training page, about what its default press will show.

`QUESTIONS` is the one table of them, keyed by the page's key (each page's SETTINGS.page). A question
has short options, and reads the page's runs (`lib.engine.training.TrainingRun`: their settings, their
epoch-end figures, what the page measured into `results`, their live view's snapshots) to say which
option the runs made true, with the figures it used; or, when the runs cannot answer yet (nothing
finished, or a comparison missing one of its models), what is still missing. Every outcome is computed
from the numbers, never written in advance. Nothing here imports Streamlit or Keras: the page glue
(lib/page_glue/predict.py) asks the question and shows the answer, and a room's board tallies them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lib.models.long_memory import CHANCE_ACCURACY, SOLVED_ACCURACY


@dataclass(frozen=True)
class Reading:
    """What a page's runs say about its question: the option they made true (None while they cannot
    tell), and in words the figures it was read from, or what is still missing to answer."""

    outcome: str | None
    figures: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[str, ...]
    read: Callable[[Sequence[Any]], Reading]

    def outcome(self, runs: Sequence[Any]) -> str | None:
        """The option the runs made true, or None when they cannot answer yet."""
        return self.reading(runs).outcome

    def reading(self, runs: Sequence[Any]) -> Reading:
        reading = self.read(list(runs))
        assert reading.outcome is None or reading.outcome in self.options, reading
        return reading


def finished(runs: Sequence[Any]) -> list[Any]:
    """Runs trained to their last planned epoch: a stopped run is not the press the question asks about."""
    return [run for run in runs if run.status == "finished"]


def band(value: float, bounds: Sequence[float], options: Sequence[str]) -> str:
    """The option of `value` among bands split at `bounds` (ascending; a bound belongs to the band above)."""
    return options[int(np.searchsorted(np.asarray(bounds), value, side="right"))]


# --- Parameter sharing: how much will the MLP overfit? ----------------------------------------------

# The default press (100 digits, 512 hidden units, 20 epochs) ended 0.13 apart on seed 0 (60 epochs: 0.10): mid-band.
GAP_OPTIONS = ("Under 0.05", "0.05 to 0.20", "Over 0.20")
GAP_BOUNDS = (0.05, 0.20)


def read_overfitting(runs: Sequence[Any]) -> Reading:
    for run in reversed(finished(runs)):
        train, validation = run.final("accuracy", "train"), run.final("accuracy", "validation")
        if train is not None and validation is not None:
            gap = train - validation
            return Reading(
                band(gap, GAP_BOUNDS, GAP_OPTIONS),
                f"{run.display_label}: training accuracy {train:.3f}, validation accuracy {validation:.3f}, "
                f"a gap of {gap:.3f}",
            )
    return Reading(None, "no finished run yet: press Train and let it finish")


# --- ConvNets: moved digits ---------------------------------------------------------------------------

SHIFT_OPTIONS = ("The ConvNet", "The MLP", "Neither clearly (within 0.02)")
SHIFT_MARGIN = 0.02


def latest_finished_pair(runs: Sequence[Any]) -> tuple[Any, Any] | None:
    """The ConvNet and MLP runs of the newest press in which both finished and were measured."""
    measured = [run for run in finished(runs) if "translation" in run.results and run.results.get("press")]
    for mlp in reversed(measured):
        if mlp.results.get("kind") != "MLP":
            continue
        partners = [
            run
            for run in measured
            if run.results.get("kind") == "ConvNet" and run.results["press"] == mlp.results["press"]
        ]
        if partners:
            return partners[-1], mlp
    return None


def read_moved_digits(runs: Sequence[Any]) -> Reading:
    pair = latest_finished_pair(runs)
    if pair is None:
        return Reading(None, "no press with both the ConvNet and the MLP finished and tested yet")
    convnet, mlp = pair
    conv = convnet.results["translation"].set_index("shift")["accuracy"]
    dense = mlp.results["translation"].set_index("shift")["accuracy"]
    shifts = [shift for shift in conv.index if shift >= 1 and shift in dense.index]
    if not shifts:
        return Reading(None, "this canvas leaves no room to move the digits: choose a larger canvas")
    conv_moved, mlp_moved = float(conv.loc[shifts].mean()), float(dense.loc[shifts].mean())
    if conv_moved > mlp_moved + SHIFT_MARGIN:
        outcome = SHIFT_OPTIONS[0]
    elif mlp_moved > conv_moved + SHIFT_MARGIN:
        outcome = SHIFT_OPTIONS[1]
    else:
        outcome = SHIFT_OPTIONS[2]
    return Reading(
        outcome,
        f"mean accuracy on digits moved by 1 to {max(shifts)} pixels: {convnet.display_label} {conv_moved:.3f}, "
        f"{mlp.display_label} {mlp_moved:.3f}",
    )


# --- Recurrence: which network forecasts Mackey-Glass best? --------------------------------------------

FORECASTERS = ("Window MLP", "SimpleRNN", "LSTM", "GRU")
FORECAST_SERIES, FORECAST_HORIZON = "mackey_glass", 12


def read_best_forecaster(runs: Sequence[Any]) -> Reading:
    measured = [
        run
        for run in finished(runs)
        if run.results.get("series") == FORECAST_SERIES
        and run.results.get("horizon") == FORECAST_HORIZON
        and "test_mae" in run.results
    ]
    if not measured:
        return Reading(None, "no finished network on noise-free Mackey-Glass at horizon h = 12 yet")
    history = measured[-1].results["history"]
    newest = {}
    for run in measured:
        if run.results["history"] == history:
            newest[run.results["kind"]] = run
    missing = [kind for kind in FORECASTERS if kind not in newest]
    if missing:
        return Reading(None, f"at T = {history}, h = 12, still to train: {', '.join(missing)}")
    errors = {kind: float(newest[kind].results["test_mae"]) for kind in FORECASTERS}
    best = min(errors, key=errors.get)
    return Reading(
        best,
        f"test MAE at T = {history}, h = 12: " + ", ".join(f"{kind} {error:.4f}" for kind, error in errors.items()),
    )


# --- Vanishing gradients: which cell remembers? --------------------------------------------------------

MEMORY_OPTIONS = ("Only the LSTM", "Both", "Only the SimpleRNN", "Neither")


def read_memory(runs: Sequence[Any]) -> Reading:
    done = [run for run in finished(runs) if "press" in run.settings and run.final("accuracy") is not None]
    if not done:
        return Reading(None, "no finished press yet")
    # The newest press that trained both cells (a press of the LSTM alone cannot answer).
    by_press: dict[Any, dict[tuple[str, float], Any]] = {}
    for run in done:
        by_press.setdefault(run.settings["press"], {})[(run.settings["cell"], run.settings["clip_norm"])] = run
    for press in reversed(list(by_press)):
        cells = {cell: run for (cell, _), run in by_press[press].items()}
        if "LSTM" in cells and "SimpleRNN" in cells:
            lstm, simple = cells["LSTM"], cells["SimpleRNN"]
            lstm_accuracy, simple_accuracy = lstm.final("accuracy"), simple.final("accuracy")
            lstm_solved, simple_solved = lstm_accuracy >= SOLVED_ACCURACY, simple_accuracy >= SOLVED_ACCURACY
            outcome = MEMORY_OPTIONS[
                {(True, False): 0, (True, True): 1, (False, True): 2, (False, False): 3}[(lstm_solved, simple_solved)]
            ]
            return Reading(
                outcome,
                f"held-out accuracy at lag {lstm.settings['lag']}: LSTM {lstm_accuracy:.2f}, SimpleRNN "
                f"{simple_accuracy:.2f} (remembering means {SOLVED_ACCURACY:.2f} or more; chance is {CHANCE_ACCURACY:.3f})",
            )
    return Reading(None, "no finished press of both the SimpleRNN and the LSTM yet: train both cells in one press")


# --- Translator: the train/test mismatch of teacher forcing ----------------------------------------------

MISMATCH_OPTIONS = ("Under 3 points", "3 to 10 points", "Over 10 points")
MISMATCH_BOUNDS = (3.0, 10.0)
TEACHER_FORCING = "teacher forcing"


def read_mismatch(runs: Sequence[Any]) -> Reading:
    measured = [
        run
        for run in finished(runs)
        if run.results.get("training", TEACHER_FORCING) == TEACHER_FORCING
        and not run.results.get("sampling_probability")
        and "greedy_accuracy" in run.results
    ]
    if not measured:
        return Reading(None, "no finished teacher-forced run measured yet")
    run = measured[-1]
    forced, greedy = run.results["teacher_forced_accuracy"], run.results["greedy_accuracy"]
    gap = 100 * (forced - greedy)
    return Reading(
        band(gap, MISMATCH_BOUNDS, MISMATCH_OPTIONS),
        f"{run.display_label}: held-out token accuracy {100 * forced:.1f}% teacher-forced, {100 * greedy:.1f}% "
        f"decoding greedily, a gap of {gap:.1f} points",
    )


# --- Attention: long sentences ---------------------------------------------------------------------------

LONG_OPTIONS = ("As well (within 5 BLEU)", "Somewhat worse (5 to 20 BLEU lower)", "Much worse (over 20 BLEU lower)")
LONG_BOUNDS = (5.0, 20.0)
SHORT_MAX_WORDS, LONG_MIN_WORDS = 10, 16


def pooled_bleu(by_length, rows) -> tuple[float, int]:
    """The BLEU of a group of length buckets, each weighted by its sentences, and their count."""
    part = by_length[rows & (by_length["sentences"] > 0)]
    sentences = int(part["sentences"].sum())
    if not sentences:
        return float("nan"), 0
    return float((part["bleu"] * part["sentences"]).sum() / sentences), sentences


def read_long_sentences(runs: Sequence[Any]) -> Reading:
    measured = [run for run in finished(runs) if run.results.get("by_length") is not None]
    if not measured:
        return Reading(None, "no finished run measured on the held-out sentences yet")
    run = measured[-1]
    by_length = run.results["by_length"]
    short, short_count = pooled_bleu(by_length, by_length["max_words"] <= SHORT_MAX_WORDS)
    long, long_count = pooled_bleu(by_length, by_length["min_words"] >= LONG_MIN_WORDS)
    if not short_count or not long_count:
        return Reading(None, f"{run.display_label}: the held-out sentences lack short or long ones to compare")
    return Reading(
        band(short - long, LONG_BOUNDS, LONG_OPTIONS),
        f"{run.display_label}: greedy BLEU {short:.1f} on {short_count} held-out sentences of up to "
        f"{SHORT_MAX_WORDS} words, {long:.1f} on {long_count} of {LONG_MIN_WORDS} words or more",
    )


# --- Transformer: what one head looks at -----------------------------------------------------------------

FOCUS_OPTIONS = ("Spread over the sentence", "Shared by a few words", "On one word")
FOCUS_BOUNDS = (0.3, 0.6)


def read_head_focus(runs: Sequence[Any]) -> Reading:
    watched = [run for run in finished(runs) if run.snapshots]
    if not watched:
        return Reading(None, "no finished run with its live map yet")
    run = watched[-1]
    weights = np.asarray(run.snapshots[-1]["value"], dtype=np.float64)
    focus = float(weights.max(axis=-1).mean())
    layer = str(run.settings.get("watched_layer", "the watched layer")).replace("_", " ")
    head = int(run.settings.get("watched_head", 0)) + 1
    return Reading(
        band(focus, FOCUS_BOUNDS, FOCUS_OPTIONS),
        f"{run.display_label}, {layer}, head {head}: the largest weight of each row averages {focus:.2f} "
        f"at the end of training (1 is one word; spread evenly over its {weights.shape[-1]} positions would be "
        f"{1 / weights.shape[-1]:.2f})",
    )


# --- The table ---------------------------------------------------------------------------------------------

QUESTIONS: dict[str, Question] = {
    "parameter_sharing": Question(
        id="parameter_sharing.overfitting",
        text="Trained on the few digits set above with many hidden units, how far will the MLP's training "
        "accuracy end above its validation accuracy?",
        options=GAP_OPTIONS,
        read=read_overfitting,
    ),
    "convnets": Question(
        id="convnets.moved_digits",
        text="Both models train on centred digits only. Tested on digits moved by a few pixels, which will "
        "recognise more of them?",
        options=SHIFT_OPTIONS,
        read=read_moved_digits,
    ),
    "recurrence": Question(
        id="recurrence.best_forecaster",
        text="Which network will forecast Mackey-Glass best twelve steps ahead (lowest test error)?",
        options=FORECASTERS,
        read=read_best_forecaster,
    ),
    "vanishing_gradients": Question(
        id="vanishing_gradients.memory",
        text="At the lag set above, which cell will remember the first symbol (held-out accuracy "
        f"{SOLVED_ACCURACY:g} or more)?",
        options=MEMORY_OPTIONS,
        read=read_memory,
    ),
    "translator": Question(
        id="translator.mismatch",
        text="Trained with teacher forcing, how much lower will the held-out token accuracy be when the model "
        "reads its own guesses (greedy decoding) instead of the gold words?",
        options=MISMATCH_OPTIONS,
        read=read_mismatch,
    ),
    "attention": Question(
        id="attention.long_sentences",
        text="Will the attention model translate long held-out sentences (16 words or more) as well as short "
        "ones (up to 10 words)?",
        options=LONG_OPTIONS,
        read=read_long_sentences,
    ),
    "transformer": Question(
        id="transformer.head_focus",
        text="At the end of training, where will the head of the live map put each French word's attention?",
        options=FOCUS_OPTIONS,
        read=read_head_focus,
    ),
}


def question_for(page_key: str) -> Question | None:
    return QUESTIONS.get(page_key)
