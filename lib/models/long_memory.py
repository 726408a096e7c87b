"""The long-memory experiment of the Vanishing-gradients page: how far back can each cell remember?

The notes say a basic RNN remembers about 20 steps and an LSTM about 100. That claim was established
on streams of fresh sequences, where nothing can be memorised (Bengio, Simard and Frasconi 1994;
Hochreiter and Schmidhuber 1997, the long-time-lag experiments), so this module measures it that way:

- The task, "recall the first symbol", is Hochreiter and Schmidhuber's experiment 2 ("noise-free
  sequences with long time lags") with more than two classes: a sequence of `lag + 1` one-hot steps
  over `SYMBOL_COUNT` symbols; step 0 shows the symbol to recall, every later step a distractor from
  the same alphabet, so the last symbol seen says nothing; the label, read at the last step, is the
  symbol shown `lag` steps earlier. Chance is 1 / `SYMBOL_COUNT`.
- Training sequences are generated fresh for every batch from a seeded stream (`FreshSequences`), so
  a network can only score on held-out sequences by carrying the symbol; the held-out sequences are
  fixed (`held_out_sequences`) and never appear in the stream.
- The budget is counted in updates (`StreamBudget`), the same for every cell and every lag.
- Two setups (`SETUPS`): Keras's modern defaults (orthogonal recurrent weights, forget-gate bias 1,
  Adam) and the setting of the era the notes' figures come from (small random weights, no forget-gate
  bias, SGD with momentum, no clipping); gradient clipping is a third switch, for the SimpleRNN.

Keras is imported inside the builders only, so that importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lib.engine.graph_lock import builds_graph
from lib.engine.params import count_recurrent_params

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the builders import it.
    import keras

RECURRENT_CELL_NAMES: tuple[str, ...] = ("SimpleRNN", "LSTM", "GRU")
SWEEP_LAGS: tuple[int, ...] = (5, 10, 20, 50, 100, 200)
SWEEP_SEEDS: tuple[int, ...] = (0, 1, 2)

# Eight symbols: chance is 12.5 %, far enough below success that a partial memory still shows.
SYMBOL_COUNT = 8
CHANCE_ACCURACY = 1.0 / SYMBOL_COUNT

# A run "remembers" when its held-out accuracy reaches this; the page shows the accuracy itself too.
SOLVED_ACCURACY = 0.9

# The notes' "Practical consequences": the longest lag each cell is expected to bridge. The GRU is
# not named there; it is expected to behave like the LSTM, whose gating it simplifies.
NOTES_EXPECTED_MAX_LAG = {"SimpleRNN": 20, "LSTM": 100}

SWEEP_FILE = Path(__file__).parents[2] / "data" / "long_memory_sweep.csv"

# The seed of the held-out sequences is far from any training stream's, so the two never meet.
HELD_OUT_SEED_OFFSET = 1_000_003


# --- The two setups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSetup:
    """How the weights start and how they are updated: the two settings the page compares.

    `recurrent_initializer` is "orthogonal" (Keras's default: every singular value 1) or "uniform"
    (every weight drawn uniformly from ±`initial_range`, input and recurrent alike, as in Hochreiter and
    Schmidhuber's experiments). `forget_bias` is Keras's `unit_forget_bias`: True starts the LSTM's
    forget gate at σ(1) ≈ 0.73, False at σ(0) = 0.5.
    """

    name: str
    title: str
    optimizer: str  # "adam" or "sgd"
    learning_rate: float
    momentum: float
    recurrent_initializer: str
    initial_range: float
    forget_bias: bool

    def describe(self) -> str:
        weights = (
            "orthogonal recurrent weights, Glorot-uniform input weights"
            if self.recurrent_initializer == "orthogonal"
            else f"every weight uniform in ±{self.initial_range:g}"
        )
        bias = "forget-gate bias 1" if self.forget_bias else "no forget-gate bias"
        if self.optimizer == "adam":
            optimizer = f"Adam (learning rate {self.learning_rate:g})"
        else:
            optimizer = f"SGD with momentum {self.momentum:g} (learning rate {self.learning_rate:g})"
        return f"{weights}, {bias}, {optimizer}"


MODERN = TrainingSetup(
    name="modern",
    title="Keras's modern defaults",
    optimizer="adam",
    # Ten times Keras's default of 0.001: at 0.001 (and at 0.003) the LSTM learned nothing at lag 20
    # within the budget in the pilot that data/README.md reports, so the experiment could not test it.
    learning_rate=1e-2,
    momentum=0.0,
    recurrent_initializer="orthogonal",
    initial_range=0.0,
    forget_bias=True,
)
ERA = TrainingSetup(
    name="era",
    title="The 1990s setting",
    optimizer="sgd",
    # Of the rates piloted (0.1, 0.3, 1.0; data/README.md), the only one at which the cells learned lag 5.
    learning_rate=0.1,
    momentum=0.9,
    recurrent_initializer="uniform",
    initial_range=0.2,
    forget_bias=False,
)
SETUPS: dict[str, TrainingSetup] = {setup.name: setup for setup in (MODERN, ERA)}

# Gradient clipping, the third switch (Pascanu, Mikolov and Bengio 2013): the global norm of the
# gradient is capped at this value before each update. Offered for the SimpleRNN, whose gradient
# can explode; it cannot bring back a gradient that vanished.
CLIP_NORM = 1.0


# --- The budget -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamBudget:
    """The one budget every cell gets at every lag, in both setups: updates, not epochs.

    Every update sees `batch_size` sequences never seen before. The engine draws and measures on
    held-out sequences once a "round" of `updates_per_round` updates (Keras calls it an epoch).
    """

    units: int = 32
    batch_size: int = 64
    updates: int = 1500
    updates_per_round: int = 100
    held_out_examples: int = 512

    @property
    def rounds(self) -> int:
        return self.updates // self.updates_per_round

    @property
    def training_sequences(self) -> int:
        return self.updates * self.batch_size


DEFAULT_BUDGET = StreamBudget()
# The page's lag when the shipped sweep has no contrast to offer (see `clearest_contrast`): the notes' 20 steps.
DEFAULT_LAG = 20


# --- The data ---------------------------------------------------------------------------------


def make_long_memory_data(lag: int, count: int, seed=0, symbols: int = SYMBOL_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """`count` sequences of the recall task and their labels, reproducible from `seed`.

    Returns `x` of shape (count, lag + 1, symbols), float32 one-hot rows, and `y` of shape (count,),
    int32, with `y[i]` the symbol shown at step 0, which is `lag` steps before the last step.
    `seed` is anything NumPy's `default_rng` takes (an integer, or a list of integers).
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


def held_out_sequences(lag: int, budget: StreamBudget = DEFAULT_BUDGET, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fixed held-out sequences of one run: the same at every round, never in the training stream."""
    return make_long_memory_data(lag, budget.held_out_examples, seed=seed + HELD_OUT_SEED_OFFSET)


def training_batch(lag: int, batch_size: int, seed: int, round_index: int, batch_index: int):
    """One batch of the training stream: a sequence of fresh batches, each reproducible from its place."""
    return make_long_memory_data(lag, batch_size, seed=[seed, round_index, batch_index])


@functools.cache
def _fresh_sequences_class():
    """The PyDataset subclass, built on first use so that importing this module does not import Keras."""
    import keras

    class FreshSequences(keras.utils.PyDataset):
        """A stream of fresh training batches for `lib.engine.training.train_live` and `model.fit`.

        One Keras epoch is one round of `updates_per_round` batches; batch b of round r is drawn
        from `default_rng([seed, r, b])`, so no two batches of a run repeat and a rerun with the
        same seed sees the same stream. The round counts up at the start of every epoch.
        """

        def __init__(self, lag: int, budget: StreamBudget, seed: int):
            super().__init__(workers=1, use_multiprocessing=False)
            self.lag, self.budget, self.seed = lag, budget, seed
            self.round_index = -1
            self.batch_sizes = [budget.batch_size] * budget.updates_per_round
            # The (round, batch) places served so far, in order: what the tests check the stream by.
            self.served: list[tuple[int, int]] = []

        def __len__(self) -> int:
            return self.budget.updates_per_round

        def on_epoch_begin(self) -> None:
            self.round_index += 1

        def __getitem__(self, index: int):
            # Keras reads a few batches before the first epoch to learn their shapes: those
            # (round -1) are never trained on.
            self.served.append((self.round_index, index))
            return training_batch(self.lag, self.budget.batch_size, self.seed, self.round_index + 1, index)

    return FreshSequences


def fresh_sequences(lag: int, budget: StreamBudget = DEFAULT_BUDGET, seed: int = 0):
    """The training stream of one run (a `keras.utils.PyDataset`)."""
    if lag < 1:
        raise ValueError("The lag must be at least 1 step.")
    return _fresh_sequences_class()(lag, budget, seed)


# --- The model --------------------------------------------------------------------------------


def _initializers(setup: TrainingSetup, seed: int):
    """The input, recurrent and output weights' initializers of a setup, each seeded on its own."""
    import keras

    if setup.recurrent_initializer == "orthogonal":
        return (
            keras.initializers.GlorotUniform(seed=seed * 1009 + 1),
            keras.initializers.Orthogonal(seed=seed * 1009 + 2),
            keras.initializers.GlorotUniform(seed=seed * 1009 + 3),
        )
    if setup.recurrent_initializer == "uniform":
        scale = setup.initial_range
        return tuple(keras.initializers.RandomUniform(-scale, scale, seed=seed * 1009 + k) for k in (1, 2, 3))
    raise ValueError(f"Unknown recurrent initializer {setup.recurrent_initializer!r}.")


def _recurrent_layer(cell: str, units: int, setup: TrainingSetup, seed: int):
    """One SimpleRNN, LSTM or GRU with the setup's seeded initializers."""
    import keras

    layer_classes = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
    if cell not in layer_classes:
        raise ValueError(f"Unknown cell {cell!r}; use one of {', '.join(RECURRENT_CELL_NAMES)}.")
    kernel, recurrent, _ = _initializers(setup, seed)
    options = {"unit_forget_bias": setup.forget_bias} if cell == "LSTM" else {}
    return layer_classes[cell](
        units, kernel_initializer=kernel, recurrent_initializer=recurrent, name=cell.lower(), **options
    )


def make_optimizer(setup: TrainingSetup, clip_norm: float | None = None):
    """Adam or SGD with momentum, as the setup says, with the global-norm clipping switch."""
    import keras

    clipping = {"global_clipnorm": clip_norm} if clip_norm else {}
    if setup.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=setup.learning_rate, **clipping)
    if setup.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=setup.learning_rate, momentum=setup.momentum, **clipping)
    raise ValueError(f"Unknown optimizer {setup.optimizer!r}.")


@builds_graph
def build_long_memory_model(
    cell: str,
    units: int = DEFAULT_BUDGET.units,
    seed: int = 0,
    setup: TrainingSetup = MODERN,
    clip_norm: float | None = None,
    symbols: int = SYMBOL_COUNT,
) -> keras.Model:
    """A recurrent layer reading the one-hot sequence, then a softmax over the symbols at the last step.

    The time axis is left open (None), so the same model reads sequences of any lag: the page can
    train it at one lag and then probe its gradients or its gates on longer sequences. The model is
    compiled (the setup's optimizer, sparse categorical cross-entropy, accuracy), ready for
    `lib.engine.training.train_live`.
    """
    import keras

    _, _, output_initializer = _initializers(setup, seed)
    inputs = keras.Input(shape=(None, symbols), name="symbols")
    memory = _recurrent_layer(cell, units, setup, seed)(inputs)
    outputs = keras.layers.Dense(
        symbols, activation="softmax", kernel_initializer=output_initializer, name="recalled_symbol"
    )(memory)
    model = keras.Model(inputs, outputs, name=f"long_memory_{cell.lower()}")
    model.compile(
        optimizer=make_optimizer(setup, clip_norm),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def model_parameter_count(cell: str, units: int = DEFAULT_BUDGET.units, symbols: int = SYMBOL_COUNT) -> int:
    """The recurrent layer's parameters (from the one counter) plus the softmax layer's."""
    return count_recurrent_params(cell, symbols, units).total + units * symbols + symbols


# --- Success ----------------------------------------------------------------------------------


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


def evaluate_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """The share of held-out sequences whose first symbol the model recalls (argmax of its softmax)."""
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == y))


