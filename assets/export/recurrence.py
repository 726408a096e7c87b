"""Train a forecaster of RNN Playground's "Recurrence" page again, with plain Keras.

The series is the run's own (series.csv: time and value, as the page had it), cut as the page cuts it:
70 % training, 15 % validation and 15 % test in time order, normalised with the training part's mean and
standard deviation, then windows of HISTORY values whose target lies HORIZON steps after each window's end,
never straddling two parts. The model is the page's (a window MLP, or a SimpleRNN, LSTM or GRU, stacked and
bidirectional as set, with the same seeded initialisers), the training too (Adam on the mean squared error).

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
KIND = "LSTM"  # "Window MLP", "SimpleRNN", "LSTM" or "GRU"
HISTORY = 48
HORIZON = 12
UNITS = 32
STACKED_LAYERS = 1
BIDIRECTIONAL = False
EPOCHS = 5
LEARNING_RATE = 0.003
BATCH_SIZE = 64
SEED = 0
ERROR_NAME = "mae_units"  # the mean absolute error in the series' own units
# --- end of settings

# %% include: arguments

# %% The series, split in time order and normalised with the training part only
values = pd.read_csv(folder / "series.csv")["value"].to_numpy(dtype=np.float64)
train_stop, validation_stop = int(round(len(values) * 0.7)), int(round(len(values) * 0.85))
mean, std = values[:train_stop].mean(), values[:train_stop].std()
std = float(std) if std > 0 else 1.0
normalised = ((values - mean) / std).astype(np.float32)


def windows(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of HISTORY steps inside [start, stop) and the value HORIZON steps after each."""
    part = normalised[start:stop]
    count = max(0, len(part) - HISTORY - HORIZON + 1)
    inputs = np.lib.stride_tricks.sliding_window_view(part, HISTORY)[:count]
    targets = part[HISTORY - 1 + HORIZON : HISTORY - 1 + HORIZON + count]
    return np.ascontiguousarray(inputs[:, :, np.newaxis]), targets.copy()


x_train, y_train = windows(0, train_stop)
x_validation, y_validation = windows(train_stop, validation_stop)
x_test, y_test = windows(validation_stop, len(values))
print(f"{len(y_train)} training, {len(y_validation)} validation and {len(y_test)} test windows")


# %% The model, with the page's seeded initialisers (each layer its own seeds)
def initialisers(layer_index: int):
    base = SEED * 1009 + layer_index * 17
    return keras.initializers.GlorotUniform(seed=base + 1), keras.initializers.Orthogonal(seed=base + 2)


def recurrent_layer(layer_index: int, return_sequences: bool, go_backwards: bool, name: str):
    kernel, recurrent = initialisers(layer_index)
    cell = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}[KIND]
    return cell(
        UNITS,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
        kernel_initializer=kernel,
        recurrent_initializer=recurrent,
        name=name,
    )


inputs = keras.Input(shape=(HISTORY, 1), name="window")
if KIND == "Window MLP":
    features = keras.layers.Flatten(name="flatten")(inputs)
    features = keras.layers.Dense(UNITS, activation="relu", kernel_initializer=initialisers(0)[0], name="hidden_1")(
        features
    )
    layer_index, name = 1, "window_mlp"
else:
    features, layer_index = inputs, 0
    for depth in range(STACKED_LAYERS):
        return_sequences = depth < STACKED_LAYERS - 1
        forward = recurrent_layer(layer_index, return_sequences, False, f"{KIND.lower()}_{depth + 1}")
        layer_index += 1
        if BIDIRECTIONAL:
            backward = recurrent_layer(layer_index, return_sequences, True, f"{KIND.lower()}_{depth + 1}_backward")
            layer_index += 1
            features = keras.layers.Bidirectional(forward, backward_layer=backward, name=f"bidirectional_{depth + 1}")(
                features
            )
        else:
            features = forward(features)
    name = f"{'bidirectional_' if BIDIRECTIONAL else ''}{KIND.lower()}_forecaster"
outputs = keras.layers.Dense(1, kernel_initializer=initialisers(layer_index)[0], name="forecast")(features)
model = keras.Model(inputs, outputs, name=name)


def error_in_units(y_true, y_pred):
    """The mean absolute error of the forecasts, back in the series' units (the page's chart and table)."""
    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), keras.ops.shape(y_pred))
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1) * std


model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
    loss="mean_squared_error",
    metrics=[keras.metrics.MeanMetricWrapper(error_in_units, name=ERROR_NAME)],
)
model.summary()

# %% include: fit_arrays

# %% The test part, in the series' units
test_forecast = model.predict(x_test, verbose=0)[:, 0] * std + mean
print(f"Test mean absolute error: {np.mean(np.abs(test_forecast - (y_test * std + mean))):.4f}")
