"""The receptive field of a ConvNet's units: the closed-form recursion, and the same field measured.

The notes say that a ConvNet grows its receptive field as layers are stacked. `receptive_field_table`
is the standard closed-form recursion (size, jump and start per layer, pooling as its own layer),
for any stack of `lib.models.convnets.ConvStackSpec`. `measured_field` checks it on the real Keras
model with a gradient tape, and also returns the gradient map of the trained network, whose support
can be smaller than the formula's square (ReLU and max pooling pass gradient to some inputs only).

It shares the stack's size arithmetic with `lib.models.convnets` (its private helpers, imported
here), and imports Keras and TensorFlow inside functions only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from lib.engine.graph_lock import GRAPH_LOCK
from lib.models.convnets import (
    POOL_SIZE,
    ConvStackSpec,
    conv_output_side,
    pool_output_side,
    require_valid,
    same_padding_before,
    trunk_layers,
)

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras


# --- Receptive field: the closed form ---------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    """The receptive field of one unit of a layer's output, in input pixels.

    `jump` is the distance in input pixels between two neighbouring units of this layer; `start` is
    the centre of the first unit's field (a half-integer when an effective kernel is even);
    `first_pixel` is where the first unit's field begins (negative when it reaches into padding).
    """

    layer: str
    kind: str
    kernel: int
    stride: int
    dilation: int
    effective_kernel: int
    padding_before: int
    output_side: int
    jump: int
    receptive_field: int
    start: float
    first_pixel: int


def receptive_field_table(spec: ConvStackSpec) -> list[FieldRow]:
    """The standard recursion, one row per layer (pooling counts as its own layer), input first.

    With k_eff = d·(k − 1) + 1 and p the zeros padded before the first pixel:
        r_out = r_in + (k_eff − 1)·j_in,   j_out = j_in·s,   start_out = start_in + ((k_eff − 1)/2 − p)·j_in.
    For "same" padding p is what TensorFlow pads, which depends on the input side when s > 1.
    """
    require_valid(spec)
    rows = [FieldRow("input", "image", 1, 1, 1, 1, 0, spec.input_side, 1, 1, 0.0, 0)]
    side, jump, field_size, start, first = spec.input_side, 1, 1, 0.0, 0

    def advance(name, kind, kernel, stride, dilation, pad, output_side):
        nonlocal side, jump, field_size, start, first
        effective = dilation * (kernel - 1) + 1
        field_size = field_size + (effective - 1) * jump
        start = start + ((effective - 1) / 2 - pad) * jump
        first = first - pad * jump
        jump = jump * stride
        side = output_side
        rows.append(
            FieldRow(name, kind, kernel, stride, dilation, effective, pad, side, jump, field_size, start, first)
        )

    for index, layer in enumerate(spec.layers, start=1):
        pad = same_padding_before(side, layer.effective_kernel, layer.stride) if layer.padding == "same" else 0
        advance(
            f"conv_{index}",
            "conv",
            layer.kernel_size,
            layer.stride,
            layer.dilation,
            pad,
            conv_output_side(side, layer),
        )
        if layer.pool:
            advance(f"pool_{index}", "max pool", POOL_SIZE, POOL_SIZE, 1, 0, pool_output_side(side))
    return rows


def receptive_field_frame(spec: ConvStackSpec) -> pd.DataFrame:
    return pd.DataFrame([row.__dict__ for row in receptive_field_table(spec)])


class FieldBox(NamedTuple):
    """Inclusive pixel bounds of a receptive field: rows row0..row1, columns col0..col1."""

    row0: int
    row1: int
    col0: int
    col1: int


def theoretical_field(spec: ConvStackSpec, unit_row: int, unit_col: int) -> tuple[FieldBox, FieldBox]:
    """The formula's square for output unit (unit_row, unit_col): (clipped to the image, unclipped).

    The unclipped square can reach into the padding; the clipped one is what the gradient can see.
    """
    last = receptive_field_table(spec)[-1]
    if not (0 <= unit_row < last.output_side and 0 <= unit_col < last.output_side):
        raise ValueError(f"Unit ({unit_row}, {unit_col}) is outside the {last.output_side}×{last.output_side} output.")
    row0 = last.first_pixel + unit_row * last.jump
    col0 = last.first_pixel + unit_col * last.jump
    unclipped = FieldBox(row0, row0 + last.receptive_field - 1, col0, col0 + last.receptive_field - 1)
    high = spec.input_side - 1
    clipped = FieldBox(
        max(unclipped.row0, 0), min(unclipped.row1, high), max(unclipped.col0, 0), min(unclipped.col1, high)
    )
    return clipped, unclipped


def theoretical_mask(spec: ConvStackSpec, unit_row: int, unit_col: int) -> np.ndarray:
    """The formula's clipped square as a boolean input-sized grid, to compare with `measured_field`."""
    box, _ = theoretical_field(spec, unit_row, unit_col)
    mask = np.zeros((spec.input_side, spec.input_side), dtype=bool)
    if box.row0 <= box.row1 and box.col0 <= box.col1:
        mask[box.row0 : box.row1 + 1, box.col0 : box.col1 + 1] = True
    return mask


# --- Receptive field: measured with a gradient tape --------------------------------------------


class MeasuredField(NamedTuple):
    """The input pixels that influence one output unit, and how strongly (|gradient|, scaled to max 1)."""

    support: np.ndarray
    magnitude: np.ndarray


