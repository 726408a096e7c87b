"""The ConvNets page's library: a configurable ConvNet, its parameters, its builders and what its layers learned.

The notes say that a ConvNet shares its parameters across segments of the input, captures local
context, grows its receptive field as layers are stacked, and stays local; the reason to share is
the image's intrinsic structure (a digit is the same digit wherever it sits). Each claim gets a
measurement:

- Parameters, here. `conv_layer_table` counts every layer with lib.engine.params (the one counter)
  and marks which counts depend on the image's size; `parameters_by_input_side` shows that the conv
  layers' counts stay flat while the MLP's first layer grows with the pixels.
- Receptive field, in `lib.models.receptive_field`: the closed-form recursion, checked on the real
  Keras model with a gradient tape.
- Translation, in `lib.models.shifted_digits`: digits placed on a larger canvas so they can move;
  both models train on centred digits only, and the test measures how their accuracy falls as the
  test digits move.

This module holds what those share: the stack's description (`ConvStackSpec`), its sizes and
validation, the Keras builders (the ConvNet, its trunk, the MLP with as many parameters) and the
first layer's filters and feature maps.

Design choice for the head: the default ConvNet ends with global average pooling and one Dense
layer, so that no parameter of the whole model depends on the image's size (and the model accepts
a digit wherever it sits). The "flatten" head is offered to show the opposite: its Dense layer sees
every position of the last feature map, so its count grows with the image, as an MLP's does.

Keras is imported inside functions only, so importing this module does not load TensorFlow. Seeds
go to the initializers and to NumPy generators, never to `keras.utils.set_random_seed`, which
would reseed every session of the process at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from lib.engine.graph_lock import builds_graph
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

    def with_input_side(self, input_side: int) -> ConvStackSpec:
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


def conv_output_side(side: int, layer: ConvLayerSpec) -> int:
    """Keras's (and TensorFlow's) output side: ceil(n / s) for "same", floor((n − k_eff) / s) + 1 for "valid"."""
    if layer.padding == "same":
        return math.ceil(side / layer.stride)
    return (side - layer.effective_kernel) // layer.stride + 1 if side >= layer.effective_kernel else 0


def same_padding_before(side: int, kernel: int, stride: int) -> int:
    """The zeros TensorFlow adds before the first pixel for "same": half the total, rounded down."""
    output_side = math.ceil(side / stride)
    total = max((output_side - 1) * stride + kernel - side, 0)
    return total // 2


def pool_output_side(side: int) -> int:
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
        output_side = conv_output_side(side, layer)
        if output_side < 1:
            return (
                f"Conv layer {index} receives a {side}×{side} map but its {layer.kernel_size}×{layer.kernel_size} "
                f"kernel with dilation {layer.dilation} spans {layer.effective_kernel} pixels with 'valid' padding: "
                "use 'same' padding, a smaller kernel, fewer layers or a larger image."
            )
        side = output_side
        if layer.pool:
            if pool_output_side(side) < 1:
                return (
                    f"The 2×2 pooling after conv layer {index} receives a {side}×{side} map, too small to pool: "
                    "remove a pooling, a stride or a layer, or use a larger image."
                )
            side = pool_output_side(side)
    return None


def require_valid(spec: ConvStackSpec) -> None:
    """Raise ValueError with `validate_stack`'s sentence when the stack cannot be built."""
    problem = validate_stack(spec)
    if problem:
        raise ValueError(problem)


def spec_output_sizes(spec: ConvStackSpec) -> list[tuple[str, int, int]]:
    """(layer name, output side, output channels) for every trunk layer, in order; conv then pooling."""
    require_valid(spec)
    sizes = []
    side, channels = spec.input_side, spec.channels
    for index, layer in enumerate(spec.layers, start=1):
        side, channels = conv_output_side(side, layer), layer.filters
        sizes.append((f"conv_{index}", side, channels))
        if layer.pool:
            side = pool_output_side(side)
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
            _row(
                f"conv_{index}",
                kind,
                f"{side}×{side}×{channels}",
                count_conv2d_params(fan_in, layer.filters, layer.kernel_size),
                False,
            )
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
            {
                "layer": layer.name,
                "weights": layer.weights,
                "biases": layer.biases,
                "parameters": layer.total,
                "formula": layer.formula,
                "depends_on_image_size": index == 0,
            }
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