# The cells whose held-out accuracy, once at SOLVED_ACCURACY, stayed there in every run of the shipped sweep.
STOPS_WHEN_REMEMBERED = ("LSTM", "GRU")


def stop_when_remembered(threshold: float = SOLVED_ACCURACY):
    """A Keras callback that ends training at the first round whose held-out accuracy reaches `threshold`.

    The page's press uses it for the gated cells only (`STOPS_WHEN_REMEMBERED`): in the shipped sweep every
    LSTM and GRU run that reached it still held it at the end of its budget, so the rest of the budget cannot
    change the press's answer. The SimpleRNN's memory does not hold (at lag 20 with the modern setup it
    reached 1.00 and ended at 0.62), so it always gets the whole budget, as does a cell that never remembers.
    """
    import keras

    class StopWhenRemembered(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.remembered_at: int | None = None  # the round (1-based) it stopped at

        def on_epoch_end(self, epoch, logs=None):
            accuracy = (logs or {}).get("val_accuracy")
            if accuracy is not None and accuracy >= threshold and self.remembered_at is None:
                self.remembered_at = epoch + 1
                self.model.stop_training = True

    return StopWhenRemembered()


# --- One run without a page: the sweep's unit of work --------------------------------------------


def train_once(
    cell: str,
    lag: int,
    seed: int = 0,
    setup: TrainingSetup = MODERN,
    clip_norm: float | None = None,
    budget: StreamBudget = DEFAULT_BUDGET,
) -> dict:
    """Train one cell at one lag on the fresh stream, without a page; return the shipped CSV's row.

    The page trains through `lib.engine.training.train_live` instead, with the same stream, model and budget.
    """
    stream = fresh_sequences(lag, budget, seed)
    x_held_out, y_held_out = held_out_sequences(lag, budget, seed)
    model = build_long_memory_model(cell, units=budget.units, seed=seed, setup=setup, clip_norm=clip_norm)
    started = time.perf_counter()
    history = model.fit(
        stream, validation_data=(x_held_out, y_held_out), epochs=budget.rounds, shuffle=False, verbose=0
    )
    seconds = time.perf_counter() - started
    accuracy = evaluate_accuracy(model, x_held_out, y_held_out)
    losses = history.history["loss"]
    return {
        "setup": setup.name,
        "cell": cell,
        "clip_norm": float(clip_norm) if clip_norm else 0.0,
        "lag": int(lag),
        "seed": int(seed),
        "accuracy": accuracy,
        "best_round_accuracy": float(max(history.history.get("val_accuracy", [accuracy]))),
        "last_round_train_accuracy": float(history.history["accuracy"][-1]),
        "last_round_loss": float(losses[-1]) if np.isfinite(losses[-1]) else float("nan"),
        "chance": CHANCE_ACCURACY,
        "solved": accuracy >= SOLVED_ACCURACY,
        "updates": budget.updates,
        "batch_size": budget.batch_size,
        "units": budget.units,
        "parameters": model.count_params(),
        "held_out_examples": budget.held_out_examples,
        "seconds": round(seconds, 2),
    }


# --- The shipped sweep ------------------------------------------------------------------------


def load_sweep(path: Path = SWEEP_FILE) -> pd.DataFrame:
    """The shipped sweep: one row per (setup, cell, clipping, lag, seed), as written by scripts/long_memory_sweep.py."""
    return pd.read_csv(path)


def variant_name(cell: str, clip_norm: float) -> str:
    """The name a chart gives a cell: the SimpleRNN with clipping is a variant of its own."""
    return f"{cell} + clipping" if clip_norm else cell


def summarise_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per setup, variant and lag: mean, lowest and highest held-out accuracy over the seeds, and counts.

    Returns columns setup, variant, cell, clip_norm, lag, seeds, mean_accuracy, min_accuracy,
    max_accuracy, solved_seeds (≥ SOLVED_ACCURACY) and chance, in the
    order of `RECURRENT_CELL_NAMES` and increasing lag, ready for a chart.
    """
    sweep = sweep.assign(variant=[variant_name(c, k) for c, k in zip(sweep["cell"], sweep["clip_norm"])])
    grouped = sweep.groupby(["setup", "variant", "cell", "clip_norm", "lag"], sort=False)
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
    summary = summary.sort_values(["setup", "cell_order", "clip_norm", "lag"]).drop(columns="cell_order")
    return summary.reset_index(drop=True)


def longest_lag_solved(summary: pd.DataFrame) -> dict[tuple[str, str], int | None]:
    """For each (setup, variant), the longest lag that every measured seed solved (None if no lag)."""
    longest: dict[tuple[str, str], int | None] = {}
    for (setup, variant), rows in summary.groupby(["setup", "variant"], sort=False):
        solved = rows[rows["solved_seeds"] == rows["seeds"]]
        longest[(setup, variant)] = int(solved["lag"].max()) if not solved.empty else None
    return longest


@dataclass(frozen=True)
class Contrast:
    """One (setup, lag) point of the sweep seen as the notes' contrast: the LSTM remembers, the SimpleRNN not."""

    setup: str
    lag: int
    seeds: int
    lstm_solved: int  # Seeds that solved the point.
    simple_rnn_solved: int
    lstm_min_accuracy: float
    simple_rnn_max_accuracy: float
    lstm_mean_accuracy: float
    simple_rnn_mean_accuracy: float

    @property
    def every_seed(self) -> bool:
        """Every LSTM seed solved it and no SimpleRNN seed did."""
        return self.lstm_solved == self.seeds and self.simple_rnn_solved == 0

    @property
    def gap(self) -> float:
        """The LSTM's worst seed minus the SimpleRNN's best: positive only if the contrast held for every seed."""
        return self.lstm_min_accuracy - self.simple_rnn_max_accuracy


# The default press trains two cells live, so its lag is capped: at lag 50 the sweep's SimpleRNN and
# LSTM runs together took 23-157 s on one thread of the loaded machine (the CSV's `seconds`), against
# 57.5 s for the Recurrence page's whole default press (docs/performance.md); longer lags cost more.
LONGEST_DEFAULT_LAG = 50


def clearest_contrast(summary: pd.DataFrame, longest_lag: int = LONGEST_DEFAULT_LAG) -> Contrast | None:
    """The setting the page's default press trains: where the notes' contrast held for every seed.

    Among the (setup, lag) points up to `longest_lag` with the LSTM and the unclipped SimpleRNN both
    measured, the ones where every LSTM seed solved the task and no SimpleRNN seed did come first;
    among those, the widest gap between the LSTM's worst seed and the SimpleRNN's best, then the
    shorter lag (the cheaper press). If no point shows the contrast for every seed, the clearest one
    the sweep did measure is returned (`every_seed` False, so that the page can say so): the most
    LSTM seeds solved beyond the SimpleRNN's, then the largest difference of mean accuracies, then
    the shorter lag.
    """
    candidates = []
    plain = summary[(summary["clip_norm"] == 0) & (summary["lag"] <= longest_lag)]
    for (setup, lag), rows in plain.groupby(["setup", "lag"]):
        by_cell = rows.set_index("cell")
        if not {"LSTM", "SimpleRNN"} <= set(by_cell.index):
            continue
        lstm, simple = by_cell.loc["LSTM"], by_cell.loc["SimpleRNN"]
        candidates.append(
            Contrast(
                setup=str(setup),
                lag=int(lag),
                seeds=int(min(lstm["seeds"], simple["seeds"])),
                lstm_solved=int(lstm["solved_seeds"]),
                simple_rnn_solved=int(simple["solved_seeds"]),
                lstm_min_accuracy=float(lstm["min_accuracy"]),
                simple_rnn_max_accuracy=float(simple["max_accuracy"]),
                lstm_mean_accuracy=float(lstm["mean_accuracy"]),
                simple_rnn_mean_accuracy=float(simple["mean_accuracy"]),
            )
        )
    if not candidates:
        return None
    held = [contrast for contrast in candidates if contrast.every_seed]
    if held:
        return min(held, key=lambda contrast: (-round(contrast.gap, 3), contrast.lag))
    return min(
        candidates,
        key=lambda contrast: (
            contrast.simple_rnn_solved - contrast.lstm_solved,
            -round(contrast.lstm_mean_accuracy - contrast.simple_rnn_mean_accuracy, 3),
            contrast.lag,
        ),
    )


# --- The paper's own task: Hochreiter and Schmidhuber (1997), experiment 2 ------------------------
#
# Section 5.2 of the paper ("Experiment 2: noise-free and noisy sequences"), read in the published
# text (Neural Computation 9(8):1735-1780). There are p + 1 input symbols a_1 … a_(p-1), a_p = x,
# a_(p+1) = y, each one-hot over p + 1 units; a sequence has p + 1 elements and starts and ends with
# the same one of x or y, which never occur in between, and the net "permanently tries to predict
# the next symbol". Task 2a: the middle is always the fixed string a_1 … a_(p-1) ("only two very
# similar sequences", each with probability 0.5). Task 2b: the middle is p - 1 symbols drawn at
# random from a_1 … a_(p-1). The recurrent part only has to carry one bit (x or y) for p steps.
#
# Symbol indices here: a_i is i - 1 (0 … p - 2), x is p - 1, y is p.

PAPER_TASKS: tuple[str, ...] = ("2a", "2b")
PAPER_DELAYS: tuple[int, ...] = (10, 50, 100)
PAPER_SEEDS: tuple[int, ...] = (0, 1, 2)
# The paper's success criterion (both tasks): "after training, during 10,000 successive, randomly chosen
# input sequences, the maximal absolute error of all output units is always below 0.25" (2a: at every
# step; 2b: "below 0.25 at sequence end").
PAPER_ERROR_THRESHOLD = 0.25
PAPER_TEST_SEQUENCES = 10_000
# "Due to limited computation time, training is stopped after 5 million sequence presentations."
PAPER_STOP_SEQUENCES = 5_000_000
PAPER_FILE = Path(__file__).parents[2] / "data" / "paper_memory_task.csv"
# The runs that failed within the sweep's budget, run again with a larger one (the same setup otherwise):
# scripts/paper_memory_task.py --max-sequences 600000 --output data/paper_memory_task_long_budget.csv.
PAPER_LONG_BUDGET_FILE = Path(__file__).parents[2] / "data" / "paper_memory_task_long_budget.csv"


@dataclass(frozen=True)
class PaperResult:
    """One figure of the paper at p = 100, with where it stands in the paper."""

    task: str
    method: str
    delay: int
    trials: int | None  # None where the paper does not say how many.
    success_percent: float
    sequences: int | None  # Mean sequences until success; None when no trial succeeded.
    stopped_after: int | None  # The budget of the methods that never succeeded.
    source: str


# Hochreiter and Schmidhuber (1997), Table 2 (task 2a, means of 18 trials) and the text of task 2b
# ("On average (mean of 18 trials), success for p = 100 was achieved after 5,680 sequence presentations";
# "the chunker failed to solve this task (so did BPTT and RTRL, of course)").
PAPER_RESULTS: tuple[PaperResult, ...] = (
    PaperResult("2a", "RTRL", 100, 18, 0.0, None, PAPER_STOP_SEQUENCES, "Table 2"),
    PaperResult("2a", "BPTT", 100, 18, 0.0, None, PAPER_STOP_SEQUENCES, "Table 2"),
    PaperResult("2a", "CH (neural sequence chunker)", 100, 18, 33.0, 32_400, None, "Table 2"),
    PaperResult("2a", "LSTM", 100, 18, 100.0, 5_040, None, "Table 2"),
    PaperResult("2b", "BPTT, RTRL, CH", 100, None, 0.0, None, None, "section 5.2, task 2b, results"),
    PaperResult("2b", "LSTM", 100, 18, 100.0, 5_680, None, "section 5.2, task 2b, results"),
)
PAPER_REFERENCE = (
    "Hochreiter and Schmidhuber, Long Short-Term Memory, Neural Computation 9(8):1735-1780, 1997, section 5.2"
)


def paper_symbols(p: int) -> dict[str, int]:
    """The indices of x and y in the one-hot alphabet of p + 1 symbols (a_1 … a_(p-1) come first)."""
    return {"x": p - 1, "y": p}


def make_paper_sequences(task: str, p: int, count: int, seed=0) -> np.ndarray:
    """`count` whole sequences of task 2a or 2b as symbol indices, shape (count, p + 1), int32.

    Element 0 and element p are the same symbol, x or y with probability 0.5 each; elements 1 … p - 1
    are a_1 … a_(p-1) in order (2a) or drawn uniformly from a_1 … a_(p-1) (2b).
    """
    if task not in PAPER_TASKS:
        raise ValueError(f"Unknown task {task!r}; use one of {', '.join(PAPER_TASKS)}.")
    if p < 2:
        raise ValueError("The delay p must be at least 2 (one distractor).")
    if count < 1:
        raise ValueError("At least one sequence is needed.")
    generator = np.random.default_rng(seed)
    symbols = paper_symbols(p)
    first = np.where(generator.random(count) < 0.5, symbols["x"], symbols["y"]).astype(np.int32)
    if task == "2a":
        middle = np.broadcast_to(np.arange(p - 1, dtype=np.int32), (count, p - 1))
    else:
        middle = generator.integers(0, p - 1, size=(count, p - 1)).astype(np.int32)
    return np.concatenate([first[:, None], middle, first[:, None]], axis=1)


def paper_inputs_and_targets(sequences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Next-symbol prediction: the net reads elements 0 … p - 1 and predicts elements 1 … p."""
    return sequences[:, :-1], sequences[:, 1:]


def paper_max_errors(probabilities: np.ndarray, targets: np.ndarray, task: str) -> np.ndarray:
    """Per sequence, the paper's error: the largest |output - target| over all output units, taken at
    every step (2a) or at the sequence end only (2b). `probabilities` (count, p, p + 1), `targets` (count, p)."""
    if task == "2b":
        probabilities, targets = probabilities[:, -1:], targets[:, -1:]
    one_hot = np.eye(probabilities.shape[-1], dtype=probabilities.dtype)[targets]
    return np.abs(probabilities - one_hot).max(axis=(1, 2))


def paper_success(max_errors: np.ndarray, threshold: float = PAPER_ERROR_THRESHOLD) -> bool:
    """The paper's criterion: every tested sequence's largest output error is below the threshold."""
    return bool(np.all(np.asarray(max_errors) < threshold))


@dataclass(frozen=True)
class PaperSetup:
    """How a run of the paper's task is trained: everything but the cell, the task and p.

    `units` recurrent units; the output layer (softmax over the p + 1 symbols) reads the recurrent layer
    and, as in the paper ("each layer has connections from all layers below"), the input itself.
    `initializer` "keras" keeps Keras's defaults; "uniform" draws every weight from ±`initial_range`
    (the paper's [-0.2, 0.2]). `forget_bias` is the LSTM's `unit_forget_bias` (bias 1); `forget_gate_bias`,
    when set, starts the forget-gate biases at that value instead; `input_gate_bias` the input gate's
    (the paper's remedy for "internal state drift": "initially bias the input gate towards zero"), and
    `output_gate_bias` the output gate's (its remedy for the "abuse problem").
    """

    name: str
    units: int = 8
    batch_size: int = 16
    learning_rate: float = 1e-2
    optimizer: str = "adam"
    beta_2: float = 0.999  # Adam's decay of its running mean of squared gradients (Keras's default).
    initializer: str = "keras"
    initial_range: float = 0.2
    forget_bias: bool = True
    forget_gate_bias: float | None = None
    input_gate_bias: float | None = None
    output_gate_bias: float | None = None
    max_sequences: int = 20_000
    # The paper's construction for this task: the recurrent part reaches the output only once the error of the
    # net without it has stopped decreasing (mean loss of the last `stage_window` updates less than
    # `stage_decrease` below the window before) or, in 2a, every step but the last meets the criterion. Without it, the 99 steps whose answer needs no memory
    # erase the first symbol from the state before the last step's error can teach the net to keep it.
    staged: bool = True
    # Where the error signals are: "every step" (tasks 2a and 2b: "permanently trying to predict the next
    # symbol") or "end" (only the last step's answer, as in the paper's task 2c; meaningful for 2b, whose
    # criterion is read at the end only).
    error_at: str = "every step"
    # Start the weights from the state to the output units at zero: then the state's first-symbol content does
    # not perturb the 99 memoryless predictions, whose errors would otherwise teach the cell to drop it.
    state_output_zero: bool = False
    # The LSTM's cell input and output squashing: Keras's "tanh", or "linear", closer to the paper's 2a cell
    # (h the identity), whose output cannot saturate when the distractors' writes pile up in the cell.
    lstm_activation: str = "tanh"
    stage_window: int = 25
    stage_decrease: float = 0.1

    def lstm_cell(self) -> str:
        """The LSTM cell of this setup, in words."""
        forget = self.forget_gate_bias if self.forget_gate_bias is not None else (1.0 if self.forget_bias else 0.0)
        squash = (
            "no squashing of the cell's input and output"
            if self.lstm_activation == "linear"
            else f"{self.lstm_activation} squashing"
        )
        gate = f", input-gate bias {self.input_gate_bias:g}" if self.input_gate_bias else ""
        return f"forget-gate bias {forget:g}, {squash}{gate}"

    def describe(self) -> str:
        weights = (
            "Keras's default initialisers"
            if self.initializer == "keras"
            else f"every weight uniform in ±{self.initial_range:g}"
        )
        optimizer = (
            f"Adam (learning rate {self.learning_rate:g})"
            if self.optimizer == "adam"
            else f"SGD (learning rate {self.learning_rate:g})"
        )
        return (
            f"{self.units} units, {weights}, {optimizer}, batches of {self.batch_size} fresh sequences, "
            f"at most {self.max_sequences:,} training sequences; LSTM cell: {self.lstm_cell()}"
        )


# The setup of the shipped runs: Adam and Keras's initialisers for every cell, and for the LSTM the 1997 cell of
# task 2a as far as Keras's LSTM allows: a forget gate pinned open (bias 20: σ(20) = 1 - 2e-9, and its gradient
# vanishes with σ', so it stays there; the 1997 cell had no forget gate), the cell's input and output not
# squashed (the paper's h is the identity), the input gate biased towards zero against "internal state drift"
# (section 4). The state's weights to the output units start at zero, for every cell alike.
PAPER_SETUP = PaperSetup(
    name="paper_cell",
    forget_gate_bias=20.0,
    input_gate_bias=-3.0,
    lstm_activation="linear",
    state_output_zero=True,
    staged=False,
)
# The same, with Keras's own LSTM cell (forget-gate bias 1, tanh): what the page's other experiments train.
KERAS_CELL_SETUP = dataclasses.replace(
    PAPER_SETUP, name="keras_cell", forget_gate_bias=None, input_gate_bias=None, lstm_activation="tanh"
)
PAPER_SETUPS: dict[str, PaperSetup] = {setup.name: setup for setup in (PAPER_SETUP, KERAS_CELL_SETUP)}


@functools.cache
def _state_switch_class():
    """The layer that lets the recurrent state reach the output only once it is switched on (built on first use)."""
    import keras

    class StateSwitch(keras.layers.Layer):
        """Multiplies the recurrent state by a non-trainable 0 or 1: the paper's "memory cell ... added once
        the error has stopped decreasing" (section 5.2, its remedy (1) for the "abuse problem", section 4)."""

        def build(self, input_shape):
            self.on = self.add_weight(shape=(), initializer="zeros", trainable=False, name="on")

        def call(self, state):
            return state * self.on

    return StateSwitch


def build_paper_model(cell: str, p: int, setup: PaperSetup = PAPER_SETUP, seed: int = 0) -> keras.Model:
    """Recurrent layer over the one-hot symbols; a softmax at every step over the p + 1 symbols, reading
    the recurrent state and the current input (the paper's shortcut from the input to the output units)."""
    import keras

    layer_classes = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
    if cell not in layer_classes:
        raise ValueError(f"Unknown cell {cell!r}; use one of {', '.join(RECURRENT_CELL_NAMES)}.")
    if setup.initializer == "uniform":
        initializers = [
            keras.initializers.RandomUniform(-setup.initial_range, setup.initial_range, seed=seed * 1009 + k)
            for k in (1, 2, 3)
        ]
    else:
        initializers = [
            keras.initializers.GlorotUniform(seed=seed * 1009 + 1),
            keras.initializers.Orthogonal(seed=seed * 1009 + 2),
            keras.initializers.GlorotUniform(seed=seed * 1009 + 3),
        ]
    options = {"unit_forget_bias": setup.forget_bias, "activation": setup.lstm_activation} if cell == "LSTM" else {}
    inputs = keras.Input(shape=(None, p + 1), name="symbols")
    recurrent = layer_classes[cell](
        setup.units,
        return_sequences=True,
        kernel_initializer=initializers[0],
        recurrent_initializer=initializers[1],
        name=cell.lower(),
        **options,
    )
    state = recurrent(inputs)
    if setup.staged:
        state = _state_switch_class()(name="state_switch")(state)
    # The output units read the state and the input: one linear map of each, summed, then a softmax. The
    # state's map may start at zero, so that at first the state changes no prediction (see `PaperSetup`).
    from_state = keras.layers.Dense(
        p + 1,
        use_bias=False,
        name="from_state",
        kernel_initializer=("zeros" if setup.state_output_zero else initializers[2]),
    )(state)
    from_input = keras.layers.Dense(p + 1, kernel_initializer=initializers[2], name="from_input")(inputs)
    logits = keras.layers.Add(name="logits")([from_state, from_input])
    outputs = keras.layers.Activation("softmax", name="next_symbol")(logits)
    model = keras.Model(inputs, outputs, name=f"paper_{cell.lower()}")
    gate_biases = (setup.input_gate_bias, setup.forget_gate_bias, setup.output_gate_bias)
    if cell == "LSTM" and any(value is not None for value in gate_biases):
        bias = recurrent.cell.bias
        values = keras.ops.convert_to_numpy(bias).copy()
        units = setup.units  # Keras orders the gates' biases i, f, c, o.
        if setup.input_gate_bias is not None:
            values[:units] = setup.input_gate_bias
        if setup.forget_gate_bias is not None:
            values[units : 2 * units] = setup.forget_gate_bias
        if setup.output_gate_bias is not None:
            values[3 * units :] = setup.output_gate_bias
        bias.assign(values)
    return model


def train_paper_task(task: str, cell: str, p: int, seed: int = 0, setup: PaperSetup = PAPER_SETUP) -> dict:
    """Train on fresh sequences until the paper's criterion holds, or the budget of sequences runs out.

    Each update trains on a batch of fresh sequences; the outputs it computed before the update are a
    free first look at the criterion. When every sequence of the batch passes, the model (frozen) is
    tested as the paper says: 2a on its only two sequences (10,000 random picks of them test nothing
    more), 2b on 10,000 fresh sequences. `sequences_to_success` is the number of training sequences
    seen when that test first passed.
    """
    import keras
    import tensorflow as tf

    model = build_paper_model(cell, p, setup, seed)
    if setup.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=setup.learning_rate, beta_2=setup.beta_2)
    else:
        optimizer = keras.optimizers.SGD(learning_rate=setup.learning_rate)
    loss_function = keras.losses.SparseCategoricalCrossentropy()
    width = p + 1

    @tf.function(reduce_retracing=True)
    def train_step(symbols, targets):
        with tf.GradientTape() as tape:
            probabilities = model(tf.one_hot(symbols, width), training=True)
            if setup.error_at == "end":
                loss = loss_function(targets[:, -1], probabilities[:, -1])
            else:
                loss = loss_function(targets, probabilities)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss, probabilities

    @tf.function(reduce_retracing=True)
    def predict(symbols):
        return model(tf.one_hot(symbols, width), training=False)

    def probabilities_of(sequences: np.ndarray, chunk: int = 500) -> np.ndarray:
        inputs = paper_inputs_and_targets(sequences)[0]
        return np.concatenate(
            [predict(inputs[start : start + chunk]).numpy() for start in range(0, len(inputs), chunk)]
        )

    def passes_every_chunk(sequences: np.ndarray, chunk: int = 500) -> bool:
        # The criterion needs every sequence to pass, so the first chunk with a failure decides: the same
        # verdict as testing all 10,000, without predicting the rest (almost every test fails early).
        inputs, targets = paper_inputs_and_targets(sequences)
        return all(
            paper_success(
                paper_max_errors(predict(inputs[start : start + chunk]).numpy(), targets[start : start + chunk], task)
            )
            for start in range(0, len(inputs), chunk)
        )

    task_id = PAPER_TASKS.index(task)
    symbols = paper_symbols(p)
    two_sequences = np.stack([make_paper_sequences("2a", p, 1)[0]] * 2)
    two_sequences[0, [0, -1]], two_sequences[1, [0, -1]] = symbols["x"], symbols["y"]
    started = time.perf_counter()
    seen, update, solved_at, tests, losses, test = 0, 0, None, 0, [], None
    switch = model.get_layer("state_switch") if setup.staged else None
    cell_added_at = 0 if switch is None else None
    window = setup.stage_window
    answered_without_memory = False
    while seen < setup.max_sequences:
        if cell_added_at is None and (
            answered_without_memory
            or (
                len(losses) >= 2 * window
                and len(losses) % window == 0
                and np.mean(losses[-window:]) > (1.0 - setup.stage_decrease) * np.mean(losses[-2 * window : -window])
            )
        ):
            switch.on.assign(1.0)
            cell_added_at = seen
        batch = make_paper_sequences(task, p, setup.batch_size, seed=[seed, p, task_id, 0, update])
        inputs, targets = paper_inputs_and_targets(batch)
        loss, probabilities = train_step(inputs, targets)
        losses.append(float(loss))
        seen += setup.batch_size
        update += 1
        # 2a: every step but the last, which alone needs the memory, already meets the criterion.
        answered_without_memory = task == "2a" and paper_success(
            paper_max_errors(probabilities.numpy()[:, :-1], targets[:, :-1], task)
        )
        if cell_added_at is None or not paper_success(paper_max_errors(probabilities.numpy(), targets, task)):
            continue
        tests += 1
        test = (
            two_sequences
            if task == "2a"
            else make_paper_sequences(task, p, PAPER_TEST_SEQUENCES, seed=[seed, p, task_id, 1, tests])
        )
        if passes_every_chunk(test):
            solved_at = seen
            break
    if test is None:
        test = two_sequences if task == "2a" else make_paper_sequences(task, p, 1000, seed=[seed, p, task_id, 2])
    targets = paper_inputs_and_targets(test)[1]
    probabilities = probabilities_of(test)
    return {
        "task": task,
        "cell": cell,
        "p": int(p),
        "seed": int(seed),
        "setup": setup.name,
        "solved": solved_at is not None,
        "sequences_to_success": int(solved_at) if solved_at is not None else None,
        "sequences_trained": int(seen),
        "sequences_before_cell": int(cell_added_at) if cell_added_at is not None else None,
        "final_max_error": float(paper_max_errors(probabilities, targets, task).max()),
        "final_recall_accuracy": float(np.mean(np.argmax(probabilities[:, -1], axis=-1) == targets[:, -1])),
        "last_loss": float(np.mean(losses[-10:])),
        "tests": tests,
        "test_sequences": int(len(test)),
        "error_at": setup.error_at,
        "staged": setup.staged,
        "state_output_zero": setup.state_output_zero,
        "lstm_activation": setup.lstm_activation,
        "units": setup.units,
        "batch_size": setup.batch_size,
        "learning_rate": setup.learning_rate,
        "forget_gate_bias": setup.forget_gate_bias
        if setup.forget_gate_bias is not None
        else (1.0 if setup.forget_bias else 0.0),
        "input_gate_bias": setup.input_gate_bias if setup.input_gate_bias is not None else 0.0,
        "max_sequences": setup.max_sequences,
        "parameters": model.count_params(),
        "seconds": round(time.perf_counter() - started, 2),
    }


def load_paper_task(path: Path = PAPER_FILE) -> pd.DataFrame | None:
    """The shipped runs of the paper's task (scripts/paper_memory_task.py), or None if the file is absent."""
    return pd.read_csv(path) if Path(path).exists() else None


def summarise_paper_task(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setup, task, cell and p: seeds run, seeds that met the paper's criterion, and the mean, lowest and
    highest number of training sequences the successful seeds needed (NaN when none succeeded); of the seeds
    that did not, their mean final recall accuracy and the lowest of their largest output errors."""
    keys = ["setup", "task", "cell", "p"]
    grouped = runs.groupby(keys, sort=False)
    summary = grouped.agg(
        seeds=("seed", "nunique"),
        solved_seeds=("solved", lambda values: int(pd.Series(values).astype(bool).sum())),
        mean_sequences=("sequences_to_success", "mean"),
        min_sequences=("sequences_to_success", "min"),
        max_sequences=("sequences_to_success", "max"),
        budget=("max_sequences", "max"),
        mean_recall=("final_recall_accuracy", "mean"),
    ).reset_index()
    if "final_max_error" in runs:
        unsolved = runs[~runs["solved"].astype(bool)].groupby(keys, sort=False)
        summary = summary.merge(
            unsolved.agg(
                unsolved_recall=("final_recall_accuracy", "mean"), unsolved_max_error=("final_max_error", "min")
            ).reset_index(),
            on=keys,
            how="left",
        )
    for column in ("units", "batch_size", "learning_rate", "forget_gate_bias"):
        if column in runs:
            summary[column] = grouped[column].first().to_numpy()
    order = {name: index for index, name in enumerate(RECURRENT_CELL_NAMES)}
    summary["cell_order"] = summary["cell"].map(order)
    summary = summary.sort_values(["setup", "task", "p", "cell_order"]).drop(columns="cell_order")
    return summary.reset_index(drop=True)


def paper_result(task: str, method: str = "LSTM") -> PaperResult | None:
    """The paper's figure for a task and method at p = 100 (None if the paper gives none)."""
    return next((result for result in PAPER_RESULTS if result.task == task and result.method == method), None)


def limit_tensorflow_threads(threads: int) -> None:
    """For the sweep scripts only (never the app's process): TensorFlow on `threads` threads, so that a
    sweep shares the machine and its timings compare from run to run."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
