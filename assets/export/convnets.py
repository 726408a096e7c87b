"""Train a model of RNN Playground's "ConvNets" page again, with plain Keras: the ConvNet or its matched MLP.

The data is the run's own (data.npz: the 8×8 digits centred on a blank canvas, training and held-out,
in [0, 1], and their labels). The model is the page's: for the ConvNet, the convolution layers of LAYERS
(ReLU, He-uniform initialisers seeded SEED + layer number, optional 2×2 max pooling), then global average
pooling (or flatten) and a softmax; for the MLP, one hidden ReLU layer of HIDDEN_UNITS, about as many
parameters as the ConvNet. The training is the page's (Adam, sparse categorical cross-entropy).

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
KIND = "ConvNet"  # "ConvNet" or "MLP"
LAYERS = [
    {"filters": 8, "kernel_size": 3, "stride": 1, "dilation": 1, "padding": "same", "pool": None},
    {"filters": 16, "kernel_size": 3, "stride": 1, "dilation": 1, "padding": "same", "pool": None},
    {"filters": 32, "kernel_size": 3, "stride": 1, "dilation": 2, "padding": "same", "pool": None},
]
HEAD = "global_average"  # or "flatten"
HIDDEN_UNITS = 0  # the MLP's hidden layer
CLASSES = 10
EPOCHS = 6
BATCH_SIZE = 64
LEARNING_RATE = 0.01
SEED = 0
# --- end of settings

# %% include: arguments

# %% The data the run trained on: centred digits only, so that moved ones test what the model learned
# %% include: digits_data
print(f"{len(y_train)} training and {len(y_validation)} held-out digits on a {x_train.shape[1]}-pixel canvas")

# %% The model
inputs = keras.Input(shape=x_train.shape[1:], name="image")
if KIND == "ConvNet":
    features = inputs
    for index, layer in enumerate(LAYERS, start=1):
        features = keras.layers.Conv2D(
            layer["filters"],
            layer["kernel_size"],
            strides=layer["stride"],
            dilation_rate=layer["dilation"],
            padding=layer["padding"],
            activation="relu",
            kernel_initializer=keras.initializers.HeUniform(seed=SEED + index),
            name=f"conv_{index}",
        )(features)
        if layer["pool"]:
            features = keras.layers.MaxPooling2D(pool_size=2, strides=2, name=f"pool_{index}")(features)
    if HEAD == "global_average":
        features = keras.layers.GlobalAveragePooling2D(name="global_pool")(features)
    else:
        features = keras.layers.Flatten(name="flatten")(features)
    name = "convnet"
else:
    features = keras.layers.Flatten(name="flatten")(inputs)
    features = keras.layers.Dense(
        HIDDEN_UNITS,
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 1),
        name="hidden_1",
    )(features)
    name = "mlp"
outputs = keras.layers.Dense(
    CLASSES, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=SEED), name="output"
)(features)
model = keras.Model(inputs, outputs, name=name)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.summary()

# %% include: fit_arrays
