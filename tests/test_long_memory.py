"""Unit tests for lib/long_memory.py and the shipped sweep data/long_memory_sweep.csv."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # Lets the file run even before pyproject.toml sets pythonpath.
    sys.path.insert(0, str(REPO_ROOT))

from lib import long_memory as lm  # noqa: E402

SWEEP_FILE = REPO_ROOT / "data" / "long_memory_sweep.csv"


# --------------------------------------------------------------------------------------------------
# The recall task's generator
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lag", [1, 5, 20, 150])
def test_label_is_the_symbol_shown_lag_steps_before_the_last_step(lag):
    x, y = lm.make_long_memory_data(lag, 200, seed=lag)
    assert x.shape == (200, lag + 1, lm.SYMBOL_COUNT) and x.dtype == np.float32
    assert y.shape == (200,) and y.dtype == np.int32
    # Every step is one symbol, one-hot.
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)
    assert set(np.unique(x)) == {0.0, 1.0}
    last = x.shape[1] - 1
    np.testing.assert_array_equal(np.argmax(x[:, last - lag], axis=-1), y)


def test_generator_is_deterministic_with_its_seed():
    first = lm.make_long_memory_data(10, 50, seed=3)
    again = lm.make_long_memory_data(10, 50, seed=3)
    other = lm.make_long_memory_data(10, 50, seed=4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_distractors_use_the_same_alphabet_so_recency_does_not_answer():
    x, y = lm.make_long_memory_data(30, 4000, seed=0)
    symbols = np.argmax(x, axis=-1)
    # Later steps show every symbol, and the last one matches the label only by chance.
    assert set(np.unique(symbols[:, 1:])) == set(range(lm.SYMBOL_COUNT))
    assert np.mean(symbols[:, -1] == y) == pytest.approx(lm.CHANCE_ACCURACY, abs=0.03)
    # Labels are balanced, so always answering one symbol scores chance.
    counts = np.bincount(y, minlength=lm.SYMBOL_COUNT) / len(y)
    np.testing.assert_allclose(counts, lm.CHANCE_ACCURACY, atol=0.03)


def test_chance_level_and_success_metric():
    assert lm.CHANCE_ACCURACY == pytest.approx(1 / 8)
    success = lm.success_metric(0.95)
    assert success.solved and success.chance == pytest.approx(0.125)
    assert lm.success_metric(lm.CHANCE_ACCURACY).above_chance == pytest.approx(0.0)
    assert lm.success_metric(1.0).above_chance == pytest.approx(1.0)
    assert not lm.success_metric(0.5).solved


def test_training_and_held_out_sequences_differ():
    data = lm.make_training_split(10, lm.TrainingBudget(training_examples=64, validation_examples=32), seed=0)
    assert data.x_train.shape == (64, 11, 8) and data.x_validation.shape == (32, 11, 8)
    assert not np.array_equal(data.x_train[:32], data.x_validation)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        lm.make_long_memory_data(0, 10)
    with pytest.raises(ValueError):
        lm.build_long_memory_model("Transformer")


# --------------------------------------------------------------------------------------------------
# The model and the budget
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", lm.RECURRENT_CELL_NAMES)
def test_model_reads_any_lag_and_counts_its_parameters(cell):
    model = lm.build_long_memory_model(cell, units=8, seed=1)
    assert model.count_params() == lm.model_parameter_count(cell, units=8)
    assert model.optimizer is not None  # Compiled, ready for lib.training.train_live.
    for lag in (3, 12):
        x, _ = lm.make_long_memory_data(lag, 4, seed=0)
        probabilities = model.predict(x, verbose=0)
        assert probabilities.shape == (4, lm.SYMBOL_COUNT)
        np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_same_seed_gives_the_same_initial_model():
    first = lm.build_long_memory_model("GRU", units=8, seed=2)
    again = lm.build_long_memory_model("GRU", units=8, seed=2)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_tiny_run_learns_a_short_lag():
    budget = lm.TrainingBudget(units=16, training_examples=1024, validation_examples=256, epochs=4)
    row = lm.train_once("SimpleRNN", lag=2, seed=0, budget=budget)
    assert row["accuracy"] > 0.6 > lm.CHANCE_ACCURACY
    assert row["parameters"] == lm.model_parameter_count("SimpleRNN", units=16)


def test_default_budget_is_the_documented_one():
    budget = lm.DEFAULT_BUDGET
    assert budget.gradient_steps == budget.epochs * math.ceil(budget.training_examples / budget.batch_size)
    assert lm.DEFAULT_LAG in lm.SWEEP_LAGS


# --------------------------------------------------------------------------------------------------
# The shipped sweep
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    if not SWEEP_FILE.exists():
        pytest.fail(f"{SWEEP_FILE} is missing: run scripts/long_memory_sweep.py (see data/README.md).")
    return pd.read_csv(SWEEP_FILE)


def test_sweep_has_the_documented_columns(sweep):
    required = {"cell", "lag", "seed", "accuracy", "chance", "epochs", "seconds", "units", "parameters"}
    assert required <= set(sweep.columns)
    assert not sweep[sorted(required)].isna().any().any()


def test_sweep_covers_every_lag_for_every_cell(sweep):
    covered = set(zip(sweep["cell"], sweep["lag"]))
    expected = {(cell, lag) for cell in lm.RECURRENT_CELL_NAMES for lag in lm.SWEEP_LAGS}
    assert expected <= covered
    assert not sweep.duplicated(["cell", "lag", "seed"]).any()


def test_sweep_values_are_sane(sweep):
    assert sweep["accuracy"].between(0, 1).all()
    np.testing.assert_allclose(sweep["chance"], lm.CHANCE_ACCURACY, atol=1e-4)
    assert (sweep["seconds"] > 0).all()
    # The same budget for every run, and the parameter counts that the one counter gives.
    assert sweep["epochs"].nunique() == 1 and sweep["units"].nunique() == 1
    for row in sweep.itertuples():
        assert row.parameters == lm.model_parameter_count(row.cell, units=row.units)


def test_sweep_summary_and_longest_lag_solved():
    sweep = pd.DataFrame(
        {
            "cell": ["SimpleRNN"] * 4 + ["LSTM"] * 4,
            "lag": [5, 5, 50, 50] * 2,
            "seed": [0, 1, 0, 1] * 2,
            "accuracy": [1.0, 0.95, 0.2, 0.95, 1.0, 1.0, 0.99, 0.93],
            "chance": [0.125] * 8,
        }
    )
    summary = lm.summarise_sweep(sweep)
    assert summary["cell"].tolist() == ["SimpleRNN", "SimpleRNN", "LSTM", "LSTM"]
    assert summary["solved_seeds"].tolist() == [2, 1, 2, 2]
    assert summary.loc[1, "mean_accuracy"] == pytest.approx(0.575)
    # One seed of two is not "most seeds": the SimpleRNN's longest solved lag stays 5.
    assert lm.longest_lag_solved(sweep) == {"SimpleRNN": 5, "LSTM": 50}


def test_shipped_sweep_loads_through_the_library(sweep):
    assert len(lm.load_sweep()) == len(sweep)
    assert set(lm.longest_lag_solved(sweep)) == set(lm.RECURRENT_CELL_NAMES)
