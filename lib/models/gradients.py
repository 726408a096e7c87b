"""Gradient measurements for the Vanishing-gradients page: every number is backpropagated through a real Keras model.

The notes explain why gradients vanish: backpropagation multiplies one factor per layer (or per time
step, in backpropagation through time), and when those factors are below 1 the product shrinks
geometrically. This module measures that product, so the page can draw it:

- `activation_derivatives`: tanh, sigmoid and ReLU with their derivatives, the per-layer factor;
- `mlp_layer_gradient_norms`: the gradient reaching each layer of a deep MLP, on a real batch;
- `recurrent_step_gradient_norms`: in a SimpleRNN, LSTM or GRU, how much the last step's loss depends
  on the input at each earlier step, and what gradient clipping does to it;
- `truncated_bptt_terms`: which terms of the notes' BPTT sum a truncation at k steps keeps;
- `linear_rnn_gradient_norms`: the closed form W^(T-k) of a linear RNN, the hand-checked case;
- `lstm_gate_traces`: a trained LSTM's gates and cell state, step by step, for one sequence.

Every function returns NumPy arrays or long pandas DataFrames ready for `lib.engine.charts`. TensorFlow and
Keras are imported inside the functions only, so that importing this module stays cheap. Randomness
comes from seeded initializers and NumPy generators, never from a process-wide seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lib.engine.graph_lock import builds_graph
from lib.models.long_memory import RECURRENT_CELL_NAMES, build_long_memory_model, make_long_memory_data

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

MLP_ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "relu")


# --------------------------------------------------------------------------------------------------
# Section 1: the MLP case
# --------------------------------------------------------------------------------------------------


def _norm(tensor) -> float:
    """The Frobenius norm in float64, so that squaring a tiny float32 gradient does not underflow to 0."""
    return float(np.linalg.norm(np.asarray(tensor, dtype=np.float64)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def activation_derivatives(points) -> pd.DataFrame:
    """tanh, sigmoid and ReLU and their derivatives at `points`, one row per (activation, x).

    The derivative is the factor that each layer multiplies into the gradient: tanh' is at most 1
    (at 0), sigmoid' at most 0.25, and ReLU' is exactly 1 wherever the unit is active. ReLU's
    derivative at 0 is taken as 0, as TensorFlow does.
    """
    x = np.asarray(points, dtype=np.float64).ravel()
    tanh = np.tanh(x)
    sigmoid = _sigmoid(x)
    relu = np.maximum(x, 0.0)
    rows = {
        "tanh": (tanh, 1.0 - tanh**2),
        "sigmoid": (sigmoid, sigmoid * (1.0 - sigmoid)),
        "relu": (relu, (x > 0).astype(np.float64)),
    }
    frames = [
        pd.DataFrame({"x": x, "activation": name, "value": value, "derivative": derivative})
        for name, (value, derivative) in rows.items()
    ]
    return pd.concat(frames, ignore_index=True)


@builds_graph
def build_deep_mlp(depth: int, activation: str, init_scale: float, width: int = 32, seed: int = 0) -> keras.Model:
    """`depth` hidden layers of `width` units, each a Dense (l = U·h) followed by its activation (h = f(l)).

    The weights are drawn from a normal law of standard deviation init_scale / sqrt(fan_in): 1 is
    LeCun's initialisation, about right for tanh; ReLU needs sqrt(2) (He's) to keep the signal's size,
    and sigmoid, whose slope is at most 0.25, loses the gradient at any sane scale. The Dense and the
    activation are separate layers so that the pre-activation l of each layer can be watched.
    """
    import keras

    if activation not in MLP_ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; use one of {', '.join(MLP_ACTIVATIONS)}.")
    inputs = keras.Input(shape=(width,), name="features")
    hidden = inputs
    for index in range(1, depth + 1):
        hidden = keras.layers.Dense(
            width,
            kernel_initializer=keras.initializers.RandomNormal(
                stddev=init_scale / np.sqrt(width), seed=seed * 1009 + index
            ),
            name=f"dense_{index}",
        )(hidden)
        hidden = keras.layers.Activation(activation, name=f"{activation}_{index}")(hidden)
    outputs = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.RandomNormal(stddev=1.0 / np.sqrt(width), seed=seed * 1009),
        name="output",
    )(hidden)
    return keras.Model(inputs, outputs, name=f"deep_mlp_{activation}_{depth}")


def mlp_layer_gradient_norms(
    depth: int,
    activation: str,
    init_scale: float = 1.0,
    width: int = 32,
    batch: int = 64,
    seed: int = 0,
) -> pd.DataFrame:
    """The norm of the loss's gradient at every layer of a deep MLP, by backpropagation on a real batch.

    The batch is `batch` standard normal inputs with standard normal regression targets, and the loss
    their mean squared error. Returns one row per (layer, quantity): layer 1 is next to the input and
    layer `depth` next to the output; quantity "weights" is the Frobenius norm of dLoss/dU for the
    layer's kernel, "pre-activation" the norm of dLoss/dl for its pre-activations over the batch.
    Reading from the output back to layer 1, a vanishing gradient is a straight downward line on a
    log scale: one factor (the activation's slope times the weights) per layer.
    """
    import tensorflow as tf

    model = build_deep_mlp(depth, activation, init_scale, width=width, seed=seed)
    generator = np.random.default_rng(seed)
    features = tf.constant(generator.standard_normal((batch, width)), dtype=tf.float32)
    targets = tf.constant(generator.standard_normal((batch, 1)), dtype=tf.float32)

    dense_layers = [model.get_layer(f"dense_{index}") for index in range(1, depth + 1)]
    activation_layers = [model.get_layer(f"{activation}_{index}") for index in range(1, depth + 1)]
    with tf.GradientTape() as tape:
        # The layers are called one by one, not through the model, so that each pre-activation is a
        # tensor the tape can differentiate with respect to.
        pre_activations = []
        hidden = features
        for dense, activate in zip(dense_layers, activation_layers):
            pre_activation = dense(hidden)
            tape.watch(pre_activation)
            pre_activations.append(pre_activation)
            hidden = activate(pre_activation)
        prediction = model.get_layer("output")(hidden)
        loss = tf.reduce_mean(tf.square(prediction - targets))
    kernels = [dense.kernel for dense in dense_layers]
    gradients = tape.gradient(loss, [*kernels, *pre_activations])
    weight_norms = [_norm(gradient) for gradient in gradients[:depth]]
    pre_activation_norms = [_norm(gradient) for gradient in gradients[depth:]]
    layers = np.arange(1, depth + 1)
    return pd.concat(
        [
            pd.DataFrame({"layer": layers, "quantity": "weights", "gradient_norm": weight_norms}),
            pd.DataFrame({"layer": layers, "quantity": "pre-activation", "gradient_norm": pre_activation_norms}),
        ],
        ignore_index=True,
    )


# --------------------------------------------------------------------------------------------------
# Section 2: backpropagation through time
# --------------------------------------------------------------------------------------------------


def linear_rnn_gradient_norms(W, length: int, upstream=None) -> np.ndarray:
    """The closed form for a linear RNN s_t = W s_{t-1} + U x_t: d s_T / d s_k = W^(T-k).

    Returns an array of `length` norms, for k = 0 … T with T = length - 1 (so the last entry, k = T,
    is the identity). Without `upstream`, each entry is the spectral norm of the Jacobian W^(T-k);
    with a vector `upstream` = dLoss/ds_T, it is the norm of dLoss/ds_k = (W^(T-k))ᵀ · upstream, the
    vector that backpropagation actually carries. With W = a·I every step back multiplies by |a|.
    """
    W = np.asarray(W, dtype=np.float64)
    norms = np.empty(length)
    jacobian = np.eye(W.shape[0])
    # Walk back from k = T, multiplying one more W at each step, as backpropagation does.
    for steps_back in range(length):
        k = length - 1 - steps_back
        if upstream is None:
            norms[k] = np.linalg.norm(jacobian, ord=2)
        else:
            norms[k] = np.linalg.norm(jacobian.T @ np.asarray(upstream, dtype=np.float64))
        jacobian = W @ jacobian
    return norms


def sequence_input_gradient_norms(
    model: keras.Model, inputs: np.ndarray, loss_per_sequence: Callable, parameters: bool = True
) -> tuple[np.ndarray, list]:
    """Per-step input gradient norms of any sequence model, and the parameter gradient of the mean loss.

    `loss_per_sequence(outputs)` returns one loss per sequence. The first result has one entry per
    step k: the norm of d(loss of a sequence)/d(x_k), averaged over the batch. The second holds the
    gradient of the batch's mean loss for each trainable weight, the quantity an optimizer steps on
    (empty with `parameters=False`, which then differentiates with respect to the inputs only).
    """
    import tensorflow as tf

    tensor = tf.constant(inputs, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        losses = loss_per_sequence(model(tensor, training=False))
        # Each sequence's loss depends only on its own inputs, so one gradient of the sum gives every
        # sequence's own input gradient at once.
        total = tf.reduce_sum(losses)
    weights = model.trainable_variables if parameters else []
    gradients = tape.gradient(total, [tensor, *weights])
    # Norms are taken in float64: squaring a float32 gradient of 1e-20 would underflow to 0.
    per_step = np.linalg.norm(gradients[0].numpy().astype(np.float64), axis=-1).mean(axis=0)
    batch = float(inputs.shape[0])
    parameter_gradients = [gradient / batch for gradient in gradients[1:]]
    return per_step, parameter_gradients


def _global_norm(gradients: list) -> float:
    return float(np.sqrt(sum(_norm(gradient) ** 2 for gradient in gradients)))


@dataclass(frozen=True)
class RecurrentGradients:
    """What `recurrent_step_gradient_norms` measured, ready to chart and to quote.

    `frame` has one row per step: step (0 … T), steps_back (T − step), gradient_norm, and
    clipped_gradient_norm (the same after the clipping factor; equal when no clipping applies).
    """

    cell: str
    length: int
    frame: pd.DataFrame
    total_gradient_norm: float
    clipped_gradient_norm: float
    clip_norm: float | None

    @property
    def clipping_factor(self) -> float:
        return self.clipped_gradient_norm / self.total_gradient_norm if self.total_gradient_norm > 0 else 1.0


def build_gradient_probe_model(cell: str, units: int = 32, recurrent_scale: float = 1.0, seed: int = 0) -> keras.Model:
    """The long-memory page's model at initialisation, with its recurrent kernel multiplied by `recurrent_scale`.

    The recurrent kernel starts orthogonal (all singular values 1), so after scaling every singular
    value equals `recurrent_scale`: in a SimpleRNN, each step back multiplies the gradient by
    about scale × tanh', so below 1 it vanishes and well above 1 it can explode. Using the same
    architecture as the long-memory experiment lets the page probe a model it has just trained too.
    """
    model = build_long_memory_model(cell, units=units, seed=seed)
    recurrent_layer = model.get_layer(cell.lower())
    kernel = recurrent_layer.cell.recurrent_kernel
    kernel.assign(kernel.numpy() * float(recurrent_scale))
    return model


def recurrent_step_gradient_norms(
    cell: str,
    length: int,
    units: int = 32,
    recurrent_scale: float = 1.0,
    seed: int = 0,
    trained_model: keras.Model | None = None,
    clip_norm: float | None = None,
    batch: int = 32,
) -> RecurrentGradients:
    """How strongly the last step's loss depends on each earlier step, in a real SimpleRNN, LSTM or GRU.

    The model reads a batch of `length`-step sequences of the long-memory task (`lib.models.long_memory`)
    and its loss is the cross-entropy of its answer at the last step. For each step k we
    backpropagate that loss to the input x_k and take the norm of dLoss/dx_k, averaged over the
    batch. This is the notes' BPTT product of Jacobians dS_T/dS_k times the input weights: it is
    measured on the inputs rather than on the hidden states because every cell has inputs, while
    the LSTM's state is two vectors. On a log scale, a vanishing gradient is a line falling with
    the number of steps back, an exploding one a line rising. A norm of exactly 0 means the
    gradient fell below the smallest float32 number (about 1e-45): it has vanished entirely, and a
    log-scale chart has to drop or floor those points.

    Without `trained_model`, a fresh model is built (see `build_gradient_probe_model`, which applies
    `recurrent_scale`); with one, its weights are used as they are and `recurrent_scale` and
    `units` are ignored (the model is not changed).

    Clipping: `clip_norm` clips the global norm of the gradient of the batch's mean loss with respect
    to all the model's weights, as Keras's `global_clipnorm` optimizer option does (Keras's
    `clipnorm` clips each weight's gradient separately). If the total norm g exceeds `clip_norm`, the
    whole gradient is multiplied by clip_norm / g. Every term of the BPTT sum is scaled by the same
    factor: clipping caps the size of the step an exploding gradient would take, but it neither
    restores the terms that vanished nor changes how the terms compare to each other.
    """
    if cell not in RECURRENT_CELL_NAMES:
        raise ValueError(f"Unknown cell {cell!r}; use one of {', '.join(RECURRENT_CELL_NAMES)}.")
    if length < 2:
        raise ValueError("A sequence needs at least 2 steps.")
    import keras

    if trained_model is not None:
        model = trained_model
    else:
        model = build_gradient_probe_model(cell, units, recurrent_scale, seed)
    symbols = int(model.input_shape[-1])
    inputs, labels = make_long_memory_data(length - 1, batch, seed=seed + 7, symbols=symbols)

    def cross_entropy(outputs):
        return keras.losses.sparse_categorical_crossentropy(labels, outputs)

    per_step, parameter_gradients = sequence_input_gradient_norms(model, inputs, cross_entropy)
    total = _global_norm(parameter_gradients)
    factor = min(1.0, clip_norm / total) if clip_norm is not None and total > 0 else 1.0
    steps = np.arange(length)
    frame = pd.DataFrame(
        {
            "cell": cell,
            "step": steps,
            "steps_back": length - 1 - steps,
            "gradient_norm": per_step,
            "clipped_gradient_norm": per_step * factor,
        }
    )
    return RecurrentGradients(cell, length, frame, total, total * factor, clip_norm)


def truncated_bptt_terms(length: int, k: int) -> pd.DataFrame:
    """The terms of the notes' BPTT sum for the last step's error, and which a truncation at k keeps.

    With T = length − 1, dE_T/dW = Σ_{j=0..T} (dE_T/ds_T) (Π_{i=j+1..T} ds_i/ds_{i−1}) ds_j/dW: one
    term per step j, whose product holds T − j Jacobians. Truncated BPTT at k steps backpropagates
    through the k most recent steps only, so it keeps the k terms j = T − k + 1 … T (all of them
    if k ≥ length) and drops the older ones, exactly those whose long products would carry memory.
    """
    if length < 1 or k < 0:
        raise ValueError("length must be at least 1 and k at least 0.")
    steps = np.arange(length)
    steps_back = length - 1 - steps
    return pd.DataFrame(
        {
            "step": steps,
            "steps_back": steps_back,
            "jacobians_in_product": steps_back,
            "kept": steps_back < k,
        }
    )


# --------------------------------------------------------------------------------------------------
# Section 4: inside the LSTM
# --------------------------------------------------------------------------------------------------


def lstm_gate_traces(model: keras.Model, sequence: np.ndarray) -> pd.DataFrame:
    """The input, forget and output gates, cell state and hidden state of a Keras LSTM, step by step.

    `model` holds one LSTM layer (for instance `lib.models.long_memory.build_long_memory_model("LSTM")`
    after training); `sequence` is one input sequence of shape (steps, features). The LSTM is re-run
    in NumPy from the layer's weights, because Keras returns only the hidden states, not the gates.
    Keras lays its kernels out as four blocks [i, f, c, o] and computes, with σ the recurrent
    activation (sigmoid) and tanh the activation:
        i = σ(x W_i + h U_i + b_i), f = σ(…_f), o = σ(…_o), c̃ = tanh(…_c),
        c_t = f ⊙ c_{t−1} + i ⊙ c̃,  h_t = o ⊙ tanh(c_t).
    Returns a long DataFrame: step, symbol (the argmax of the input), unit, quantity
    ("input gate", "forget gate", "output gate", "cell state", "hidden state") and value.
    """
    import keras

    layer = next((layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)), None)
    if layer is None:
        raise ValueError("The model has no LSTM layer.")
    cell = layer.cell
    kernel = cell.kernel.numpy().astype(np.float64)
    recurrent_kernel = cell.recurrent_kernel.numpy().astype(np.float64)
    bias = cell.bias.numpy().astype(np.float64) if cell.use_bias else np.zeros(kernel.shape[1])
    recurrent_activation = _numpy_activation(cell.recurrent_activation)
    activation = _numpy_activation(cell.activation)

    sequence = np.asarray(sequence, dtype=np.float64)
    units = cell.units
    hidden = np.zeros(units)
    memory = np.zeros(units)
    names = ("input gate", "forget gate", "output gate", "cell state", "hidden state")
    traces: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for x in sequence:
        z = x @ kernel + hidden @ recurrent_kernel + bias
        input_gate = recurrent_activation(z[:units])
        forget_gate = recurrent_activation(z[units : 2 * units])
        candidate = activation(z[2 * units : 3 * units])
        output_gate = recurrent_activation(z[3 * units :])
        memory = forget_gate * memory + input_gate * candidate
        hidden = output_gate * activation(memory)
        for name, value in zip(traces, (input_gate, forget_gate, output_gate, memory, hidden)):
            traces[name].append(value)

    steps = len(sequence)
    symbols = np.argmax(sequence, axis=-1) if sequence.ndim == 2 and sequence.shape[1] > 1 else np.zeros(steps, int)
    frames = [
        pd.DataFrame(
            {
                "step": np.repeat(np.arange(steps), units),
                "symbol": np.repeat(symbols, units),
                "unit": np.tile(np.arange(units), steps),
                "quantity": name,
                "value": np.concatenate(values),
            }
        )
        for name, values in traces.items()
    ]
    return pd.concat(frames, ignore_index=True)


def _numpy_activation(function) -> Callable[[np.ndarray], np.ndarray]:
    """The NumPy twin of a Keras activation, found by its name (sigmoid, hard_sigmoid, tanh, relu, linear)."""
    name = getattr(function, "__name__", str(function))
    twins = {
        "sigmoid": _sigmoid,
        "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
        "tanh": np.tanh,
        "relu": lambda x: np.maximum(x, 0.0),
        "linear": lambda x: x,
    }
    if name not in twins:
        raise ValueError(f"The LSTM uses activation {name!r}, which lstm_gate_traces does not re-run.")
    return twins[name]
