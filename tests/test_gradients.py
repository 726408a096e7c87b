"""Unit tests for lib/models/gradients.py: the backpropagated norms against cases computed by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # Lets the file run even before pyproject.toml sets pythonpath.
    sys.path.insert(0, str(REPO_ROOT))

from lib.models import gradients  # noqa: E402

# --------------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------------


def test_activation_derivatives_match_the_textbook_values():
    frame = gradients.activation_derivatives(np.linspace(-6, 6, 1201))
    assert set(frame["activation"]) == {"tanh", "sigmoid", "relu"}
    assert list(frame.columns) == ["x", "activation", "value", "derivative"]
    at_zero = frame[np.isclose(frame["x"], 0.0)].set_index("activation")["derivative"]
    assert at_zero["tanh"] == pytest.approx(1.0)
    assert at_zero["sigmoid"] == pytest.approx(0.25)
    sigmoid = frame[frame["activation"] == "sigmoid"]
    assert sigmoid["derivative"].max() == pytest.approx(0.25)
    tanh = frame[frame["activation"] == "tanh"]
    assert tanh["derivative"].max() == pytest.approx(1.0)
    relu = frame[frame["activation"] == "relu"]
    assert set(relu.loc[relu["x"] > 0, "derivative"]) == {1.0}
    assert set(relu.loc[relu["x"] < 0, "derivative"]) == {0.0}
    # The derivative agrees with a finite difference of the value.
    for _activation, rows in frame.groupby("activation"):
        numeric = np.gradient(rows["value"].to_numpy(), rows["x"].to_numpy())
        smooth = np.abs(rows["x"].to_numpy()) > 0.02
        np.testing.assert_allclose(numeric[smooth][1:-1], rows["derivative"].to_numpy()[smooth][1:-1], atol=2e-3)


# --------------------------------------------------------------------------------------------------
# The MLP case
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_mlp_norms_have_one_positive_value_per_layer(activation):
    frame = gradients.mlp_layer_gradient_norms(12, activation, init_scale=1.0)
    for quantity in ("weights", "pre-activation"):
        rows = frame[frame["quantity"] == quantity]
        assert rows["layer"].tolist() == list(range(1, 13))
        assert (rows["gradient_norm"] > 0).all()
        assert np.isfinite(rows["gradient_norm"]).all()


def test_sigmoid_mlp_gradient_vanishes_towards_the_input():
    frame = gradients.mlp_layer_gradient_norms(20, "sigmoid", init_scale=1.0)
    weights = frame[frame["quantity"] == "weights"].set_index("layer")["gradient_norm"]
    # Each sigmoid layer multiplies by at most 0.25: twenty of them lose many orders of magnitude.
    assert weights[1] < weights[20] * 1e-6


def test_mlp_is_reproducible_with_its_seed():
    first = gradients.mlp_layer_gradient_norms(5, "tanh", 1.0, seed=3)
    again = gradients.mlp_layer_gradient_norms(5, "tanh", 1.0, seed=3)
    np.testing.assert_allclose(first["gradient_norm"], again["gradient_norm"], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# BPTT: the linear RNN computed by hand
# --------------------------------------------------------------------------------------------------


def test_linear_rnn_half_identity_halves_the_gradient_at_each_step_back():
    norms = gradients.linear_rnn_gradient_norms(0.5 * np.eye(4), length=10)
    assert norms[-1] == pytest.approx(1.0)  # k = T: the identity.
    np.testing.assert_allclose(norms[:-1] / norms[1:], 0.5)
    np.testing.assert_allclose(norms, 0.5 ** np.arange(9, -1, -1))


def test_linear_rnn_matches_the_matrix_power_with_an_upstream_vector():
    generator = np.random.default_rng(1)
    W = generator.normal(scale=0.4, size=(5, 5))
    upstream = generator.normal(size=5)
    norms = gradients.linear_rnn_gradient_norms(W, length=7, upstream=upstream)
    for k in range(7):
        expected = np.linalg.matrix_power(W, 6 - k).T @ upstream
        assert norms[k] == pytest.approx(np.linalg.norm(expected))


def _linear_keras_rnn(W: np.ndarray):
    """A Keras SimpleRNN with no activation and no bias, input weights I, recurrent weights W.

    Keras multiplies row vectors on the right (h_t = x_t K + h_{t-1} R), so R = Wᵀ gives the notes'
    s_t = W s_{t-1} + x_t.
    """
    import keras

    size = W.shape[0]
    inputs = keras.Input(shape=(None, size))
    layer = keras.layers.SimpleRNN(size, activation=None, use_bias=False, name="linear_rnn")
    model = keras.Model(inputs, layer(inputs))
    layer.cell.kernel.assign(np.eye(size, dtype=np.float32))
    layer.cell.recurrent_kernel.assign(W.T.astype(np.float32))
    return model


@pytest.mark.parametrize("scale_or_random", ["half", "random"])
def test_backpropagation_through_keras_matches_the_hand_computed_power(scale_or_random):
    generator = np.random.default_rng(2)
    W = 0.5 * np.eye(4) if scale_or_random == "half" else generator.normal(scale=0.5, size=(4, 4))
    upstream = generator.normal(size=4).astype(np.float32)
    model = _linear_keras_rnn(W)
    inputs = generator.normal(size=(3, 12, 4)).astype(np.float32)

    def loss_per_sequence(outputs):
        import tensorflow as tf

        return tf.linalg.matvec(outputs, upstream)  # Loss = upstream · s_T, so dLoss/ds_T = upstream.

    measured, _ = gradients.sequence_input_gradient_norms(model, inputs, loss_per_sequence)
    expected = gradients.linear_rnn_gradient_norms(W, 12, upstream=upstream)
    np.testing.assert_allclose(measured, expected, rtol=1e-4, atol=1e-7)
    if scale_or_random == "half":
        np.testing.assert_allclose(measured[:-1] / measured[1:], 0.5, rtol=1e-4)


# --------------------------------------------------------------------------------------------------
# BPTT in real recurrent cells, and clipping
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_norms_have_one_row_per_step(cell):
    result = gradients.recurrent_step_gradient_norms(cell, 25, units=16)
    frame = result.frame
    assert frame["step"].tolist() == list(range(25))
    assert frame["steps_back"].tolist() == list(range(24, -1, -1))
    assert (frame["gradient_norm"] >= 0).all() and frame["gradient_norm"].iloc[-1] > 0
    assert result.clip_norm is None and result.clipped_gradient_norm == result.total_gradient_norm


def test_simple_rnn_vanishes_below_one_and_explodes_above():
    vanishing = gradients.recurrent_step_gradient_norms("SimpleRNN", 40, recurrent_scale=0.5).frame
    exploding = gradients.recurrent_step_gradient_norms("SimpleRNN", 40, recurrent_scale=2.0).frame
    assert vanishing["gradient_norm"].iloc[0] < 1e-6 * vanishing["gradient_norm"].iloc[-1]
    assert exploding["gradient_norm"].iloc[0] > 10 * exploding["gradient_norm"].iloc[-1]


def test_clipping_caps_the_global_norm_and_scales_every_step_alike():
    result = gradients.recurrent_step_gradient_norms("SimpleRNN", 60, recurrent_scale=1.6, clip_norm=1.0)
    assert result.total_gradient_norm > 1.0
    assert result.clipped_gradient_norm == pytest.approx(1.0)
    ratio = result.frame["clipped_gradient_norm"] / result.frame["gradient_norm"]
    np.testing.assert_allclose(ratio.dropna(), result.clipping_factor, rtol=1e-6)
    unclipped = gradients.recurrent_step_gradient_norms("SimpleRNN", 60, recurrent_scale=1.6, clip_norm=1e9)
    assert unclipped.clipped_gradient_norm == pytest.approx(unclipped.total_gradient_norm)


def test_truncation_keeps_exactly_the_k_most_recent_terms():
    for k in (0, 1, 5, 20):
        frame = gradients.truncated_bptt_terms(20, k)
        assert len(frame) == 20
        assert int(frame["kept"].sum()) == k
        assert frame.loc[frame["kept"], "steps_back"].tolist() == sorted(range(k), reverse=True)
    assert int(gradients.truncated_bptt_terms(10, 50)["kept"].sum()) == 10


# --------------------------------------------------------------------------------------------------
# Inside the LSTM
# --------------------------------------------------------------------------------------------------


def test_lstm_gate_traces_reproduce_the_keras_lstm():
    import keras

    from lib.models.long_memory import build_long_memory_model, make_long_memory_data

    model = build_long_memory_model("LSTM", units=8, seed=4)
    # Move the weights off their initial values so that every block of the kernels matters.
    generator = np.random.default_rng(4)
    for variable in model.get_layer("lstm").trainable_variables:
        variable.assign(generator.normal(scale=0.5, size=variable.shape).astype(np.float32))
    x, _ = make_long_memory_data(9, 1, seed=5)
    traces = gradients.lstm_gate_traces(model, x[0])
    assert set(traces["quantity"]) == {"input gate", "forget gate", "output gate", "cell state", "hidden state"}
    assert len(traces) == 5 * 10 * 8
    gates = traces[traces["quantity"].str.endswith("gate")]
    assert gates["value"].between(0, 1).all()
    hidden = keras.Model(model.input, model.get_layer("lstm").output)(x).numpy()[0]
    last = traces[(traces["quantity"] == "hidden state") & (traces["step"] == 9)].sort_values("unit")["value"]
    np.testing.assert_allclose(last.to_numpy(), hidden, atol=1e-5)
    assert traces.loc[traces["step"] == 0, "symbol"].iloc[0] == int(np.argmax(x[0, 0]))
