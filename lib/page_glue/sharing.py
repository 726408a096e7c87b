"""The arithmetic of the parameter-sharing page: presets, the size cap, and the notes' rule of thumb.

Counts come from lib.engine.params (the one counter); the real Keras models come from lib.models.builders, built
only below a size cap and cached per architecture, so moving a slider back and forth costs nothing
and a 10-megapixel camera's MLP is never allocated. The overfitting demo's MLP (lib.models.overfitting)
is trained here, live through the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from lib.data.digits import DigitSplits
from lib.engine.params import (
    count_conv2d_params,
    count_dense_params,
    count_mlp_layers,
    total_params,
)
from lib.engine.training import TrainingRun, train_live
from lib.models.builders import held_out_batches
from lib.models.overfitting import DEMO_BATCH_SIZE, DEMO_METRICS, build_digit_mlp

# Above this many parameters the page shows the formula's count and does not allocate the model:
# 5 M float32 parameters are 20 MB per copy, and thirty people share one process.
BUILD_CAP_PARAMS = 5_000_000


@dataclass(frozen=True)
class ImagePreset:
    label: str
    height: int
    width: int
    channels: int


IMAGE_PRESETS = [
    ImagePreset("The notes' example: 100×100 grayscale", 100, 100, 1),
    ImagePreset("Handwritten digits: 28×28 grayscale", 28, 28, 1),
    ImagePreset("A 10-megapixel camera: 3,872×2,592", 3872, 2592, 1),
]

# The notes: "#params may be greater or smaller than #ex, but they should be in the same order of
# magnitude!! Ex: 10k vs. 10 is bad". Within a factor of ten either way counts as the same order.
RATIO_BANDS = [
    (1e-3, 0.1, "far fewer parameters", "#9ecae1"),
    (0.1, 10.0, "same order ✓", "#a1d99b"),
    (10.0, 1e3, "10–1000× more", "#fdd0a2"),
    (1e3, 1e8, "far more, like 10k vs 10", "#fc9272"),
]

# The ConvNet set beside the MLP: two 3×3 layers of 16 and 32 filters, then global average pooling.
CONVNET_FILTERS = (16, 32)
CONVNET_KERNEL = 3


def ratio_verdict(parameters: int, examples: int) -> tuple[float, str]:
    """The parameters-per-example ratio and what the notes' rule of thumb says of it."""
    ratio = parameters / max(examples, 1)
    if ratio < 0.1:
        return ratio, "far fewer parameters than examples: the model may be too small to fit the data"
    if ratio <= 10:
        return ratio, "the same order of magnitude, as the notes recommend"
    if ratio <= 1e3:
        return ratio, "more parameters than examples by over ten times: expect overfitting"
    return ratio, "far more parameters than examples, like the notes' “10k vs 10”: this will overfit"


def convnet_layer_counts(channels: int, outputs: int) -> list:
    """Per-layer counts of the ConvNet beside the MLP; the image's height and width never appear."""
    counts = []
    fan_in = channels
    for filters in CONVNET_FILTERS:
        counts.append(count_conv2d_params(fan_in, filters, CONVNET_KERNEL))
        fan_in = filters
    counts.append(count_dense_params(fan_in, outputs))
    return counts


def parameters_by_image_side(sides: list[int], channels: int, hidden_sizes: list[int], outputs: int) -> pd.DataFrame:
    """MLP against ConvNet parameter counts for square images of each side (formula counts)."""
    rows = []
    for side in sides:
        mlp = total_params(count_mlp_layers(side * side * channels, hidden_sizes, outputs))
        convnet = total_params(convnet_layer_counts(channels, outputs))
        rows.append({"image side (pixels)": side, "model": "MLP (no sharing)", "parameters": mlp})
        rows.append({"image side (pixels)": side, "model": "ConvNet (shared 3×3 kernels)", "parameters": convnet})
    return pd.DataFrame(rows)


@st.cache_data(max_entries=64, show_spinner="Building the Keras model…")
def built_mlp_parameter_count(input_shape: tuple[int, ...], hidden_sizes: tuple[int, ...], outputs: int) -> int:
    """Build the real Keras MLP, ask it for `count_params()`, and let it go: only the number is kept."""
    from lib.models.builders import build_mlp

    return int(build_mlp(input_shape, hidden_sizes, outputs).count_params())


@st.cache_data(max_entries=64, show_spinner=False)
def built_convnet_parameter_count(input_shape: tuple[int, ...], outputs: int) -> int:
    from lib.models.builders import build_small_convnet

    model = build_small_convnet(input_shape, outputs, filters=CONVNET_FILTERS, kernel_size=CONVNET_KERNEL)
    return int(model.count_params())


def train_digit_mlp(
    page_key: str, splits: DigitSplits, hidden_units: int, epochs: int, area, seed: int = 0
) -> TrainingRun:
    model = build_digit_mlp(hidden_units, seed=seed)
    label = f"{len(splits.y_train):,} examples · {hidden_units} hidden units · {model.count_params():,} parameters"
    label += f" · seed {seed}" if seed else ""
    return train_live(
        model,
        splits.x_train,
        splits.y_train,
        validation_data=held_out_batches(splits.x_validation, splits.y_validation),
        epochs=epochs,
        batch_size=DEMO_BATCH_SIZE,
        shuffle_seed=seed,  # the same batches in the run's exported train.py
        label=label,
        page_key=page_key,
        settings={"examples": len(splits.y_train), "hidden_units": hidden_units, "epochs": epochs, "seed": seed},
        metrics=DEMO_METRICS,
        area=area,
    )
