"""Predict before you press: each training page's question is answered from its runs' numbers (on runs built
here with known figures, no training), and on real pages a prediction is asked before the first press,
kept, and shown beside what the run measured; pressing Train without answering works too."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib.app.predictions import QUESTIONS
from lib.engine.training import TrainingRun
from tests.page_support import APP, APPTEST_TIMEOUT

TRAINING_PAGES = [
    "parameter_sharing",
    "convnets",
    "recurrence",
    "vanishing_gradients",
    "translator",
    "attention",
    "transformer",
]


def run(
    label: str = "run",
    *,
    status: str = "finished",
    settings: dict | None = None,
    results: dict | None = None,
    accuracy: tuple[float, float] | None = None,
    snapshots: list | None = None,
) -> TrainingRun:
    """A run as the engine records it, with the figures a test gives: `accuracy` is (train, validation)
    at the last epoch's end."""
    made = TrainingRun(
        label=label,
        settings=dict(settings or {}),
        metrics=["loss", "accuracy"],
        epochs_planned=3,
        batches_per_epoch=10,
        status=status,
    )
    if accuracy is not None:
        made.epoch_rows = [
            {"metric": "accuracy", "split": "train", "epoch": 3.0, "value": accuracy[0]},
            {"metric": "accuracy", "split": "validation", "epoch": 3.0, "value": accuracy[1]},
        ]
    made.results = dict(results or {})
    made.snapshots = list(snapshots or [])
    return made


# --- The table ------------------------------------------------------------------------------------------


def test_every_training_page_has_one_question_under_its_own_page_key():
    assert set(QUESTIONS) == set(TRAINING_PAGES)
    for page in TRAINING_PAGES:
        settings = importlib.import_module(f"lib.page_glue.settings.{page}").SETTINGS
        assert settings.page == page
    ids = [question.id for question in QUESTIONS.values()]
    assert len(set(ids)) == len(ids)
    for question in QUESTIONS.values():
        assert question.text.endswith("?") and len(set(question.options)) == len(question.options) >= 2


@pytest.mark.parametrize("page", TRAINING_PAGES)
def test_no_run_answers_nothing_and_says_what_is_missing(page):
    reading = QUESTIONS[page].reading([])
    assert reading.outcome is None and reading.figures


# --- Parameter sharing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "train, validation, expected",
    [(1.0, 0.97, "Under 0.05"), (1.0, 0.9, "0.05 to 0.20"), (1.0, 0.75, "Over 0.20"), (0.9, 0.6, "Over 0.20")],
)
def test_overfitting_is_read_from_the_newest_finished_runs_gap(train, validation, expected):
    question = QUESTIONS["parameter_sharing"]
    runs = [run("older", accuracy=(1.0, 1.0)), run("newest", accuracy=(train, validation))]
    reading = question.reading(runs)
    assert reading.outcome == expected
    assert f"{validation:.3f}" in reading.figures and f"{train - validation:.3f}" in reading.figures


def test_a_stopped_run_or_one_without_an_epoch_does_not_answer():
    question = QUESTIONS["parameter_sharing"]
    assert question.outcome([run(status="stopped", accuracy=(1.0, 0.5))]) is None
    assert question.outcome([run()]) is None
    # A stopped newest run leaves the answer to the newest finished one.
    assert question.outcome([run(accuracy=(1.0, 0.98)), run(status="stopped", accuracy=(1.0, 0.5))]) == "Under 0.05"


# --- ConvNets ---------------------------------------------------------------------------------------------


def shifted(kind: str, press: int, by_shift: list[float], status: str = "finished") -> TrainingRun:
    frame = pd.DataFrame({"shift": range(len(by_shift)), "accuracy": by_shift})
    return run(f"{kind} #{press}", status=status, results={"kind": kind, "press": press, "translation": frame})


