"""The one parameter counter of the playground: closed-form counts for every layer the course uses.

Each page shows these formulas beside Keras's own `count_params()` so that a participant sees the
arithmetic, not just a total. Nothing here imports TensorFlow: the counts are plain integers, so the
parameter-sharing page can count a 10-megapixel camera's MLP without ever allocating it.
"""

from __future__ import annotations

from dataclasses import dataclass

BYTES_PER_FLOAT32 = 4


@dataclass(frozen=True)
class LayerCount:
    """One layer's parameters, split the way the course explains them."""

    name: str
    weights: int
    biases: int
    formula: str

    @property
    def total(self) -> int:
        return self.weights + self.biases


def count_dense_params(input_size: int, units: int, use_bias: bool = True) -> LayerCount:
    """A fully connected layer: every input meets every unit once."""
    weights = input_size * units
    biases = units if use_bias else 0
    return LayerCount("Dense", weights, biases, f"{input_size:,} × {units:,} + {biases:,}")


def count_conv2d_params(
    input_channels: int, filters: int, kernel_size: int | tuple[int, int], use_bias: bool = True
) -> LayerCount:
    """A 2-D convolution: one small kernel per filter, shared by every position of the image.

    The image's height and width do not appear, which is the whole point of weight sharing.
    """
    kernel_height, kernel_width = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    weights = kernel_height * kernel_width * input_channels * filters
    biases = filters if use_bias else 0
    return LayerCount(
        "Conv2D",
        weights,
        biases,
        f"{kernel_height}×{kernel_width} × {input_channels:,} × {filters:,} + {biases:,}",
    )


def count_simple_rnn_params(input_size: int, units: int, use_bias: bool = True) -> LayerCount:
    """The notes' s_t = f(U x_t + W s_{t-1}): U is input×units, W is units×units, shared over time."""
    weights = input_size * units + units * units
    biases = units if use_bias else 0
    return LayerCount(
        "SimpleRNN", weights, biases, f"{input_size:,}×{units:,} (U) + {units:,}×{units:,} (W) + {biases:,}"
    )


def count_lstm_params(input_size: int, units: int, use_bias: bool = True) -> LayerCount:
    """An LSTM holds four SimpleRNN-sized blocks: the input, forget and output gates and the candidate."""
    weights = 4 * (input_size * units + units * units)
    biases = 4 * units if use_bias else 0
    return LayerCount("LSTM", weights, biases, f"4 × ({input_size:,}×{units:,} + {units:,}×{units:,}) + 4×{units:,}")


def count_gru_params(input_size: int, units: int, use_bias: bool = True, reset_after: bool = True) -> LayerCount:
    """A GRU holds three blocks (update gate, reset gate, candidate).

    Keras's default `reset_after=True` (the cuDNN-compatible variant) keeps a second bias vector for
    the recurrent kernel, so its biases are 2 × 3 × units instead of 3 × units.
    """
    weights = 3 * (input_size * units + units * units)
    bias_vectors = 2 if reset_after else 1
    biases = bias_vectors * 3 * units if use_bias else 0
    return LayerCount(
        "GRU",
        weights,
        biases,
        f"3 × ({input_size:,}×{units:,} + {units:,}×{units:,}) + {bias_vectors}×3×{units:,}",
    )


def count_recurrent_params(cell: str, input_size: int, units: int) -> LayerCount:
    """Dispatch by cell name, so pages that offer a choice of cell count it in one place."""
    counters = {"SimpleRNN": count_simple_rnn_params, "LSTM": count_lstm_params, "GRU": count_gru_params}
    if cell not in counters:
        raise ValueError(f"Unknown recurrent cell {cell!r}; expected one of {sorted(counters)}.")
    return counters[cell](input_size, units)


def count_multi_head_attention_params(model_size: int, heads: int, key_dim: int) -> LayerCount:
    """Keras's MultiHeadAttention: per head, a query, a key and a value projection of the model_size
    input to key_dim numbers, then one output projection of all heads' outputs back to model_size.

    Each head's projections have their own biases (heads × key_dim each); the output projection has
    one bias vector of model_size, shared by the heads since their outputs are summed.
    """
    weights = 3 * model_size * heads * key_dim + heads * key_dim * model_size
    biases = 3 * heads * key_dim + model_size
    return LayerCount(
        "MultiHeadAttention",
        weights,
        biases,
        f"3 × {model_size:,}×{heads}×{key_dim} (Q, K, V) + {heads}×{key_dim}×{model_size:,} (output)"
        f" + 3×{heads}×{key_dim} + {model_size:,}",
    )


def count_layer_norm_params(size: int) -> LayerCount:
    """A layer normalization: a learned scale γ and shift β for each of the `size` features."""
    return LayerCount("LayerNormalization", size, size, f"{size:,} (scale γ) + {size:,} (shift β)")


def count_mlp_layers(input_size: int, hidden_sizes: list[int], outputs: int) -> list[LayerCount]:
    """The per-layer counts of a plain MLP: input → hidden layers → outputs."""
    sizes = [input_size, *hidden_sizes, outputs]
    layers = []
    for index, (fan_in, units) in enumerate(zip(sizes[:-1], sizes[1:])):
        count = count_dense_params(fan_in, units)
        name = (
            "input → hidden 1"
            if index == 0
            else (f"hidden {index} → output" if index == len(sizes) - 2 else f"hidden {index} → hidden {index + 1}")
        )
        if len(sizes) == 2:
            name = "input → output"
        layers.append(LayerCount(name, count.weights, count.biases, count.formula))
    return layers


def total_params(layers: list[LayerCount]) -> int:
    return sum(layer.total for layer in layers)


def float32_bytes(parameter_count: int) -> int:
    """Memory for the weights alone; training with Adam needs about three times as much again."""
    return parameter_count * BYTES_PER_FLOAT32


def format_bytes(size: int) -> str:
    units = ["B", "KB", "MB", "GB", "TB"]
    value = float(size)
    for unit in units:
        if value < 1000 or unit == units[-1]:
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{size} B"
