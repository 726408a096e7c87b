"""The ConvNets page's library: a configurable ConvNet, its parameters, its receptive field, and shifted digits.

The notes say that a ConvNet shares its parameters across segments of the input, captures local
context, grows its receptive field as layers are stacked, and stays local; the reason to share is
the image's intrinsic structure (a digit is the same digit wherever it sits). Each claim gets a
measurement here:

- Parameters. `conv_layer_table` counts every layer with lib.engine.params (the one counter) and marks
  which counts depend on the image's size; `parameters_by_input_side` shows that the conv layers'
  counts stay flat while the MLP's first layer grows with the pixels.
- Receptive field. `receptive_field_table` is the standard closed-form recursion (size, jump and
  start per layer, pooling as its own layer). `measured_field` checks it on the real Keras model
  with a gradient tape, and also returns the gradient map of the trained network, whose support
  can be smaller than the formula's square (ReLU and max pooling pass gradient to some inputs only).
- Translation. Digits are placed on a larger canvas so they can move; both models train on centred
  digits only, and `translation_accuracy` measures how their accuracy falls as the test digits move.

Design choice for the head: the default ConvNet ends with global average pooling and one Dense
layer, so that no parameter of the whole model depends on the image's size (and the model accepts
a digit wherever it sits). The "flatten" head is offered to show the opposite: its Dense layer sees
every position of the last feature map, so its count grows with the image, as an MLP's does.

Keras is imported inside functions only, so importing this module does not load TensorFlow. Seeds
go to the initializers and to NumPy generators, never to `keras.utils.set_random_seed`, which
would reseed every session of the process at once.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from lib.engine.params import LayerCount, count_conv2d_params, count_dense_params, count_mlp_layers, total_params

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

Padding = Literal["valid", "same"]
Head = Literal["global_average", "flatten"]

MAX_CONV_LAYERS = 6
MIN_CONV_LAYERS = 1
POOL_SIZE = 2
DIGIT_SIDE = 8
CLASSES = 10

# The digits are 8×8; a 16×16 canvas leaves four blank pixels on every side of a centred digit, so
# the translation test can move it by up to 4 pixels in any direction without cropping a stroke.
DEFAULT_CANVAS_SIDE = 16
DEFAULT_MAX_SHIFT = 4

# The default training budget. On 2 shared CPU cores, with plain model.fit, the default ConvNet
# trains in about 7.5 s and its matched MLP in about 2.5 s, under the 15 s together.
# Batches of 64 rather than 32 halve the number of steps, and Keras's fixed cost per step is most
# of the MLP's time; the higher learning rate makes up for the fewer steps.
DEFAULT_TRAIN_COUNT = 1_437
DEFAULT_CONVNET_EPOCHS = 20
DEFAULT_MLP_EPOCHS = 20
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 5e-3


# --- The stack's description -----------------------------------------------------------------


@dataclass(frozen=True)
class ConvLayerSpec:
    """One convolution, optionally followed by a 2×2 max pooling of stride 2."""

    filters: int = 16
    kernel_size: int = 3
    stride: int = 1
    dilation: int = 1
    padding: Padding = "same"
    pool: int | None = None

    @property
    def effective_kernel(self) -> int:
        """A dilated kernel of size k spans d·(k − 1) + 1 input pixels with only k weights."""
        return self.dilation * (self.kernel_size - 1) + 1


@dataclass(frozen=True)
class ConvStackSpec:
    """A whole ConvNet: a square input, the conv layers in order, and the classifier head."""

    input_side: int = DEFAULT_CANVAS_SIDE
    channels: int = 1
    layers: tuple[ConvLayerSpec, ...] = (
        ConvLayerSpec(filters=8, kernel_size=3, pool=None),
        ConvLayerSpec(filters=16, kernel_size=3, pool=None),
        ConvLayerSpec(filters=32, kernel_size=3, dilation=2, pool=None),
    )
    classes: int = CLASSES
    head: Head = "global_average"

    def with_input_side(self, input_side: int) -> "ConvStackSpec":
        return replace(self, input_side=int(input_side))


# The default stack has no pooling and no stride, on purpose. Measured on the digits: with two 2×2
# max poolings before global pooling, accuracy fell from 0.92 on centred digits to 0.43 for a
# 1-pixel shift but came back to 0.69 for a 4-pixel shift, because a shift that is not a multiple
# of the total stride (4) changes which pixels each pooling window groups (aliasing). Without
# subsampling the trunk moves with the digit, and global average pooling then makes the whole
# model nearly invariant: 0.93 centred, 0.91 at 3 pixels. The last layer's dilation of 2 widens the
# receptive field to 9×9 for no extra parameter and no extra time. Users can add pooling and see
# the aliasing themselves.
DEFAULT_SPEC = ConvStackSpec()


# --- Sizes and validation ----------------------------------------------------------------------


def _conv_output_side(side: int, layer: ConvLayerSpec) -> int:
    """Keras's (and TensorFlow's) output side: ceil(n / s) for "same", floor((n − k_eff) / s) + 1 for "valid"."""
    if layer.padding == "same":
        return math.ceil(side / layer.stride)
    return (side - layer.effective_kernel) // layer.stride + 1 if side >= layer.effective_kernel else 0


def _same_padding_before(side: int, kernel: int, stride: int) -> int:
    """The zeros TensorFlow adds before the first pixel for "same": half the total, rounded down."""
    output_side = math.ceil(side / stride)
    total = max((output_side - 1) * stride + kernel - side, 0)
    return total // 2


def _pool_output_side(side: int) -> int:
    """Max pooling 2×2 with stride 2 and "valid" padding (Keras's default) drops an odd last row."""
    return (side - POOL_SIZE) // POOL_SIZE + 1 if side >= POOL_SIZE else 0


def validate_stack(spec: ConvStackSpec) -> str | None:
    """A sentence explaining why the stack cannot be built, or None when it can.

    The page calls this before building anything, so an impossible choice of sliders shows a
    message instead of an error from deep inside Keras.
    """
    if spec.input_side < 1 or spec.channels < 1:
        shape = f"{spec.input_side}×{spec.input_side}×{spec.channels}"
        return f"The input must be at least 1×1 with 1 channel; got {shape}."
    if spec.classes < 2:
        return f"A classifier needs at least 2 classes; got {spec.classes}."
    if spec.head not in ("global_average", "flatten"):
        return f"The head must be 'global_average' or 'flatten'; got {spec.head!r}."
    if not MIN_CONV_LAYERS <= len(spec.layers) <= MAX_CONV_LAYERS:
        return f"Choose between {MIN_CONV_LAYERS} and {MAX_CONV_LAYERS} conv layers; got {len(spec.layers)}."
    side = spec.input_side
    for index, layer in enumerate(spec.layers, start=1):
        if min(layer.filters, layer.kernel_size, layer.stride, layer.dilation) < 1:
            return f"Conv layer {index}: filters, kernel size, stride and dilation must all be at least 1."
        if layer.padding not in ("valid", "same"):
            return f"Conv layer {index}: padding must be 'valid' or 'same'; got {layer.padding!r}."
        if layer.pool not in (None, POOL_SIZE):
            return f"Conv layer {index}: pooling must be none or 2×2; got {layer.pool!r}."
        if layer.stride > 1 and layer.dilation > 1:
            return (
                f"Conv layer {index}: Keras cannot combine a stride above 1 with a dilation above 1; "
                "set one of them to 1."
            )
        output_side = _conv_output_side(side, layer)
        if output_side < 1:
            return (
                f"Conv layer {index} receives a {side}×{side} map but its {layer.kernel_size}×{layer.kernel_size} "
                f"kernel with dilation {layer.dilation} spans {layer.effective_kernel} pixels with 'valid' padding: "
                "use 'same' padding, a smaller kernel, fewer layers or a larger image."
            )
        side = output_side
        if layer.pool:
            if _pool_output_side(side) < 1:
                return (
                    f"The 2×2 pooling after conv layer {index} receives a {side}×{side} map, too small to pool: "
                    "remove a pooling, a stride or a layer, or use a larger image."
                )
            side = _pool_output_side(side)
    return None


def _require_valid(spec: ConvStackSpec) -> None:
    problem = validate_stack(spec)
    if problem:
        raise ValueError(problem)


def spec_output_sizes(spec: ConvStackSpec) -> list[tuple[str, int, int]]:
    """(layer name, output side, output channels) for every trunk layer, in order; conv then pooling."""
    _require_valid(spec)
    sizes = []
    side, channels = spec.input_side, spec.channels
    for index, layer in enumerate(spec.layers, start=1):
        side, channels = _conv_output_side(side, layer), layer.filters
        sizes.append((f"conv_{index}", side, channels))
        if layer.pool:
            side = _pool_output_side(side)
            sizes.append((f"pool_{index}", side, channels))
    return sizes


def trunk_output_side(spec: ConvStackSpec) -> int:
    """The side of the last feature map: the output units the receptive-field slider chooses from."""
    return spec_output_sizes(spec)[-1][1]


# --- Parameter table -------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerRow:
    """One row of the page's parameter table, its count taken from lib.engine.params."""

    layer: str
    kind: str
    output: str
    weights: int
    biases: int
    parameters: int
    formula: str
    depends_on_image_size: bool


def _row(layer: str, kind: str, output: str, count: LayerCount | None, depends: bool) -> LayerRow:
    if count is None:
        return LayerRow(layer, kind, output, 0, 0, 0, "no parameters", depends)
    return LayerRow(layer, kind, output, count.weights, count.biases, count.total, count.formula, depends)


def conv_layer_table(spec: ConvStackSpec) -> list[LayerRow]:
    """Every layer of `build_convnet(spec)` with its output shape and its parameter count.

    The conv rows never depend on the image's size: a kernel is k×k×channels×filters wherever it
    slides. Only a "flatten" head's Dense layer does, because it has one weight per position.
    """
    sizes = dict((name, (side, channels)) for name, side, channels in spec_output_sizes(spec))
    rows = []
    fan_in = spec.channels
    for index, layer in enumerate(spec.layers, start=1):
        side, channels = sizes[f"conv_{index}"]
        kind = (
            f"Conv2D {layer.kernel_size}×{layer.kernel_size}, stride {layer.stride}, "
            f"dilation {layer.dilation}, {layer.padding}"
        )
        rows.append(
            _row(f"conv_{index}", kind, f"{side}×{side}×{channels}",
                 count_conv2d_params(fan_in, layer.filters, layer.kernel_size), False)
        )
        fan_in = layer.filters
        if layer.pool:
            side, channels = sizes[f"pool_{index}"]
            output = f"{side}×{side}×{channels}"
            rows.append(_row(f"pool_{index}", "MaxPooling2D 2×2, stride 2", output, None, False))
    last_side = trunk_output_side(spec)
    if spec.head == "global_average":
        rows.append(_row("global_pool", "GlobalAveragePooling2D", f"{fan_in}", None, False))
        rows.append(_row("output", "Dense softmax", f"{spec.classes}", count_dense_params(fan_in, spec.classes), False))
    else:
        flat = last_side * last_side * fan_in
        rows.append(_row("flatten", "Flatten", f"{flat:,}", None, False))
        rows.append(_row("output", "Dense softmax", f"{spec.classes}", count_dense_params(flat, spec.classes), True))
    return rows


def table_frame(rows: list[LayerRow]) -> pd.DataFrame:
    """The rows as a DataFrame, ready for `st.dataframe`."""
    return pd.DataFrame([row.__dict__ for row in rows])


def convnet_parameter_count(spec: ConvStackSpec) -> int:
    return sum(row.parameters for row in conv_layer_table(spec))


def conv_parameter_count(spec: ConvStackSpec) -> int:
    """The conv layers alone: the part the notes say is shared across positions."""
    return sum(row.parameters for row in conv_layer_table(spec) if row.layer.startswith("conv_"))


def layer_table_with_keras(spec: ConvStackSpec, model) -> pd.DataFrame:
    """The formula's table with a column of Keras's own `count_params()` for each layer, and whether they agree."""
    frame = table_frame(conv_layer_table(spec))
    keras_counts = {layer.name: int(layer.count_params()) for layer in model.layers}
    frame["keras count_params()"] = [keras_counts.get(name, 0) for name in frame["layer"]]
    frame["agrees"] = frame["parameters"] == frame["keras count_params()"]
    return frame


def mlp_layer_table(input_side: int, channels: int, hidden_sizes: list[int], classes: int = CLASSES) -> pd.DataFrame:
    """The MLP that would see the same image, counted by lib.engine.params: its first layer grows with the pixels."""
    layers = count_mlp_layers(input_side * input_side * channels, list(hidden_sizes), classes)
    return pd.DataFrame(
        [
            {"layer": layer.name, "weights": layer.weights, "biases": layer.biases, "parameters": layer.total,
             "formula": layer.formula, "depends_on_image_size": index == 0}
            for index, layer in enumerate(layers)
        ]
    )


def parameters_by_input_side(spec: ConvStackSpec, sides: list[int], mlp_hidden_sizes: list[int]) -> pd.DataFrame:
    """Long table (image side, part, parameters): conv layers, the ConvNet's head, and the MLP, per side.

    A side too small for the stack is skipped for the ConvNet (it cannot be built), kept for the MLP.
    """
    rows = []
    for side in sides:
        sized = spec.with_input_side(side)
        if validate_stack(sized) is None:
            table = conv_layer_table(sized)
            conv = sum(row.parameters for row in table if row.layer.startswith("conv_"))
            head = sum(row.parameters for row in table if not row.layer.startswith("conv_"))
            rows.append({"image side (pixels)": side, "part": "ConvNet: conv layers", "parameters": conv})
            rows.append({"image side (pixels)": side, "part": "ConvNet: head", "parameters": head})
        mlp = total_params(count_mlp_layers(side * side * spec.channels, list(mlp_hidden_sizes), spec.classes))
        rows.append({"image side (pixels)": side, "part": "MLP", "parameters": mlp})
    return pd.DataFrame(rows)


# --- Keras builders --------------------------------------------------------------------------


def _conv_trunk(inputs, spec: ConvStackSpec, seed: int):
    """The conv layers (ReLU) and their poolings, named conv_i and pool_i so they can be found again."""
    import keras

    features = inputs
    for index, layer in enumerate(spec.layers, start=1):
        features = keras.layers.Conv2D(
            layer.filters,
            layer.kernel_size,
            strides=layer.stride,
            dilation_rate=layer.dilation,
            padding=layer.padding,
            activation="relu",
            kernel_initializer=keras.initializers.HeUniform(seed=seed + index),
            name=f"conv_{index}",
        )(features)
        if layer.pool:
            features = keras.layers.MaxPooling2D(pool_size=POOL_SIZE, strides=POOL_SIZE, name=f"pool_{index}")(features)
    return features


def build_convnet(spec: ConvStackSpec = DEFAULT_SPEC, seed: int = 0, name: str = "convnet") -> "keras.Model":
    """The ConvNet of `spec`: conv trunk, then global average pooling (or flatten), then a softmax layer."""
    import keras

    _require_valid(spec)
    inputs = keras.Input(shape=(spec.input_side, spec.input_side, spec.channels), name="image")
    features = _conv_trunk(inputs, spec, seed)
    if spec.head == "global_average":
        summary = keras.layers.GlobalAveragePooling2D(name="global_pool")(features)
    else:
        summary = keras.layers.Flatten(name="flatten")(features)
    outputs = keras.layers.Dense(
        spec.classes, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name="output",
    )(summary)
    return keras.Model(inputs, outputs, name=name)


def build_feature_extractor(spec: ConvStackSpec = DEFAULT_SPEC, seed: int = 0) -> "keras.Model":
    """The conv trunk alone, freshly initialised: input image → last feature map."""
    import keras

    _require_valid(spec)
    inputs = keras.Input(shape=(spec.input_side, spec.input_side, spec.channels), name="image")
    return keras.Model(inputs, _conv_trunk(inputs, spec, seed), name="convnet_trunk")


def _trunk_layers(model) -> list:
    return [layer for layer in model.layers if layer.name.startswith(("conv_", "pool_"))]


def trunk_of(model) -> "keras.Model":
    """The trunk of a built ConvNet, sharing its weights: image → last conv or pooling output."""
    import keras

    layers = _trunk_layers(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no conv_ or pool_ layers.")
    if model.output is layers[-1].output:
        return model
    return keras.Model(model.input, layers[-1].output, name=f"{model.name}_trunk")


def matched_mlp_hidden_size(input_size: int, target_parameters: int, classes: int = CLASSES) -> int:
    """The hidden width h whose one-hidden-layer MLP, h·(inputs + 1) + (h + 1)·classes, is closest to the target.

    An MLP cannot be smaller than one hidden unit, so a target below that cost gets h = 1.
    """
    per_unit = input_size + 1 + classes
    hidden = round((target_parameters - classes) / per_unit)
    return max(1, int(hidden))


def build_matched_mlp(
    input_side: int, channels: int, target_parameters: int, seed: int = 0, classes: int = CLASSES
) -> "keras.Model":
    """An MLP on the same image with about as many parameters as the ConvNet, so the comparison is fair."""
    from lib.models.builders import build_mlp

    hidden = matched_mlp_hidden_size(input_side * input_side * channels, target_parameters, classes)
    return build_mlp((input_side, input_side, channels), [hidden], classes, seed=seed, name="mlp")


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
    _require_valid(spec)
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
        pad = _same_padding_before(side, layer.effective_kernel, layer.stride) if layer.padding == "same" else 0
        advance(f"conv_{index}", "conv", layer.kernel_size, layer.stride, layer.dilation, pad,
                _conv_output_side(side, layer))
        if layer.pool:
            advance(f"pool_{index}", "max pool", POOL_SIZE, POOL_SIZE, 1, 0, _pool_output_side(side))
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
    for layer in _trunk_layers(trunk):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Conv2D):
            layers.append(("conv", tuple(config["kernel_size"]), tuple(config["strides"]),
                           tuple(config["dilation_rate"]), config["padding"]))
        elif isinstance(layer, keras.layers.MaxPooling2D):
            layers.append(("pool", tuple(config["pool_size"]), tuple(config["strides"]), (1, 1), config["padding"]))
        else:
            raise ValueError(f"Cannot linearise layer {layer.name!r} of type {type(layer).__name__}.")
    return tuple(trunk.input.shape[1:]), tuple(layers)


_twin_lock = threading.Lock()


@functools.lru_cache(maxsize=32)
def _linear_twin(geometry: tuple) -> "keras.Model":
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
    with _twin_lock:
        inputs = keras.Input(shape=input_shape, name="image")
        features = inputs
        for index, (kind, window, strides, dilation, padding) in enumerate(layers, start=1):
            if kind == "conv":
                features = keras.layers.Conv2D(
                    1, window, strides=strides, dilation_rate=dilation, padding=padding, activation=None,
                    use_bias=False, kernel_initializer="ones", name=f"linear_{index}",
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


# --- Digits on a canvas, and translation --------------------------------------------------------


def place_on_canvas(images: np.ndarray, canvas_side: int = DEFAULT_CANVAS_SIDE,
                    offset: tuple[int, int] | None = None) -> np.ndarray:
    """Paste each image on a blank canvas with its top-left corner at `offset` (row, col); centred by default.

    Pixels that would fall off the canvas are dropped. A trailing channel axis is kept if present.
    """
    images = np.asarray(images, dtype=np.float32)
    has_channel = images.ndim == 4
    flat = images[..., 0] if has_channel else images
    count, height, width = flat.shape
    if offset is None:
        offset = ((canvas_side - height) // 2, (canvas_side - width) // 2)
    top, left = offset
    canvas = np.zeros((count, canvas_side, canvas_side), dtype=np.float32)
    source_rows = slice(max(0, -top), max(0, min(height, canvas_side - top)))
    source_cols = slice(max(0, -left), max(0, min(width, canvas_side - left)))
    target_rows = slice(max(0, top), max(0, top) + (source_rows.stop - source_rows.start))
    target_cols = slice(max(0, left), max(0, left) + (source_cols.stop - source_cols.start))
    if source_rows.stop > source_rows.start and source_cols.stop > source_cols.start:
        canvas[:, target_rows, target_cols] = flat[:, source_rows, source_cols]
    return canvas[..., np.newaxis] if has_channel else canvas


def shift_images(images: np.ndarray, dx: int, dy: int, canvas_side: int = DEFAULT_CANVAS_SIDE) -> np.ndarray:
    """Digits (8×8, or already on a canvas) moved dx pixels right and dy pixels down from the centre.

    The i-th output is the i-th input moved, so the labels array applies unchanged; the pixel sum is
    kept whenever the digit stays inside the canvas.
    """
    images = np.asarray(images, dtype=np.float32)
    height, width = images.shape[1], images.shape[2]
    top = (canvas_side - height) // 2 + int(dy)
    left = (canvas_side - width) // 2 + int(dx)
    return place_on_canvas(images, canvas_side, (top, left))


def shift_directions(shift: int) -> list[tuple[int, int]]:
    """The eight compass moves of `shift` pixels (dx, dy ∈ {−s, 0, s}, not both 0), or no move for 0."""
    if shift == 0:
        return [(0, 0)]
    return [(dx, dy) for dy in (-shift, 0, shift) for dx in (-shift, 0, shift) if (dx, dy) != (0, 0)]


def with_channel(images: np.ndarray) -> np.ndarray:
    """(n, side, side) → (n, side, side, 1), the shape the Keras models take."""
    return images[..., np.newaxis] if images.ndim == 3 else images


def translation_accuracy(
    model, images: np.ndarray, labels: np.ndarray, max_shift: int, canvas_side: int = DEFAULT_CANVAS_SIDE,
    model_name: str | None = None,
) -> pd.DataFrame:
    """Accuracy at each shift s = 0..max_shift: the mean over the eight compass moves of s pixels.

    A move of s pixels is (dx, dy) with dx, dy ∈ {−s, 0, s}, so it covers the horizontal, vertical
    and diagonal directions alike. All the shifted copies go through the model in one predict call.
    """
    labels = np.asarray(labels)
    batches, keys = [], []
    for shift in range(int(max_shift) + 1):
        for dx, dy in shift_directions(shift):
            batches.append(shift_images(images, dx, dy, canvas_side))
            keys.append(shift)
    predictions = model.predict(with_channel(np.concatenate(batches)), batch_size=1024, verbose=0).argmax(axis=1)
    correct = (predictions.reshape(len(batches), len(labels)) == labels[np.newaxis]).mean(axis=1)
    frame = pd.DataFrame({"shift": keys, "accuracy": correct}).groupby("shift", as_index=False)["accuracy"].mean()
    if model_name is not None:
        frame["model"] = model_name
    return frame


def shifted_gallery(
    models: dict[str, Any], images: np.ndarray, labels: np.ndarray, dx: int, dy: int,
    canvas_side: int = DEFAULT_CANVAS_SIDE,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The shifted digits and, per digit, its label and each model's guess, for the page's gallery."""
    shifted = shift_images(images, dx, dy, canvas_side)
    table = pd.DataFrame({"label": np.asarray(labels)})
    for name, model in models.items():
        table[name] = model.predict(with_channel(shifted), verbose=0).argmax(axis=1)
    return shifted, table


@dataclass(frozen=True)
class CanvasDigits:
    """The shipped digits centred on a canvas, (n, side, side, 1), with the fixed split of lib.data.digits."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    raw_validation: np.ndarray = field(repr=False)


def canvas_digits(train_count: int = DEFAULT_TRAIN_COUNT, canvas_side: int = DEFAULT_CANVAS_SIDE) -> CanvasDigits:
    """Centred digits only: the models never see a moved digit while training, so shifts test invariance."""
    from lib.data.digits import split_digits

    splits = split_digits(train_count)
    return CanvasDigits(
        with_channel(place_on_canvas(splits.x_train, canvas_side)),
        np.asarray(splits.y_train),
        with_channel(place_on_canvas(splits.x_validation, canvas_side)),
        np.asarray(splits.y_validation),
        np.asarray(splits.x_validation),
    )


# --- What the first layer learned ---------------------------------------------------------------


def first_layer_filters(model) -> np.ndarray:
    """The first conv layer's kernels as (k, k, filters), averaged over input channels (exact for grayscale)."""
    kernel = np.asarray(model.get_layer("conv_1").get_weights()[0])
    return kernel.mean(axis=2)


def feature_maps(model, image: np.ndarray, layer_index: int = 0) -> np.ndarray:
    """The feature maps (side, side, filters) of conv layer `layer_index` (0-based, after its ReLU) for one image."""
    import keras

    conv_layers = [layer for layer in model.layers if layer.name.startswith("conv_")]
    if not 0 <= layer_index < len(conv_layers):
        raise ValueError(f"Layer index {layer_index} is outside 0..{len(conv_layers) - 1}.")
    probe = keras.Model(model.input, conv_layers[layer_index].output)
    batch = np.asarray(image, dtype=np.float32).reshape((1, *model.inputs[0].shape[1:]))
    return np.asarray(probe(batch, training=False))[0]


# --- Training the ConvNet against its matched MLP, and what is measured after ------------------

TRAINING_METRICS = ["loss", "accuracy"]
# The canvases the training section offers: wide enough for the digit to move, small enough that
# the default ConvNet and its MLP still train in seconds (time grows with the canvas's area).
CANVAS_CHOICES = (12, 16, 20, 24)


def max_shift_for(canvas_side: int, digit_side: int = DIGIT_SIDE) -> int:
    """The largest move that keeps a centred digit wholly on the canvas."""
    return max(0, (int(canvas_side) - digit_side) // 2)


def training_spec(spec: ConvStackSpec, canvas_side: int) -> ConvStackSpec:
    """The page's stack, on a grayscale canvas of the digits' size, with one output per digit."""
    return replace(spec, input_side=int(canvas_side), channels=1, classes=CLASSES)


def describe_stack(spec: ConvStackSpec) -> str:
    """A short label for a stack, e.g. '8·16·32 filters 3×3, dilated · global average'."""
    filters = "·".join(str(layer.filters) for layer in spec.layers)
    kernels = "/".join(sorted({f"{layer.kernel_size}×{layer.kernel_size}" for layer in spec.layers}))
    extras = [
        word for word, used in (
            ("pooled", any(layer.pool for layer in spec.layers)),
            ("strided", any(layer.stride > 1 for layer in spec.layers)),
            ("dilated", any(layer.dilation > 1 for layer in spec.layers)),
        ) if used
    ]
    head = "global average" if spec.head == "global_average" else "flatten"
    return f"{filters} filters {kernels}" + "".join(f", {word}" for word in extras) + f" · {head}"


def gallery_indices(labels: np.ndarray, count: int = CLASSES) -> np.ndarray:
    """The first digit of each class 0, 1, 2, … in `labels`: one of each for the gallery."""
    labels = np.asarray(labels)
    firsts = [int(np.flatnonzero(labels == digit)[0]) for digit in range(count) if (labels == digit).any()]
    return np.asarray(firsts, dtype=int)


def gallery_predictions(model, images: np.ndarray, canvas_side: int, max_shift: int) -> np.ndarray:
    """Each model guess for each 8×8 image at every move (dx, dy) in −max_shift..max_shift, in one call.

    Shaped (2m + 1, 2m + 1, n) and indexed [dy + m, dx + m, digit], so the page can show any move
    later without the model.
    """
    span = range(-int(max_shift), int(max_shift) + 1)
    batch = np.concatenate([shift_images(images, dx, dy, canvas_side) for dy in span for dx in span])
    guesses = model.predict(with_channel(batch), batch_size=1024, verbose=0).argmax(axis=1)
    return guesses.reshape(len(span), len(span), len(images))


def measure_after_training(kind: str, model, spec: ConvStackSpec, digits: CanvasDigits, press: int,
                           formula_parameters: int) -> dict[str, Any]:
    """What the page draws about a trained model on later reruns, computed once right after training.

    Translation accuracy for every shift the canvas allows, the gallery's guesses at every move,
    and (for the ConvNet) its first layer's filters: none of these needs the model afterwards.
    """
    max_shift = max_shift_for(spec.input_side)
    gallery = gallery_indices(digits.y_validation)
    results = {
        "kind": kind,
        "press": press,
        "spec": spec,
        "canvas": spec.input_side,
        "max_shift": max_shift,
        "parameters": int(model.count_params()),
        "formula_parameters": int(formula_parameters),
        "translation": translation_accuracy(
            model, digits.raw_validation, digits.y_validation, max_shift, spec.input_side, model_name=kind
        ),
        "gallery_indices": gallery,
        "gallery_guesses": gallery_predictions(model, digits.raw_validation[gallery], spec.input_side, max_shift),
    }
    if kind == "ConvNet":
        results["filters"] = first_layer_filters(model)
    return results


def train_convnet_and_mlp(
    page_key: str,
    spec: ConvStackSpec,
    digits: CanvasDigits,
    epochs: int,
    area,
    *,
    press_number: int = 1,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    learning_rate: float = DEFAULT_LEARNING_RATE,
) -> list:
    """Train the ConvNet of `spec`, then the MLP with about as many parameters, into one live chart.

    `spec` is a training spec (grayscale, the canvas's side). Each run's measurements are stored in
    `run.results` right after it trains (see `measure_after_training`), with the same `press`
    number (see `next_press_number`) so the page can pair the two runs of one press. A Stop or a
    moved widget ends the press: the run cut short keeps its curves but gets no measurements, and
    the MLP is not trained.
    """
    from lib.models.builders import compile_classifier
    from lib.engine.training import train_live

    _require_valid(spec)
    area = area.empty()  # One chart for the whole press: each run's view replaces the previous one.
    press = int(press_number)
    convnet = compile_classifier(build_convnet(spec, seed=seed, name="convnet"), learning_rate)
    formula = convnet_parameter_count(spec)
    mlp = compile_classifier(
        build_matched_mlp(spec.input_side, spec.channels, formula, seed=seed, classes=spec.classes), learning_rate
    )
    hidden = matched_mlp_hidden_size(spec.input_side**2 * spec.channels, formula, spec.classes)
    canvas = f"{spec.input_side}×{spec.input_side}"
    models = [
        ("ConvNet", convnet, f"ConvNet #{press_number} · {describe_stack(spec)} · {formula:,} params · {canvas}",
         formula),
        ("MLP", mlp, f"MLP #{press_number} · {hidden} hidden units · {mlp.count_params():,} params · {canvas}",
         total_params(count_mlp_layers(spec.input_side**2 * spec.channels, [hidden], spec.classes))),
    ]
    runs = []
    for kind, model, label, formula_parameters in models:
        run = train_live(
            model,
            digits.x_train,
            digits.y_train,
            validation_data=(digits.x_validation, digits.y_validation),
            epochs=epochs,
            batch_size=batch_size,
            label=label,
            page_key=page_key,
            settings={"kind": kind, "press": press, "canvas": spec.input_side, "epochs": epochs},
            metrics=TRAINING_METRICS,
            area=area,
        )
        run.results = measure_after_training(kind, model, spec, digits, press, formula_parameters)
        runs.append(run)
    return runs


def next_press_number(runs: list) -> int:
    """One more than the highest press among the page's runs, so labels stay unique as old runs are dropped."""
    return 1 + max((int(run.settings.get("press", 0)) for run in runs), default=0)


def latest_pair(runs: list) -> tuple[Any, Any] | None:
    """The ConvNet and MLP runs of the newest press in which both finished and were measured, or None."""
    measured = [run for run in runs if run.results.get("press")]
    for mlp_run in reversed(measured):
        if mlp_run.results["kind"] != "MLP":
            continue
        partner = [run for run in measured if run.results["kind"] == "ConvNet"
                   and run.results["press"] == mlp_run.results["press"]]
        if partner:
            return partner[-1], mlp_run
    return None


def translation_frame(runs: list, max_shift: int) -> pd.DataFrame:
    """Accuracy against shift (0..max_shift) for every measured run, labelled by the run's label."""
    frames = []
    for run in runs:
        if "translation" not in run.results:
            continue
        frame = run.results["translation"]
        frame = frame[frame["shift"] <= max_shift][["shift", "accuracy"]].copy()
        frame["model"] = run.display_label
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["shift", "accuracy", "model"])
    return pd.concat(frames, ignore_index=True)


def translation_verdict(convnet_results: dict, mlp_results: dict, max_shift: int) -> str:
    """What the translation test measured for one press, in words and numbers, whoever won."""
    conv = convnet_results["translation"].set_index("shift")["accuracy"]
    mlp = mlp_results["translation"].set_index("shift")["accuracy"]
    conv_centred, mlp_centred = float(conv.loc[0]), float(mlp.loc[0])
    if mlp_centred > conv_centred:
        centred = (
            f"**On centred digits the MLP wins: {mlp_centred:.3f} against {conv_centred:.3f}** for the ConvNet. "
            "With as many parameters, it learned each pixel's own weight for digits that always sit in the same place."
        )
    elif conv_centred > mlp_centred:
        centred = f"**On centred digits the ConvNet wins: {conv_centred:.3f} against {mlp_centred:.3f}** for the MLP."
    else:
        centred = f"**On centred digits both score {conv_centred:.3f}.**"
    if max_shift < 1:
        return centred + " Move *Largest shift* to test moved digits."
    moved = range(1, max_shift + 1)
    conv_moved = float(np.mean([conv.loc[s] for s in moved]))
    mlp_moved = float(np.mean([mlp.loc[s] for s in moved]))
    at_most = (
        f"Moved by 1 to {max_shift} pixel{'s' if max_shift > 1 else ''} (each shift averaged over its eight directions), "
        f"the ConvNet scores **{conv_moved:.3f}** on average and the MLP **{mlp_moved:.3f}**; at {max_shift} "
        f"pixel{'s' if max_shift > 1 else ''}, {float(conv.loc[max_shift]):.3f} against {float(mlp.loc[max_shift]):.3f} "
        "(chance is 0.100)."
    )
    if conv_moved > mlp_moved + 0.02:
        judgement = (
            "**The ConvNet copes with moved digits far better**: its filters are shared by every position, so a "
            "stroke is detected wherever it sits, while each MLP weight belongs to one pixel it saw ink on in training."
        )
    elif mlp_moved > conv_moved + 0.02:
        judgement = (
            "**This time the ConvNet did not cope better than the MLP.** Look at the stack: a flatten head gives "
            "every position its own weights again, and pooling or strides that the shift is not a multiple of "
            "change which pixels are grouped together."
        )
    else:
        judgement = "**Neither model copes clearly better with moved digits** (less than 0.02 apart)."
    return f"{centred} {at_most} {judgement}"


def trunk_up_to(model, layer_number: int) -> "keras.Model":
    """A built ConvNet's trunk up to conv layer `layer_number` (1-based) and its pooling, sharing the weights."""
    import keras

    names = {layer.name for layer in model.layers}
    last = f"pool_{layer_number}" if f"pool_{layer_number}" in names else f"conv_{layer_number}"
    if last not in names:
        raise ValueError(f"Model {model.name!r} has no conv layer {layer_number}.")
    return keras.Model(model.input, model.get_layer(last).output, name=f"{model.name}_up_to_{layer_number}")