@pytest.mark.parametrize(
    "convnet, mlp, expected",
    [
        ([0.95, 0.9, 0.8], [0.97, 0.5, 0.2], "The ConvNet"),
        ([0.95, 0.3, 0.2], [0.97, 0.6, 0.4], "The MLP"),
        ([0.95, 0.6, 0.5], [0.97, 0.61, 0.5], "Neither clearly (within 0.02)"),
    ],
)
def test_moved_digits_compare_the_pairs_mean_accuracy_over_the_shifts(convnet, mlp, expected):
    reading = QUESTIONS["convnets"].reading([shifted("ConvNet", 1, convnet), shifted("MLP", 1, mlp)])
    assert reading.outcome == expected
    assert f"{np.mean(convnet[1:]):.3f}" in reading.figures and "1 to 2 pixels" in reading.figures


def test_moved_digits_need_both_models_of_one_press():
    question = QUESTIONS["convnets"]
    assert question.outcome([shifted("ConvNet", 1, [0.9, 0.8])]) is None
    assert question.outcome([shifted("ConvNet", 1, [0.9, 0.8]), shifted("MLP", 1, [0.9, 0.1], "stopped")]) is None
    assert question.outcome([shifted("ConvNet", 1, [0.9, 0.8]), shifted("MLP", 2, [0.9, 0.1])]) is None
    # No shift on a canvas the digit fills: nothing to compare.
    assert question.outcome([shifted("ConvNet", 1, [0.9]), shifted("MLP", 1, [0.9])]) is None


# --- Recurrence -------------------------------------------------------------------------------------------


def forecaster(kind: str, error: float, history: int = 48, horizon: int = 12, series: str = "mackey_glass"):
    results = {"series": series, "kind": kind, "history": history, "horizon": horizon, "test_mae": error}
    return run(f"{kind} · T = {history}", results=results)


def test_the_best_forecaster_is_the_lowest_test_error_of_the_four():
    runs = [forecaster("Window MLP", 0.017), forecaster("SimpleRNN", 0.012), forecaster("LSTM", 0.009)]
    question = QUESTIONS["recurrence"]
    missing = question.reading(runs)
    assert missing.outcome is None and "GRU" in missing.figures
    reading = question.reading([*runs, forecaster("GRU", 0.011)])
    assert reading.outcome == "LSTM" and "LSTM 0.0090" in reading.figures and "GRU 0.0110" in reading.figures
    assert question.outcome([*runs, forecaster("GRU", 0.005)]) == "GRU"


def test_the_best_forecaster_reads_mackey_glass_twelve_steps_ahead_at_the_newest_history_only():
    four = [forecaster(kind, error) for kind, error in zip(("Window MLP", "SimpleRNN", "LSTM", "GRU"), (4, 3, 2, 1))]
    question = QUESTIONS["recurrence"]
    assert question.outcome([forecaster(kind, 1.0, horizon=24) for kind in ("Window MLP", "LSTM")]) is None
    assert question.outcome([forecaster("LSTM", 1.0, series="hourly")]) is None
    # The newest run is at another history T: its four are not all trained yet.
    assert question.outcome([*four, forecaster("LSTM", 0.5, history=96)]) is None
    assert question.outcome([*four, forecaster("Window MLP", 0.5)]) == "Window MLP"


# --- Vanishing gradients ----------------------------------------------------------------------------------


def memory(cell: str, accuracy: float, press: int = 1, lag: int = 50, status: str = "finished") -> TrainingRun:
    settings = {"cell": cell, "lag": lag, "setup": "era", "clip_norm": 0.0, "seed": 0, "press": press}
    return run(f"{cell} · lag {lag}", status=status, settings=settings, accuracy=(accuracy, accuracy))


@pytest.mark.parametrize(
    "lstm, simple, expected",
    [(1.0, 0.2, "Only the LSTM"), (0.95, 0.91, "Both"), (0.3, 0.92, "Only the SimpleRNN"), (0.4, 0.13, "Neither")],
)
def test_memory_says_which_cells_reached_the_solved_accuracy(lstm, simple, expected):
    reading = QUESTIONS["vanishing_gradients"].reading([memory("SimpleRNN", simple), memory("LSTM", lstm)])
    assert reading.outcome == expected
    assert f"LSTM {lstm:.2f}" in reading.figures and "lag 50" in reading.figures


