"""Train a cell of RNN Playground's "Vanishing gradients" page again on its recall task, with plain Keras.

The task: a sequence of LAG + 1 one-hot symbols (of SYMBOLS), and the answer is the symbol shown first,
LAG steps before the last. Every update sees BATCH_SIZE fresh sequences: batch b of round r (Keras's
epoch r, from 1) is drawn from NumPy's `default_rng([SEED, r, b])`, the page's own stream, so this script
trains on the very sequences the run trained on. The held-out sequences (held_out.npz) are the run's.
The model is the page's (one SimpleRNN, LSTM or GRU layer, then a softmax over the symbols, with the
setup's seeded initialisers), and so is the training (the setup's optimizer, with clipping if it was on).

    pip install -r requirements.txt
    python train.py              # the run's rounds
    python train.py --epochs 1   # a short check: one round of UPDATES_PER_ROUND updates

Open it in Jupyter (jupytext) or VS Code to run it cell by cell: each `# %%` line starts a cell.
"""

# %%
import argparse
from pathlib import Path

import keras
import numpy as np
import pandas as pd

# %% The run's settings (filled in by the app when it exported the run)
# --- settings
CELL = "LSTM"  # "SimpleRNN", "LSTM" or "GRU"
LAG = 20
SEED = 0
UNITS = 32
SYMBOLS = 8
BATCH_SIZE = 64
UPDATES_PER_ROUND = 100
ROUNDS = 15
OPTIMIZER = "adam"  # "adam", or "sgd" with MOMENTUM
LEARNING_RATE = 0.01
MOMENTUM = 0.0
RECURRENT_INITIALIZER = "orthogonal"  # "orthogonal" (Glorot-uniform inputs) or "uniform" (every weight ±INITIAL_RANGE)
INITIAL_RANGE = 0.0
FORGET_BIAS = True
CLIP_NORM = 0.0  # 0: no clipping; else the gradient's global norm is capped at this
# --- end of settings

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=ROUNDS, help="how many rounds to train (default: the run's)")
arguments, _ = parser.parse_known_args()  # a notebook's kernel passes arguments of its own
folder = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()


# %% The data: a fresh stream for training, the run's held-out sequences for measuring
def sequences(seed) -> tuple[np.ndarray, np.ndarray]:
    """BATCH_SIZE sequences of one-hot symbols and the first symbol of each, drawn from `default_rng(seed)`."""
    symbols = np.random.default_rng(seed).integers(0, SYMBOLS, size=(BATCH_SIZE, LAG + 1))
    return np.eye(SYMBOLS, dtype=np.float32)[symbols], symbols[:, 0].astype(np.int32)


def stream():
    """Round after round of UPDATES_PER_ROUND fresh batches; no batch is ever repeated."""
    round_index = 1
    while True:
        for batch_index in range(UPDATES_PER_ROUND):
            yield sequences([SEED, round_index, batch_index])
        round_index += 1


held_out = np.load(folder / "held_out.npz")
x_held_out = np.eye(SYMBOLS, dtype=np.float32)[held_out["symbols"]]
y_held_out = held_out["answers"]
print(f"Lag {LAG}: {len(y_held_out)} held-out sequences of {LAG + 1} steps")

# %% The model: one recurrent layer, then a softmax over the symbols at the last step
if RECURRENT_INITIALIZER == "orthogonal":
    kernel, recurrent, output = (
        keras.initializers.GlorotUniform(seed=SEED * 1009 + 1),
        keras.initializers.Orthogonal(seed=SEED * 1009 + 2),
        keras.initializers.GlorotUniform(seed=SEED * 1009 + 3),
    )
else:
    kernel, recurrent, output = (
        keras.initializers.RandomUniform(-INITIAL_RANGE, INITIAL_RANGE, seed=SEED * 1009 + k) for k in (1, 2, 3)
    )
layer = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}[CELL]
options = {"unit_forget_bias": FORGET_BIAS} if CELL == "LSTM" else {}
inputs = keras.Input(shape=(None, SYMBOLS), name="symbols")
memory = layer(UNITS, kernel_initializer=kernel, recurrent_initializer=recurrent, name=CELL.lower(), **options)(inputs)
outputs = keras.layers.Dense(SYMBOLS, activation="softmax", kernel_initializer=output, name="recalled_symbol")(memory)
model = keras.Model(inputs, outputs, name=f"long_memory_{CELL.lower()}")
clipping = {"global_clipnorm": CLIP_NORM} if CLIP_NORM else {}
if OPTIMIZER == "adam":
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE, **clipping)
else:
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM, **clipping)
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

# %% Train, and keep the curves and the model beside the run's own (chance is 1 in SYMBOLS)
history = model.fit(
    stream(),
    steps_per_epoch=UPDATES_PER_ROUND,
    validation_data=(x_held_out, y_held_out),
    epochs=arguments.epochs,
    verbose=2,
)
# %% include: keep_rerun
