"""The one parameter counter against Keras's own count_params(), on many random layers."""

from __future__ import annotations

import keras  # noqa: E402  (the counter is checked against the real thing)
import numpy as np
import pytest

from lib.engine.params import (
    count_conv2d_params,
    count_dense_params,
    count_gru_params,
    count_lstm_params,
    count_mlp_layers,
    count_recurrent_params,
    count_simple_rnn_params,
    float32_bytes,
    format_bytes,
    total_params,
)

RANDOM = np.random.default_rng(7)


def built_layer_count(layer, input_shape) -> int:
    layer.build((None, *input_shape))
    return layer.count_params()


@pytest.mark.parametrize("trial", range(12))
def test_dense_matches_keras(trial):
    fan_in, units = (int(v) for v in RANDOM.integers(1, 300, size=2))
    use_bias = bool(trial % 3)
    expected = built_layer_count(keras.layers.Dense(units, use_bias=use_bias), (fan_in,))
    assert count_dense_params(fan_in, units, use_bias).total == expected


@pytest.mark.parametrize("trial", range(12))
def test_conv2d_matches_keras(trial):
    channels, filters = (int(v) for v in RANDOM.integers(1, 64, size=2))
    kernel = (int(RANDOM.integers(1, 8)), int(RANDOM.integers(1, 8)))
    use_bias = bool(trial % 4)
    layer = keras.layers.Conv2D(filters, kernel, use_bias=use_bias)
    expected = built_layer_count(layer, (32, 32, channels))
    assert count_conv2d_params(channels, filters, kernel, use_bias).total == expected


@pytest.mark.parametrize("trial", range(8))
@pytest.mark.parametrize(
    "layer_class, counter",
    [
        ("SimpleRNN", count_simple_rnn_params),
        ("LSTM", count_lstm_params),
    ],
)
def test_recurrent_matches_keras(trial, layer_class, counter):
    features, units = (int(v) for v in RANDOM.integers(1, 100, size=2))
    use_bias = bool(trial % 3)
    layer = getattr(keras.layers, layer_class)(units, use_bias=use_bias)
    expected = built_layer_count(layer, (10, features))
    assert counter(features, units, use_bias).total == expected


@pytest.mark.parametrize("trial", range(8))
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_keras_in_both_bias_layouts(trial, reset_after):
    features, units = (int(v) for v in RANDOM.integers(1, 100, size=2))
    layer = keras.layers.GRU(units, reset_after=reset_after)
    expected = built_layer_count(layer, (10, features))
    assert count_gru_params(features, units, reset_after=reset_after).total == expected


def test_gru_reset_after_adds_a_second_bias_vector():
    assert count_gru_params(4, 8, reset_after=True).biases == 2 * count_gru_params(4, 8, reset_after=False).biases


def test_recurrent_dispatch_by_name_and_unknown_cell():
    assert count_recurrent_params("LSTM", 3, 5) == count_lstm_params(3, 5)
    with pytest.raises(ValueError, match="Unknown recurrent cell"):
        count_recurrent_params("Transformer", 3, 5)


def test_the_notes_example_is_one_million_and_one_hundred():
    layers = count_mlp_layers(100 * 100, [100], 10)
    assert layers[0].weights == 1_000_000
    assert layers[0].biases == 100
    assert layers[0].total == 1_000_100
    assert total_params(layers) == 1_000_100 + 100 * 10 + 10


@pytest.mark.parametrize("hidden", [[], [7], [50, 20], [64, 32, 16, 8]])
def test_mlp_total_matches_a_built_keras_mlp(hidden):
    from lib.models.builders import build_mlp

    model = build_mlp((9, 11, 2), hidden, 6)
    layers = count_mlp_layers(9 * 11 * 2, hidden, 6)
    assert total_params(layers) == model.count_params()
    assert len(layers) == len(hidden) + 1


def test_convnet_count_does_not_grow_with_the_image():
    from lib.models.builders import build_small_convnet
    from lib.page_glue.sharing import convnet_layer_counts

    small = build_small_convnet((28, 28, 1), 10).count_params()
    large = build_small_convnet((1000, 700, 1), 10).count_params()
    assert small == large == total_params(convnet_layer_counts(1, 10))


def test_memory_and_formatting():
    assert float32_bytes(1_000_000) == 4_000_000
    assert format_bytes(4_000_000) == "4.0 MB"
    assert format_bytes(999) == "999 B"
    assert format_bytes(4_015_000_000) == "4.0 GB"