def test_memory_needs_both_cells_of_one_finished_press():
    question = QUESTIONS["vanishing_gradients"]
    assert question.outcome([memory("LSTM", 1.0)]) is None
    assert question.outcome([memory("SimpleRNN", 0.2), memory("LSTM", 1.0, status="stopped")]) is None
    # A newer press of the LSTM alone leaves the answer to the press that trained both.
    both = [memory("SimpleRNN", 0.2), memory("LSTM", 1.0)]
    assert question.outcome([*both, memory("LSTM", 0.3, press=2)]) == "Only the LSTM"


# --- Translator -----------------------------------------------------------------------------------------


def translation(forced: float, greedy: float, training: str = "teacher forcing", status: str = "finished"):
    results = {"training": training, "teacher_forced_accuracy": forced, "greedy_accuracy": greedy}
    return run(f"GRU · {training}", status=status, results=results)


@pytest.mark.parametrize(
    "forced, greedy, expected",
    [(0.93, 0.92, "Under 3 points"), (0.93, 0.88, "3 to 10 points"), (0.93, 0.81, "Over 10 points")],
)
def test_mismatch_is_the_teacher_forced_runs_gap_in_points(forced, greedy, expected):
    reading = QUESTIONS["translator"].reading([translation(forced, greedy)])
    assert reading.outcome == expected
    assert f"{100 * (forced - greedy):.1f} points" in reading.figures


def test_mismatch_reads_teacher_forced_runs_only():
    question = QUESTIONS["translator"]
    assert question.outcome([translation(0.93, 0.92, "scheduled sampling")]) is None
    assert question.outcome([translation(0.93, 0.5, status="stopped")]) is None
    assert question.outcome([translation(0.93, 0.8), translation(0.93, 0.92, "professor forcing")]) == "Over 10 points"


# --- Attention ------------------------------------------------------------------------------------------


def by_length(bleus: list[float], sentences: tuple[int, ...] = (87, 237, 96, 53, 21, 6)) -> TrainingRun:
    frame = pd.DataFrame(
        {
            "min_words": [1, 6, 11, 16, 21, 26][: len(bleus)],
            "max_words": [5, 10, 15, 20, 25, 30][: len(bleus)],
            "sentences": sentences[: len(bleus)],
            "bleu": bleus,
        }
    )
    return run("attention", results={"by_length": frame})


@pytest.mark.parametrize(
    "bleus, expected",
    [
        ([100, 99, 98, 97, 96, 95], "As well (within 5 BLEU)"),
        ([100, 99, 89, 88, 80, 70], "Somewhat worse (5 to 20 BLEU lower)"),
        ([100, 99, 89, 68, 43, 35], "Much worse (over 20 BLEU lower)"),
    ],
)
def test_long_sentences_compare_pooled_bleu_of_short_and_long_buckets(bleus, expected):
    reading = QUESTIONS["attention"].reading([by_length(bleus)])
    assert reading.outcome == expected
    short = (100 * 87 + bleus[1] * 237) / (87 + 237)
    long = (bleus[3] * 53 + bleus[4] * 21 + bleus[5] * 6) / 80
    assert f"{short:.1f} on 324" in reading.figures and f"{long:.1f} on 80" in reading.figures


def test_long_sentences_need_long_held_out_sentences():
    assert QUESTIONS["attention"].outcome([by_length([100, 90, 80])]) is None
    assert QUESTIONS["attention"].outcome([by_length([100, 90, 80, 70], sentences=(87, 237, 96, 0))]) is None


