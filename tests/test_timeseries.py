"""Unit tests for lib/models/timeseries.py and lib/data/series.py: windows, splits, baselines, Keras builders
and the upload validator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # Lets the file run even before pyproject.toml sets pythonpath.
    sys.path.insert(0, str(REPO_ROOT))

from lib.data import series  # noqa: E402
from lib.models import timeseries as ts  # noqa: E402

# --------------------------------------------------------------------------------------------------
# Windows and splits
# --------------------------------------------------------------------------------------------------


def test_make_windows_shapes_and_values_on_arange():
    x, y = ts.make_windows(np.arange(20), history=3, horizon=2, start=0, stop=20)
    assert x.shape == (16, 3, 1) and y.shape == (16,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x[0, :, 0].tolist() == [0, 1, 2] and y[0] == 4
    assert x[-1, :, 0].tolist() == [15, 16, 17] and y[-1] == 19
    # Each target is `horizon` steps after the last input of its window.
    np.testing.assert_array_equal(y, x[:, -1, 0] + 2)


def test_make_windows_respects_start_and_stop():
    x, y = ts.make_windows(np.arange(100), history=3, horizon=2, start=5, stop=12)
    assert x[:, :, 0].tolist() == [[5, 6, 7], [6, 7, 8], [7, 8, 9]]
    assert y.tolist() == [9, 10, 11]
    np.testing.assert_array_equal(ts.window_target_indices(3, 2, 5, 12), y)


def test_make_windows_too_short_part_gives_empty_arrays():
    x, y = ts.make_windows(np.arange(100), history=10, horizon=5, start=0, stop=14)
    assert x.shape == (0, 10, 1) and y.shape == (0,)


def test_make_windows_returns_writable_copies():
    values = np.arange(10, dtype=np.float32)
    x, y = ts.make_windows(values, history=2, horizon=1, start=0, stop=10)
    x[0, 0, 0] = 99.0
    y[0] = 99.0
    assert values[0] == 0 and values[2] == 2


def test_split_by_time_is_ordered_contiguous_and_complete():
    train, validation, test = ts.split_by_time(1000, 0.7, 0.15)
    assert (train.start, train.stop) == (0, 700)
    assert (validation.start, validation.stop) == (700, 850)
    assert (test.start, test.stop) == (850, 1000)
    with pytest.raises(ValueError):
        ts.split_by_time(1000, 0.9, 0.2)


def test_no_window_straddles_parts_so_no_test_value_is_seen_in_training():
    # With values equal to their own index, every window holds the indices it reads.
    n, history, horizon = 1000, 48, 24
    values = np.arange(n, dtype=np.float64)
    parts = ts.split_by_time(n)
    indices_used = []
    for part in parts:
        x, y = ts.make_windows(values, history, horizon, part.start, part.stop)
        used = set(x.astype(np.int64).ravel().tolist()) | set(y.astype(np.int64).tolist())
        assert min(used) >= part.start and max(used) < part.stop
        indices_used.append(used)
    train_used, validation_used, test_used = indices_used
    assert not train_used & test_used
    assert not train_used & validation_used
    assert not validation_used & test_used


def test_prepare_forecasting_data_windows_come_from_their_own_part():
    values = np.arange(2000, dtype=np.float64)
    data = ts.prepare_forecasting_data(values, history=24, horizon=6)
    train_targets = data.normalizer.inverse_transform(data.y_train)
    test_targets = data.normalizer.inverse_transform(data.y_test)
    test_inputs = data.normalizer.inverse_transform(data.x_test)
    assert train_targets.max() < data.train_slice.stop
    assert test_inputs.min() >= data.test_slice.start - 1e-3
    np.testing.assert_allclose(test_targets, data.test_target_indices, atol=1e-3)


# --------------------------------------------------------------------------------------------------
# Normaliser
# --------------------------------------------------------------------------------------------------


def test_normalizer_uses_training_statistics_only():
    # A series whose level jumps after the training part: whole-series statistics would differ.
    values = np.concatenate([np.full(700, 10.0), np.full(300, 50.0)])
    values[:700] += np.tile([-1.0, 1.0], 350)
    data = ts.prepare_forecasting_data(values, history=4, horizon=1, train_fraction=0.7, validation_fraction=0.15)
    assert data.normalizer.mean == pytest.approx(10.0)
    assert data.normalizer.std == pytest.approx(1.0)
    assert np.allclose(data.y_test, 40.0)  # (50 - 10) / 1, not centred because the mean is the training one.


def test_normalizer_round_trip_and_constant_series():
    normalizer = ts.Normalizer.fit([1.0, 2.0, 3.0, 4.0])
    values = np.array([-3.0, 0.0, 2.5, 10.0])
    np.testing.assert_allclose(normalizer.inverse_transform(normalizer.transform(values)), values, atol=1e-5)
    constant = ts.Normalizer.fit([5.0, 5.0, 5.0])
    assert constant.std == 1.0 and np.isfinite(constant.transform([5.0, 6.0])).all()


# --------------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------------


def _daily_periodic_series(n: int) -> np.ndarray:
    hours = np.arange(n)
    return 10 + 5 * np.sin(2 * np.pi * hours / 24) + 2 * np.cos(4 * np.pi * hours / 24 + 0.3)


@pytest.mark.parametrize("horizon, history", [(1, 24), (6, 19), (24, 1), (30, 24), (48, 1)])
def test_seasonal_persistence_is_exact_on_a_series_of_period_24(horizon, history):
    values = _daily_periodic_series(600)
    x, y = ts.make_windows(values, history, horizon, 0, len(values))
    assert ts.seasonal_persistence_available(history, horizon)
    prediction = ts.seasonal_persistence_forecast(x, horizon)
    assert ts.mean_absolute_error(y, prediction) < 1e-5
    naive_error = ts.mean_absolute_error(y, ts.naive_persistence_forecast(x))
    if horizon % 24 == 0:
        # A whole number of days ahead, the last observed value is already "the same hour yesterday".
        assert naive_error < 1e-5
    else:
        # Otherwise the naive baseline is not exact on this series, so the test above is not vacuous.
        assert naive_error > 0.5


def test_seasonal_persistence_refuses_a_window_that_does_not_reach_yesterday():
    x, _ = ts.make_windows(_daily_periodic_series(200), history=18, horizon=6, start=0, stop=200)
    assert not ts.seasonal_persistence_available(18, 6)
    with pytest.raises(ValueError, match="needs at least 19 steps"):
        ts.seasonal_persistence_forecast(x, horizon=6)


def test_naive_persistence_error_on_a_linear_trend_is_horizon_times_slope():
    values = 0.5 * np.arange(300)
    x, y = ts.make_windows(values, history=5, horizon=7, start=0, stop=300)
    prediction = ts.naive_persistence_forecast(x)
    np.testing.assert_allclose(prediction, x[:, -1, 0])
    assert ts.mean_absolute_error(y, prediction) == pytest.approx(3.5)
    np.testing.assert_allclose(ts.persistence_forecast(x, 7, kind="last_value"), prediction)


def test_fit_autoregressive_recovers_a_noisy_ar2_process():
    generator = np.random.default_rng(0)
    a1, a2, constant = 1.2, -0.5, 0.3
    values = np.zeros(20_000)
    noise = generator.normal(0.0, 0.1, size=values.shape)
    for t in range(2, len(values)):
        values[t] = constant + a1 * values[t - 1] + a2 * values[t - 2] + noise[t]
    x, y = ts.make_windows(values, history=2, horizon=1, start=0, stop=len(values))
    model = ts.fit_autoregressive(x, y, ridge=1e-6)
    # Windows are oldest first, so the weights come out as [a2, a1].
    np.testing.assert_allclose(model.weights, [a2, a1], atol=0.02)
    assert model.bias == pytest.approx(constant, abs=0.02)
    assert model.parameter_count == 3
    # The residual is the noise, of standard deviation 0.1: mean absolute value 0.1 * sqrt(2 / pi).
    assert ts.mean_absolute_error(y, model.predict(x)) == pytest.approx(0.1 * np.sqrt(2 / np.pi), rel=0.05)


def test_fit_autoregressive_is_exact_on_a_noise_free_linear_recurrence():
    # A sinusoid satisfies x_t = 2 cos(w) x_{t-1} - x_{t-2} exactly.
    omega = 2 * np.pi / 24
    values = np.sin(omega * np.arange(500))
    x, y = ts.make_windows(values, history=2, horizon=1, start=0, stop=500)
    model = ts.fit_autoregressive(x, y, ridge=1e-9)
    np.testing.assert_allclose(model.weights, [-1.0, 2 * np.cos(omega)], atol=1e-4)
    assert ts.mean_absolute_error(y, model.predict(x)) < 1e-4


# --------------------------------------------------------------------------------------------------
# The shipped data set
# --------------------------------------------------------------------------------------------------


def test_seattle_file_has_the_documented_8759_readings():
    raw = pd.read_csv(REPO_ROOT / "data" / "seattle-temps.csv")
    assert raw.columns.tolist() == ["date", "temp"] and len(raw) == 8759


def test_load_seattle_temperatures_is_hourly_in_celsius_without_gaps():
    frame = series.load_seattle_temperatures()
    assert frame.columns.tolist() == ["time", "value"]
    assert pd.api.types.is_datetime64_any_dtype(frame["time"])
    assert len(frame) == 8760 and not frame["value"].isna().any()
    assert (frame["time"].diff().iloc[1:] == pd.Timedelta(hours=1)).all()
    # 37.5 °F to 75.9 °F in the file.
    assert frame["value"].min() == pytest.approx(3.0556, abs=1e-3)
    assert frame["value"].max() == pytest.approx(24.3889, abs=1e-3)
    assert series.celsius_to_fahrenheit(frame["value"].iloc[0]) == pytest.approx(39.4)


def test_autoregressive_model_beats_persistence_on_seattle_validation_data():
    values = series.load_seattle_temperatures()["value"].to_numpy()
    data = ts.prepare_forecasting_data(values, history=48, horizon=24)
    model = ts.fit_autoregressive(data.x_train, data.y_train)
    ar_error = ts.mean_absolute_error_celsius(data.y_validation, model.predict(data.x_validation), data.normalizer)
    seasonal_error = ts.mean_absolute_error_celsius(
        data.y_validation, ts.seasonal_persistence_forecast(data.x_validation, 24), data.normalizer
    )
    assert 0 < ar_error < seasonal_error


def test_importing_the_module_does_not_import_keras():
    code = "import sys; import lib.models.timeseries; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------------------------------
# Keras builders
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_module():
    import keras

    return keras


def _predict_shape(model, history: int) -> tuple[int, ...]:
    return tuple(model(np.zeros((3, history, 1), dtype=np.float32)).shape)


def test_window_mlp_shape_compilation_and_parameter_count(keras_module):
    small = ts.build_window_mlp(history=24, hidden_units=8, seed=1)
    large = ts.build_window_mlp(history=24, hidden_units=16, seed=1)
    assert _predict_shape(small, 24) == (3, 1)
    assert small.count_params() == (24 * 8 + 8) + (8 + 1)
    assert large.count_params() > small.count_params()
    assert isinstance(small.optimizer, keras_module.optimizers.Adam)
    assert ts.build_window_mlp(history=24, hidden_units=(8, 4), seed=1).count_params() == (24 * 8 + 8) + (8 * 4 + 4) + 5


@pytest.mark.parametrize("cell, gates", [("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_recurrent_forecaster_shape_and_parameter_count(keras_module, cell, gates):
    model = ts.build_recurrent_forecaster(cell, history=12, units=4, seed=0)
    wider = ts.build_recurrent_forecaster(cell, history=12, units=8, seed=0)
    assert _predict_shape(model, 12) == (3, 1)
    # Keras' GRU has two bias vectors per gate (reset_after=True); the others have one.
    bias_vectors = 2 if cell == "GRU" else 1
    recurrent_params = gates * (4 * (1 + 4) + bias_vectors * 4)
    assert model.count_params() == recurrent_params + 4 + 1
    assert wider.count_params() > model.count_params()
    # Weights are shared across time: a longer window does not add parameters.
    assert ts.build_recurrent_forecaster(cell, history=48, units=4, seed=0).count_params() == model.count_params()


def test_stacked_and_bidirectional_forecasters(keras_module):
    one = ts.build_recurrent_forecaster("GRU", history=10, units=4, stacked_layers=1, seed=0)
    three = ts.build_recurrent_forecaster("GRU", history=10, units=4, stacked_layers=3, seed=0)
    both_ways = ts.build_recurrent_forecaster("LSTM", history=10, units=4, bidirectional=True, seed=0)
    one_way = ts.build_recurrent_forecaster("LSTM", history=10, units=4, bidirectional=False, seed=0)
    assert _predict_shape(three, 10) == (3, 1) and _predict_shape(both_ways, 10) == (3, 1)
    assert three.count_params() > one.count_params()
    lstm_layer = 4 * (4 * (1 + 4) + 4)
    assert one_way.count_params() == lstm_layer + 5
    assert both_ways.count_params() == 2 * lstm_layer + 8 + 1
    # The two directions get their own seeds, so they do not start from the same weights.
    bidirectional_layer = both_ways.get_layer("bidirectional_1")
    assert not np.allclose(
        bidirectional_layer.forward_layer.get_weights()[0], bidirectional_layer.backward_layer.get_weights()[0]
    )
    with pytest.raises(ValueError):
        ts.build_recurrent_forecaster("Transformer", history=10, units=4)
    with pytest.raises(ValueError):
        ts.build_recurrent_forecaster("GRU", history=10, units=4, stacked_layers=4)


def test_builders_are_seeded_by_their_initializers(keras_module):
    first = ts.build_recurrent_forecaster("SimpleRNN", history=8, units=4, stacked_layers=2, seed=7)
    again = ts.build_recurrent_forecaster("SimpleRNN", history=8, units=4, stacked_layers=2, seed=7)
    other = ts.build_recurrent_forecaster("SimpleRNN", history=8, units=4, stacked_layers=2, seed=8)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first.get_weights()[0], other.get_weights()[0])
    # Two layers of one model do not share their initial recurrent weights.
    assert not np.allclose(
        first.get_layer("simplernn_1").get_weights()[1], first.get_layer("simplernn_2").get_weights()[1]
    )


def test_linear_autoregressive_keras_has_the_closed_form_parameter_count(keras_module):
    model = ts.build_linear_autoregressive_keras(history=48, seed=0)
    assert _predict_shape(model, 48) == (3, 1)
    assert model.count_params() == ts.AutoregressiveModel(weights=np.zeros(48), bias=0.0).parameter_count == 49


def test_a_recurrent_forecaster_learns_a_sine_wave(keras_module):
    values = np.sin(2 * np.pi * np.arange(1200) / 24)
    x, y = ts.make_windows(values, history=12, horizon=1, start=0, stop=1200)
    model = ts.build_recurrent_forecaster("GRU", history=12, units=8, seed=0, learning_rate=1e-2)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["mae"]
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["mae"]
    assert after < before / 2


# --------------------------------------------------------------------------------------------------
# Upload validator
# --------------------------------------------------------------------------------------------------


def _csv_bytes(rows: int = 600, separator: str = ",", header: str = "time,temperature") -> bytes:
    times = pd.date_range("2021-01-01", periods=rows, freq="h")
    values = 10 + np.sin(np.arange(rows) / 5)
    lines = [header.replace(",", separator)]
    lines += [f"{t:%Y-%m-%d %H:%M}{separator}{v:.3f}" for t, v in zip(times, values)]
    return ("\n".join(lines) + "\n").encode()


def test_upload_of_a_clean_csv():
    frame = series.parse_uploaded_series(_csv_bytes())
    assert frame.columns.tolist() == ["time", "value"] and len(frame) == 600
    assert pd.api.types.is_datetime64_any_dtype(frame["time"]) and frame["value"].dtype == np.float64
    assert frame["value"].iloc[0] == pytest.approx(10.0)
    assert frame["time"].is_monotonic_increasing


def test_upload_picks_the_date_and_number_columns_sorts_deduplicates_and_fills_gaps():
    lines = ["station,when,temp,note"]
    times = pd.date_range("2021-01-01", periods=600, freq="h")
    for index, moment in enumerate(times):
        value = "" if index in (100, 101) else f"{index / 10:.1f}"
        lines.append(f"SEA,{moment:%Y-%m-%dT%H:%M},{value},ok")
    lines.append(lines[5])  # a repeated timestamp
    body = [lines[0]] + lines[1:][::-1]  # reversed order
    del body[300]  # a missing hour (row for index 299 of the reversed list)
    frame = series.parse_uploaded_series(("\ufeff" + "\n".join(body)).encode("utf-8"))
    assert len(frame) == 600
    assert frame["time"].is_monotonic_increasing and frame["time"].is_unique
    assert (frame["time"].diff().iloc[1:] == pd.Timedelta(hours=1)).all()
    np.testing.assert_allclose(frame["value"], np.arange(600) / 10, atol=1e-9)
    notes = " ".join(frame.attrs["notes"])
    assert "'when' as time" in notes and "'temp' as value" in notes and "repeated" in notes and "Interpolated" in notes


def test_upload_with_semicolons_and_decimal_commas():
    frame = series.parse_uploaded_series(_csv_bytes(separator=";", header="date;level"))
    assert len(frame) == 600 and frame.attrs["units"] == "level"
    european = _csv_bytes(separator=";", header="date;level").replace(b".", b",")
    frame_with_commas = series.parse_uploaded_series(european)
    np.testing.assert_allclose(frame_with_commas["value"], frame["value"])


@pytest.mark.parametrize(
    "raw, limits, message",
    [
        (_csv_bytes(), {"max_bytes": 1000}, "MB allowed"),
        (b"", {}, "empty"),
        ("time,temp\n2021-01-01,4\u00e9\n".encode("latin-1"), {}, "not UTF-8"),
        (b"\x00\x01\x02binary\x00", {}, "binary"),
        (b'time,temp\n"2021-01-01,4\n2021-01-02,5\n', {}, "could not be read as CSV"),
        (b"time,temp\n", {}, "no data rows"),
        (b"just one column\n1\n2\n", {}, "only one column"),
        (b"name,city\nann,paris\nbob,rome\n", {}, "No column of dates"),
        (_csv_bytes().replace(b"temperature", b"temp").replace(b".", b"x"), {}, "No column of numbers"),
        (
            _csv_bytes().replace(b"2021-01-05 03:00", b"yesterday"),
            {},
            "1 cell that is not a date; the first is 'yesterday' in data row 100",
        ),
        (_csv_bytes(rows=100), {}, "fewer than the 500 needed"),
        (_csv_bytes(rows=600), {"max_rows": 550}, "more than the 550 allowed"),
        (
            b"time,temp\n" + b"".join(f"2021-01-{d:02d},\n".encode() for d in range(1, 29)),
            {"min_rows": 5},
            "no numbers at all",
        ),
        (
            b"time,temp\n" + b"".join(f"2021-01-01 {h:02d}:00,3\n".encode() for h in range(24)),
            {"min_rows": 5},
            "same value in every row",
        ),
        (
            b"time,temp\n"
            + b"".join(f"2021-01-{d:02d},{d if d < 10 or d > 20 else ''}\n".encode() for d in range(1, 29)),
            {"min_rows": 5},
            "hole of 11 missing values",
        ),
    ],
    ids=[
        "too-large",
        "empty",
        "not-utf8",
        "binary",
        "bad-quoting",
        "header-only",
        "one-column",
        "no-dates",
        "no-numbers",
        "bad-date",
        "too-few-rows",
        "too-many-rows",
        "all-missing",
        "constant",
        "long-gap",
    ],
)
def test_upload_errors_say_what_is_wrong(raw, limits, message):
    with pytest.raises(series.SeriesUploadError, match=message) as raised:
        series.parse_uploaded_series(raw, **limits)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).endswith(".")