@builds_graph
def build_convnet(spec: ConvStackSpec = DEFAULT_SPEC, seed: int = 0, name: str = "convnet") -> keras.Model:
    """The ConvNet of `spec`: conv trunk, then global average pooling (or flatten), then a softmax layer."""
    import keras

    require_valid(spec)
    inputs = keras.Input(shape=(spec.input_side, spec.input_side, spec.channels), name="image")
    features = _conv_trunk(inputs, spec, seed)
    if spec.head == "global_average":
        summary = keras.layers.GlobalAveragePooling2D(name="global_pool")(features)
    else:
        summary = keras.layers.Flatten(name="flatten")(features)
    outputs = keras.layers.Dense(
        spec.classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name="output",
    )(summary)
    return keras.Model(inputs, outputs, name=name)


@builds_graph
def build_feature_extractor(spec: ConvStackSpec = DEFAULT_SPEC, seed: int = 0) -> keras.Model:
    """The conv trunk alone, freshly initialised: input image → last feature map."""
    import keras

    require_valid(spec)
    inputs = keras.Input(shape=(spec.input_side, spec.input_side, spec.channels), name="image")
    return keras.Model(inputs, _conv_trunk(inputs, spec, seed), name="convnet_trunk")


def trunk_layers(model) -> list:
    """A built ConvNet's convolution and pooling layers, in order."""
    return [layer for layer in model.layers if layer.name.startswith(("conv_", "pool_"))]


@builds_graph
def trunk_of(model) -> keras.Model:
    """The trunk of a built ConvNet, sharing its weights: image → last conv or pooling output."""
    import keras

    layers = trunk_layers(model)
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
) -> keras.Model:
    """An MLP on the same image with about as many parameters as the ConvNet, so the comparison is fair."""
    from lib.models.builders import build_mlp

    hidden = matched_mlp_hidden_size(input_side * input_side * channels, target_parameters, classes)
    return build_mlp((input_side, input_side, channels), [hidden], classes, seed=seed, name="mlp")


# --- What the first layer learned ---------------------------------------------------------------


def first_layer_filters(model) -> np.ndarray:
    """The first conv layer's kernels as (k, k, filters), averaged over input channels (exact for grayscale)."""
    kernel = np.asarray(model.get_layer("conv_1").get_weights()[0])
    return kernel.mean(axis=2)


@builds_graph
def feature_maps(model, image: np.ndarray, layer_index: int = 0) -> np.ndarray:
    """The feature maps (side, side, filters) of conv layer `layer_index` (0-based, after its ReLU) for one image."""
    import keras

    conv_layers = [layer for layer in model.layers if layer.name.startswith("conv_")]
    if not 0 <= layer_index < len(conv_layers):
        raise ValueError(f"Layer index {layer_index} is outside 0..{len(conv_layers) - 1}.")
    probe = keras.Model(model.input, conv_layers[layer_index].output)
    batch = np.asarray(image, dtype=np.float32).reshape((1, *model.inputs[0].shape[1:]))
    return np.asarray(probe(batch, training=False))[0]


@builds_graph
def trunk_up_to(model, layer_number: int) -> keras.Model:
    """A built ConvNet's trunk up to conv layer `layer_number` (1-based) and its pooling, sharing the weights."""
    import keras

    names = {layer.name for layer in model.layers}
    last = f"pool_{layer_number}" if f"pool_{layer_number}" in names else f"conv_{layer_number}"
    if last not in names:
        raise ValueError(f"Model {model.name!r} has no conv layer {layer_number}.")
    return keras.Model(model.input, model.get_layer(last).output, name=f"{model.name}_up_to_{layer_number}")