# --- Transformer ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]], "On one word"),
        ([[0.5, 0.4, 0.1], [0.3, 0.3, 0.4]], "Shared by a few words"),
        ([[0.25, 0.25, 0.25, 0.25]], "Spread over the sentence"),
    ],
)
def test_head_focus_is_the_mean_largest_weight_of_the_last_snapshot(rows, expected):
    settings = {"watched_layer": "decoder_2_cross_attention", "watched_head": 0}
    early = {"epoch": 0.5, "value": np.full((2, 3), 1 / 3, dtype=np.float16)}
    last = {"epoch": 2.0, "value": np.array(rows, dtype=np.float16)}
    reading = QUESTIONS["transformer"].reading([run(settings=settings, snapshots=[early, last])])
    assert reading.outcome == expected
    expected_focus = float(np.asarray(rows, dtype=np.float16).astype(float).max(axis=1).mean())
    assert f"{expected_focus:.2f}" in reading.figures and "decoder 2 cross attention, head 1" in reading.figures


def test_head_focus_needs_a_finished_run_with_its_map():
    question = QUESTIONS["transformer"]
    assert question.outcome([run()]) is None
    stopped = run(status="stopped", snapshots=[{"epoch": 1.0, "value": np.eye(3)}])
    assert question.outcome([stopped]) is None


# --- On the real pages ----------------------------------------------------------------------------------


def open_link(page: str, settings: dict[str, str]) -> AppTest:
    """A browser opening `/<page>?<settings>` directly."""
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    app.switch_page(f"app_pages/{page}.py")
    app.query_params.update(settings)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def press(app: AppTest, label: str = "Train") -> None:
    next(button for button in app.button if button.label == label).click().run()
    assert not app.exception, [e.value for e in app.exception]


def page_text(app: AppTest) -> str:
    elements = [*app.markdown, *app.caption, *app.success, *app.error, *app.info, *app.warning]
    return "\n".join(str(element.value) for element in elements)


def prediction_results(app: AppTest) -> list:
    return [element for element in [*app.success, *app.error, *app.info] if "You predicted" in element.value]


def question_radio(app: AppTest, page: str):
    return [radio for radio in app.radio if radio.key == f"prediction_choice::{page}"]


# Twenty digits for five epochs: the cheapest press of the page.
SMALL_DIGITS = {"training_examples": "20", "epochs": "5", "seed": "7"}


def test_a_prediction_is_asked_kept_and_shown_beside_the_runs_gap():
    page = "parameter_sharing"
    app = open_link(page, SMALL_DIGITS)
    (radio,) = question_radio(app, page)
    assert radio.value is None and QUESTIONS[page].text in radio.label  # Nothing is preselected.
    answer = QUESTIONS[page].options[1]
    radio.set_value(answer).run()
    # Answered: the question gives way to one line, before the Train button.
    assert not question_radio(app, page)
    assert f"**Your prediction:** {answer}" in page_text(app)
    # The answer is no setting: neither the address nor the page's share link carries it.
    assert not any("prediction" in key for key in app.query_params)
    assert app.query_params["training_examples"] == "20"
    links = [code.value for code in app.code if "training_examples=20" in code.value]
    assert links and not any("prediction" in link for link in links)
    press(app)
    runs = app.session_state[f"training_runs::{page}"]
    assert len(runs) == 1 and runs[0].status == "finished"
    table = app.dataframe[-1].value
    train, validation = table.iloc[0]["Train accuracy"], table.iloc[0]["Validation accuracy"]
    gap = train - validation
    shown = QUESTIONS[page].options[int(gap >= 0.05) + int(gap >= 0.20)]
    result = prediction_results(app)
    assert len(result) == 1
    assert f"**You predicted:** {answer}. **Your runs show:** {shown}" in result[0].value
    assert f"training accuracy {train:.3f}, validation accuracy {validation:.3f}" in result[0].value
    # Right is green, wrong is red.
    assert (result[0] in app.success) == (shown == answer)
    assert result[0].value.endswith("Right.") == (shown == answer)


