"""Train the digit MLP of RNN Playground's "Parameter sharing" page again, with plain Keras.

The data is the run's own (data.npz: 8×8 digits in [0, 1] and their labels, training and validation),
the model the page's (one hidden ReLU layer, softmax over the ten classes, seeded Glorot initialisers),
the training the page's (Adam, sparse categorical cross-entropy, the same batch size and epochs).

    pip install -r requirements.txt
    python train.py              # the run's epochs
    python train.py --epochs 1   # a short check

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
HIDDEN_UNITS = 512
EPOCHS = 20
BATCH_SIZE = 32
LEARNING_RATE = 0.001
SEED = 0
# --- end of settings

# %% include: arguments

# %% The data the run trained on
# %% include: digits_data
print(f"{len(y_train)} training and {len(y_validation)} validation digits of {x_train.shape[1:]} pixels")

# %% The model: flatten the 8×8 pixels, one hidden ReLU layer, softmax over the ten digits
inputs = keras.Input(shape=x_train.shape[1:], name="image")
hidden = keras.layers.Flatten(name="flatten")(inputs)
hidden = keras.layers.Dense(
    HIDDEN_UNITS, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 1), name="hidden_1"
)(hidden)
outputs = keras.layers.Dense(
    10, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=SEED), name="output"
)(hidden)
model = keras.Model(inputs, outputs, name="digit_mlp")
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.summary()

# %% include: fit_arrays
