"""The long-memory experiment of the Vanishing-gradients page: how far back can each cell remember?

The notes say a basic RNN remembers about 20 steps and an LSTM about 100. This module holds a
synthetic task whose answer depends only on an input `lag` steps back, the Keras model that the page
trains on it with the live-training engine, the training budget that the shipped sweep and the live
run share, and the definition of success.

The task, "recall the first symbol": a sequence of `lag + 1` steps, each a one-hot vector over
`SYMBOL_COUNT` symbols. The symbol at step 0 is the one to recall; every later step shows a
distractor drawn from the same alphabet, so the network cannot just keep the last symbol it saw.
The label, read at the last step, is the symbol shown `lag` steps earlier. Guessing gives the chance
level 1 / `SYMBOL_COUNT`.

We chose it over the adding problem of Hochreiter and Schmidhuber (1997) because its verdict is
plain (accuracy against a chance line), and because at a lag of a few steps every cell solves it in
seconds, so the gap that opens with the lag is the cells' doing and not the task's difficulty.

Keras is imported inside the builders only, so that importing this module stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lib.params import count_recurrent_params

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the builders import it.
    import keras

RECURRENT_CELL_NAMES: tuple[str, ...] = ("SimpleRNN", "LSTM", "GRU")
SWEEP_LAGS: tuple[int, ...] = (5, 10, 20, 50, 100, 150)

# Eight symbols: chance is 12.5 %, far enough below success that a partial memory still shows.
SYMBOL_COUNT = 8
CHANCE_ACCURACY = 1.0 / SYMBOL_COUNT

# A run "remembers" when its held-out accuracy reaches this; the page shows the accuracy itself too.
SOLVED_ACCURACY = 0.9

# The notes' "Practical consequences": the longest lag each cell is expected to bridge. The GRU is
# not named there; it is expected to behave like the LSTM, whose gating it simplifies.
NOTES_EXPECTED_MAX_LAG = {"SimpleRNN": 20, "LSTM": 100}

SWEEP_FILE = Path(__file__).parent.parent / "data" / "long_memory_sweep.csv"


@dataclass(frozen=True)
class TrainingBudget:
    """The one budget that the shipped sweep and the page's live run give every cell and every lag.

    The same units, examples, epochs, batch size and learning rate for all three cells: the LSTM and
    the GRU then hold four and three times the SimpleRNN's recurrent parameters, which is the price
    of their gates and is reported beside each result. The defaults let one live run at the default
    lag finish in under 30 s on two shared CPU cores.
    """

    units: int = 32
    training_examples: int = 4096
    validation_examples: int = 512
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3

    @property
    def gradient_steps(self) -> int:
        return self.epochs * math.ceil(self.training_examples / self.batch_size)


DEFAULT_BUDGET = TrainingBudget()
DEFAULT_LAG = 20


@dataclass(frozen=True)
class LongMemoryData:
    """Training and held-out sequences of the recall task, with the labels as symbol indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    lag: int


def make_long_memory_data(
    lag: int, count: int, seed: int = 0, symbols: int = SYMBOL_COUNT
) -> tuple[np.ndarray, np.ndarray]:
    """`count` sequences of the recall task and their labels, reproducible from `seed`.

    Returns `x` of shape (count, lag + 1, symbols), float32 one-hot rows, and `y` of shape (count,),
    int32, with `y[i]` the symbol shown at step 0, which is `lag` steps before the last step.
    """
    if lag < 1:
        raise ValueError("The lag must be at least 1 step.")
    if count < 1:
        raise ValueError("At least one sequence is needed.")
    generator = np.random.default_rng(seed)
    indices = generator.integers(0, symbols, size=(count, lag + 1))
    x = np.eye(symbols, dtype=np.float32)[indices]
    y = indices[:, 0].astype(np.int32)
    return x, y


def make_training_split(lag: int, budget: TrainingBudget = DEFAULT_BUDGET, seed: int = 0) -> LongMemoryData:
    """Training and held-out sequences drawn from separate seeds, so no held-out sequence is trained on."""
    x_train, y_train = make_long_memory_data(lag, budget.training_examples, seed=2 * seed)
    x_validation, y_validation = make_long_memory_data(lag, budget.validation_examples, seed=2 * seed + 1_000_003)
    return LongMemoryData(x_train, y_train, x_validation, y_validation, lag)


def _recurrent_layer(cell: str, units: int, seed: int, return_sequences: bool = False):
    """One SimpleRNN, LSTM or GRU with seeded input and recurrent initializers (Keras's own defaults)."""
    import keras

    layer_classes = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
    if cell not in layer_classes:
        raise ValueError(f"Unknown cell {cell!r}; use one of {', '.join(RECURRENT_CELL_NAMES)}.")
    return layer_classes[cell](
        units,
        return_sequences=return_sequences,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1009 + 1),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed * 1009 + 2),
        name=cell.lower(),
    )