def _trunk_geometry(trunk) -> tuple:
    """The trunk's input shape and each layer's geometry, read from the real Keras layers' configs."""
    import keras

    layers = []
    for layer in trunk_layers(trunk):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Conv2D):
            layers.append(
                (
                    "conv",
                    tuple(config["kernel_size"]),
                    tuple(config["strides"]),
                    tuple(config["dilation_rate"]),
                    config["padding"],
                )
            )
        elif isinstance(layer, keras.layers.MaxPooling2D):
            layers.append(("pool", tuple(config["pool_size"]), tuple(config["strides"]), (1, 1), config["padding"]))
        else:
            raise ValueError(f"Cannot linearise layer {layer.name!r} of type {type(layer).__name__}.")
    return tuple(trunk.input.shape[1:]), tuple(layers)


@functools.lru_cache(maxsize=32)
def _linear_twin(geometry: tuple) -> keras.Model:
    """A model with the trunk's geometry and every nonlinearity and sign removed.

    Each conv layer keeps the real layer's kernel, stride, dilation and padding, with no
    activation, no bias, one all-ones filter; each max pooling becomes an average pooling of the
    same window. The gradient of an output unit then counts the paths from each input pixel to it:
    positive exactly on the pixels connected to the unit, zero elsewhere. With ReLU, max pooling
    (whose gradient goes to the window's maximum only) or random signs (which can cancel), the
    gradient could also vanish on connected pixels, and the support would no longer test the
    formula. One filter suffices: with all-ones kernels every channel carries the same map, so more
    filters would only scale the counts. The twins hold no trained weights and are only called, so
    sessions share them, cached by geometry.
    """
    import keras

    input_shape, layers = geometry
    with GRAPH_LOCK:
        inputs = keras.Input(shape=input_shape, name="image")
        features = inputs
        for index, (kind, window, strides, dilation, padding) in enumerate(layers, start=1):
            if kind == "conv":
                features = keras.layers.Conv2D(
                    1,
                    window,
                    strides=strides,
                    dilation_rate=dilation,
                    padding=padding,
                    activation=None,
                    use_bias=False,
                    kernel_initializer="ones",
                    name=f"linear_{index}",
                )(features)
            else:
                features = keras.layers.AveragePooling2D(
                    pool_size=window, strides=strides, padding=padding, name=f"linear_{index}"
                )(features)
        return keras.Model(inputs, features, name="linear_twin")


def _unit_gradient(model, image: np.ndarray, unit_row: int, unit_col: int, channel: int | None) -> np.ndarray:
    """|∂ output[unit_row, unit_col, channel] / ∂ input|, summed over the input channels, as a 2-D array.

    With channel None the unit is the sum of all channels at that position.
    """
    import tensorflow as tf

    inputs = tf.convert_to_tensor(image[np.newaxis], dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs, training=False)[0, unit_row, unit_col]
        unit = tf.reduce_sum(outputs) if channel is None else outputs[channel]
    gradient = tape.gradient(unit, inputs)
    return np.abs(gradient.numpy()[0]).sum(axis=-1)


def measured_field(
    model_trunk,
    input_side: int,
    channels: int,
    unit_row: int,
    unit_col: int,
    channel: int | None = 0,
    *,
    image: np.ndarray | None = None,
) -> MeasuredField:
    """Which input pixels the output unit (unit_row, unit_col, channel) of the trunk depends on.

    With `image=None` the measurement is structural: the gradient is taken on the linear twin of
    the real trunk (its Keras layers' own kernel, stride, dilation and padding; no ReLU, average
    instead of max pooling, all-ones kernels, all-ones input) so that it is non-zero on exactly the
    pixels connected to the unit. This must equal `theoretical_mask`, and the magnitude is the
    number of paths, heavier in the centre (the "effective" receptive field of Luo et al., 2016).

    With an `image` (side × side × channels), the gradient is taken on the real trunk with its
    trained weights, ReLUs and max poolings, at that image: its support is usually smaller than the
    formula's square, since inactive ReLUs and the losing inputs of each max pool pass no gradient.
    One channel can even be inactive at that position (all gradients zero); `channel=None` sums
    all channels of the unit's position, which the page should prefer for the real model.
    """
    if image is None:
        model = _linear_twin(_trunk_geometry(model_trunk))
        image = np.ones((input_side, input_side, channels), dtype=np.float32)
        channel = 0  # The twin has one channel: every channel of a position has the same field.
    else:
        model = model_trunk
        image = np.asarray(image, dtype=np.float32).reshape(input_side, input_side, channels)
    gradient = _unit_gradient(model, image, unit_row, unit_col, channel)
    support = gradient > 0
    peak = gradient.max()
    magnitude = (gradient / peak if peak > 0 else gradient).astype(np.float32)
    return MeasuredField(support, magnitude)


def field_comparison_frame(formula: np.ndarray, measured: MeasuredField) -> pd.DataFrame:
    """One row per input pixel (row, col, status, gradient) for drawing the two fields on one grid.

    status is "formula and gradient", "formula only" (the effective field is smaller there),
    "gradient only" (would mean the formula is wrong), or "outside".
    """
    rows, cols = np.indices(formula.shape)
    status = np.full(formula.shape, "outside", dtype=object)
    status[formula & measured.support] = "formula and gradient"
    status[formula & ~measured.support] = "formula only"
    status[~formula & measured.support] = "gradient only"
    return pd.DataFrame(
        {"row": rows.ravel(), "col": cols.ravel(), "status": status.ravel(), "gradient": measured.magnitude.ravel()}
    )