def test_train_without_answering_works_and_shows_no_prediction():
    page = "parameter_sharing"
    app = open_link(page, {**SMALL_DIGITS, "seed": "8"})
    assert question_radio(app, page)
    press(app)
    assert app.session_state[f"training_runs::{page}"][0].status == "finished"
    assert not question_radio(app, page)  # After the first run the question is gone.
    text = page_text(app)
    assert "You predicted" not in text and "Your prediction" not in text


def test_skip_hides_the_question():
    page = "parameter_sharing"
    app = open_link(page, SMALL_DIGITS)
    next(button for button in app.button if button.label == "Skip").click().run()
    assert not question_radio(app, page) and "Your prediction" not in page_text(app)


def test_a_prediction_can_be_changed_until_the_first_press():
    page = "parameter_sharing"
    app = open_link(page, SMALL_DIGITS)
    question_radio(app, page)[0].set_value("Over 0.20").run()
    next(button for button in app.button if button.label == "Change").click().run()
    (radio,) = question_radio(app, page)
    assert radio.value is None and "Your prediction" not in page_text(app)
    radio.set_value("Under 0.05").run()
    assert "**Your prediction:** Under 0.05" in page_text(app) and "Over 0.20" not in page_text(app)


def test_vanishing_gradients_prediction_is_shown_beside_both_cells_accuracy():
    from lib.models.long_memory import SOLVED_ACCURACY, SWEEP_LAGS

    page = "vanishing_gradients"
    app = open_link(page, {"memory_lag": str(min(SWEEP_LAGS))})
    (radio,) = question_radio(app, page)
    answer = "Only the LSTM"
    radio.set_value(answer).run()
    assert f"**Your prediction:** {answer}" in page_text(app)
    press(app)
    runs = [run for run in app.session_state[f"training_runs::{page}"] if run.status == "finished"]
    accuracy = {run.settings["cell"]: run.final("accuracy") for run in runs}
    assert set(accuracy) == {"SimpleRNN", "LSTM"}
    solved = {cell: value >= SOLVED_ACCURACY for cell, value in accuracy.items()}
    shown = {(True, False): "Only the LSTM", (True, True): "Both", (False, True): "Only the SimpleRNN"}.get(
        (solved["LSTM"], solved["SimpleRNN"]), "Neither"
    )
    result = prediction_results(app)
    assert len(result) == 1
    assert f"**You predicted:** {answer}. **Your runs show:** {shown}" in result[0].value
    assert f"LSTM {accuracy['LSTM']:.2f}, SimpleRNN {accuracy['SimpleRNN']:.2f}" in result[0].value
    assert not question_radio(app, page)


@pytest.mark.parametrize("page", ["convnets", "recurrence", "translator", "attention", "transformer"])
def test_every_other_training_page_asks_its_question_before_its_first_press(page):
    app = open_link(page, {})
    (radio,) = question_radio(app, page)
    assert radio.value is None and QUESTIONS[page].text in radio.label
    assert list(radio.options) == list(QUESTIONS[page].options)
    radio.set_value(QUESTIONS[page].options[0]).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not question_radio(app, page)
    assert f"**Your prediction:** {QUESTIONS[page].options[0]}" in page_text(app)


def test_translator_prediction_is_shown_beside_the_measured_mismatch():
    page = "translator"
    # A small press: 3,000 pairs, one epoch, 64 units.
    app = open_link(page, {"training_pairs": "3000", "epochs": "1", "units": "64", "seed": "5"})
    answer = "Over 10 points"
    question_radio(app, page)[0].set_value(answer).run()
    press(app, "Train from scratch")
    table = next(frame.value for frame in app.dataframe if "Gap (points)" in frame.value.columns)
    gap = float(table.iloc[-1]["Gap (points)"])
    shown = QUESTIONS[page].options[int(gap >= 3) + int(gap >= 10)]
    (result,) = prediction_results(app)
    assert f"**You predicted:** {answer}. **Your runs show:** {shown}" in result.value
    assert f"a gap of {gap:.1f} points" in result.value
    assert (result in app.success) == (shown == answer)
    assert not question_radio(app, page)