def build_long_memory_model(
    cell: str,
    units: int = DEFAULT_BUDGET.units,
    seed: int = 0,
    learning_rate: float = DEFAULT_BUDGET.learning_rate,
    symbols: int = SYMBOL_COUNT,
) -> "keras.Model":
    """A recurrent layer reading the one-hot sequence, then a softmax over the symbols at the last step.

    The time axis is left open (None), so the same model reads sequences of any lag: the page can
    train it at one lag and then probe its gradients or its gates on longer sequences. The model is
    compiled (Adam, sparse categorical cross-entropy, accuracy), ready for `lib.training.train_live`.
    """
    import keras

    inputs = keras.Input(shape=(None, symbols), name="symbols")
    memory = _recurrent_layer(cell, units, seed)(inputs)
    outputs = keras.layers.Dense(
        symbols,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1009 + 3),
        name="recalled_symbol",
    )(memory)
    model = keras.Model(inputs, outputs, name=f"long_memory_{cell.lower()}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def model_parameter_count(cell: str, units: int = DEFAULT_BUDGET.units, symbols: int = SYMBOL_COUNT) -> int:
    """The recurrent layer's parameters (from the one counter) plus the softmax layer's."""
    return count_recurrent_params(cell, symbols, units).total + units * symbols + symbols


@dataclass(frozen=True)
class Success:
    """Held-out accuracy of one run, beside chance, and whether it counts as remembering."""

    accuracy: float
    chance: float
    solved: bool

    @property
    def above_chance(self) -> float:
        """The share of the way from chance (0) to perfect recall (1)."""
        return (self.accuracy - self.chance) / (1.0 - self.chance)


def success_metric(accuracy: float, chance: float = CHANCE_ACCURACY) -> Success:
    """Success is the held-out accuracy of recall; chance is 1 / symbols; solved means ≥ SOLVED_ACCURACY."""
    return Success(float(accuracy), float(chance), float(accuracy) >= SOLVED_ACCURACY)


def evaluate_accuracy(model: "keras.Model", x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """The share of held-out sequences whose first symbol the model recalls (argmax of its softmax)."""
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == y))


def train_once(cell: str, lag: int, seed: int = 0, budget: TrainingBudget = DEFAULT_BUDGET) -> dict:
    """Train one cell at one lag with the budget, without a page: the sweep script's unit of work.

    Returns the row that the shipped CSV holds for this run. The page trains through
    `lib.training.train_live` instead, with the same data, model and budget.
    """
    import time

    data = make_training_split(lag, budget, seed=seed)
    model = build_long_memory_model(cell, units=budget.units, seed=seed, learning_rate=budget.learning_rate)
    started = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_validation, data.y_validation),
        epochs=budget.epochs,
        batch_size=budget.batch_size,
        # The sequences are already in random order, and Keras's shuffling draws from an unseeded
        # generator: not shuffling keeps the sweep reproducible at no cost to what it measures.
        shuffle=False,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    accuracy = evaluate_accuracy(model, data.x_validation, data.y_validation)
    best_accuracy = max(history.history.get("val_accuracy", [accuracy]))
    return {
        "cell": cell,
        "lag": int(lag),
        "seed": int(seed),
        "accuracy": accuracy,
        "best_epoch_accuracy": float(best_accuracy),
        "train_accuracy": float(history.history["accuracy"][-1]),
        "chance": CHANCE_ACCURACY,
        "solved": accuracy >= SOLVED_ACCURACY,
        "epochs": budget.epochs,
        "seconds": round(seconds, 2),
        "units": budget.units,
        "parameters": model.count_params(),
        "training_examples": budget.training_examples,
        "validation_examples": budget.validation_examples,
        "batch_size": budget.batch_size,
        "learning_rate": budget.learning_rate,
    }


def load_sweep(path: Path = SWEEP_FILE) -> pd.DataFrame:
    """The shipped sweep: one row per (cell, lag, seed), as written by scripts/long_memory_sweep.py."""
    return pd.read_csv(path)


def summarise_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per cell and lag: mean, lowest and highest held-out accuracy over the seeds, and how many solved it.

    Returns columns cell, lag, seeds, mean_accuracy, min_accuracy, max_accuracy, solved_seeds and
    chance, in the order of `RECURRENT_CELL_NAMES` and increasing lag, ready for a chart.
    """
    grouped = sweep.groupby(["cell", "lag"], sort=False)
    summary = grouped.agg(
        seeds=("seed", "nunique"),
        mean_accuracy=("accuracy", "mean"),
        min_accuracy=("accuracy", "min"),
        max_accuracy=("accuracy", "max"),
        solved_seeds=("accuracy", lambda values: int((values >= SOLVED_ACCURACY).sum())),
        chance=("chance", "first"),
    ).reset_index()
    order = {name: index for index, name in enumerate(RECURRENT_CELL_NAMES)}
    summary["cell_order"] = summary["cell"].map(order)
    summary = summary.sort_values(["cell_order", "lag"]).drop(columns="cell_order")
    return summary.reset_index(drop=True)


def longest_lag_solved(sweep: pd.DataFrame) -> dict[str, int | None]:
    """For each cell, the longest lag at which most seeds solved the task (None if none did).

    This is what the page puts beside the notes' expectation (`NOTES_EXPECTED_MAX_LAG`).
    """
    summary = summarise_sweep(sweep)
    longest: dict[str, int | None] = {}
    for cell, rows in summary.groupby("cell", sort=False):
        solved = rows[rows["solved_seeds"] * 2 > rows["seeds"]]
        longest[cell] = int(solved["lag"].max()) if not solved.empty else None
    return longest
