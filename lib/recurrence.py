"""The Recurrence page's experiment: forecast a temperature h steps ahead from its last T values.

The page compares models that share nothing across time (a window MLP), a classical Markov model
(linear autoregression on the window) and persistence, with recurrent networks that reuse the same
weights at every step (SimpleRNN, LSTM, GRU). This module chooses the series, counts each model's
parameters with the shared counter, builds the Keras models, trains them one after another through
the shared engine and measures them on the test part, in the series' own units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from lib.mackey_glass import mackey_glass_frame
from lib.params import LayerCount, count_dense_params, count_recurrent_params, total_params
from lib.timeseries import (
    ForecastingData,
    build_recurrent_forecaster,
    build_window_mlp,
    fit_autoregressive,
    load_seattle_daily_maximum,
    load_seattle_temperatures,
    naive_persistence_forecast,
    prepare_forecasting_data,
    seasonal_persistence_available,
    seasonal_persistence_forecast,
)
from lib.training import TrainingRun, train_live

RECURRENT_KINDS = ("SimpleRNN", "LSTM", "GRU")
NEURAL_KINDS = ("Window MLP", *RECURRENT_KINDS)
BATCH_SIZE = 64
# Long enough for as many training windows as the hourly series gives at the page's defaults.
MACKEY_GLASS_SAMPLES = 5000

# The two linear autoregressive baselines: the notes' Markov assumption in its first order (the next
# value depends on the present one only), and the same window T as the networks read, so that a
# network that wins cannot owe it to seeing more of the past.
MARKOV_BASELINE = "Autoregressive, order 1 (Markov)"
WINDOW_BASELINE = "Autoregressive (linear, order T)"
AUTOREGRESSIVE_KINDS = (MARKOV_BASELINE, WINDOW_BASELINE)


@dataclass(frozen=True)
class SeriesSource:
    """A series the page can forecast, with slider ranges that make sense for its time step."""

    label: str
    step: str  # "hour", "day" or "step"
    default_history: int
    default_horizon: int
    min_history: int
    max_history: int
    max_horizon: int
    period: int | None  # the seasonal period for "same time yesterday" persistence, in steps
    loader: Callable[..., pd.DataFrame] | None
    caveat: str
    # The largest observation noise the page offers for a generated series (0: a fixed, real series).
    max_noise: float = 0.0


SOURCES = {
    "mackey_glass": SeriesSource(
        label="Mackey-Glass, τ = 17 (chaotic, generated)",
        step="step",
        default_history=48,
        default_horizon=12,
        min_history=2,
        max_history=168,
        max_horizon=48,
        period=None,
        loader=lambda noise=0.0: mackey_glass_frame(MACKEY_GLASS_SAMPLES, noise=noise),
        caveat=(
            f"{MACKEY_GLASS_SAMPLES:,} steps of the Mackey-Glass delay equation "
            "dx/dt = 0.2 x(t−17) / (1 + x(t−17)¹⁰) − 0.1 x(t), the standard nonlinear benchmark for recurrent "
            "networks, generated when the page first needs it (fourth-order Runge-Kutta, dt = 0.1, one sample per time unit, "
            "seed 0): chaotic, so it never repeats, and its future depends nonlinearly on values about 17 steps "
            "back. Dimensionless."
        ),
        max_noise=0.1,
    ),
    "hourly": SeriesSource(
        label="Seattle, hourly, 2010 (NOAA hourly normals)",
        step="hour",
        default_history=48,
        default_horizon=24,
        min_history=6,
        max_history=168,
        max_horizon=48,
        period=24,
        loader=load_seattle_temperatures,
        caveat=(
            "The real-world check. These 8,759 hourly values are NOAA's **30-year hourly normals** for Seattle-Tacoma airport "
            "(the average temperature of each hour of the year), stamped with the dates of 2010: not one "
            "year's weather. The curve is smooth, so simple linear models are very hard to beat on it."
        ),
    ),
    "daily": SeriesSource(
        label="Seattle, daily maximum, 2012–2015 (observed)",
        step="day",
        default_history=30,
        default_horizon=1,
        min_history=2,
        max_history=120,
        max_horizon=14,
        period=None,
        loader=load_seattle_daily_maximum,
        caveat=(
            "The real-world check, with real weather: 1,461 observed daily maxima at Seattle (NOAA, 2012–2015), which move by "
            "about 2 °C from one day to the next."
        ),
    ),
}
UPLOAD_SOURCE = SeriesSource(
    label="Your uploaded series",
    step="step",
    default_history=48,
    default_horizon=1,
    min_history=2,
    max_history=168,
    max_horizon=48,
    period=None,
    loader=None,
    caveat="Your own series, split in time order like the others.",
)


@dataclass(frozen=True)
class ForecasterSettings:
    """What the page's model controls set; every neural model of one press shares them."""

    units: int = 32
    stacked_layers: int = 1
    bidirectional: bool = False
    epochs: int = 5
    learning_rate: float = 3e-3


# --- Data ------------------------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def load_source(source_key: str, noise: float = 0.0) -> pd.DataFrame:
    """A shipped or generated series, made once per process (and noise level) and shared by every session."""
    source = SOURCES[source_key]
    if not 0.0 <= noise <= source.max_noise:
        raise ValueError(f"The noise level must lie between 0 and {source.max_noise:g} for this series.")
    return source.loader(noise=noise) if source.max_noise else source.loader()


@st.cache_data(max_entries=32, show_spinner="Cutting the series into windows…")
def forecasting_data(values: np.ndarray, history: int, horizon: int) -> ForecastingData:
    """Windows of the three parts of the split, cached per series and window shape."""
    return prepare_forecasting_data(values, history, horizon)


def split_frame(series: pd.DataFrame, data: ForecastingData) -> pd.DataFrame:
    """The series with each point labelled by the part of the split it belongs to, for the chart."""
    labels = np.empty(len(series), dtype=object)
    labels[data.train_slice] = "train"
    labels[data.validation_slice] = "validation"
    labels[data.test_slice] = "test"
    return series.assign(part=labels)


# --- Parameters, from the shared counter ------------------------------------------------------------


def forecaster_layer_counts(kind: str, history: int, settings: ForecasterSettings) -> list[LayerCount]:
    """Each model's parameters, layer by layer: the window MLP's grow with T, the RNNs' do not."""
    if kind == "Persistence":
        return []
    if kind == MARKOV_BASELINE:
        return [count_dense_params(1, 1)]
    if kind == WINDOW_BASELINE:
        return [count_dense_params(history, 1)]
    if kind == "Window MLP":
        return [count_dense_params(history, settings.units), count_dense_params(settings.units, 1)]
    directions = 2 if settings.bidirectional else 1
    counts = []
    input_size = 1
    for _ in range(settings.stacked_layers):
        layer = count_recurrent_params(kind, input_size, settings.units)
        counts.extend([layer] * directions)
        input_size = settings.units * directions
    counts.append(count_dense_params(input_size, 1))
    return counts


def forecaster_parameter_count(kind: str, history: int, settings: ForecasterSettings) -> int:
    return total_params(forecaster_layer_counts(kind, history, settings))


# --- Models ------------------------------------------------------------------------------------------


def build_forecaster(kind: str, history: int, settings: ForecasterSettings, scale: float, unit: str, seed: int = 0):
    """The Keras model for one neural kind, compiled to report its error in the series' own units.

    The models learn on normalised values; multiplying the mean absolute error by the training
    part's standard deviation gives it back in °C, which is what the chart and the table show.
    """
    import keras

    if kind == "Window MLP":
        model = build_window_mlp(history, settings.units, seed=seed)
    else:
        model = build_recurrent_forecaster(
            kind, history, settings.units, settings.stacked_layers, settings.bidirectional, seed=seed
        )

    def mean_absolute_error_in_units(y_true, y_pred):
        # The targets arrive as (batch,) and the forecasts as (batch, 1): without the reshape they
        # would broadcast to a (batch, batch) table of every pair and report nonsense.
        y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), keras.ops.shape(y_pred))
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1) * scale

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
        loss="mean_squared_error",
        metrics=[keras.metrics.MeanMetricWrapper(mean_absolute_error_in_units, name=error_metric_name(unit))],
    )
    return model


def error_metric_name(unit: str) -> str:
    return "mae_celsius" if unit == "°C" else "mae_units"


# --- Baselines -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastResult:
    """One model's forecasts of the validation and test targets, in the series' own units."""

    name: str
    parameters: int
    validation_forecast: np.ndarray
    test_forecast: np.ndarray
    seconds: float = 0.0
    status: str = "closed form"


def baseline_results(data: ForecastingData, period: int | None) -> list[ForecastResult]:
    """Persistence and the closed-form autoregressive models: instant, and the numbers to beat."""
    inverse = data.normalizer.inverse_transform
    results = [
        ForecastResult(
            "Persistence (last value)",
            0,
            inverse(naive_persistence_forecast(data.x_validation)),
            inverse(naive_persistence_forecast(data.x_test)),
        )
    ]
    if period and seasonal_persistence_available(data.history, data.horizon, period):
        results.append(
            ForecastResult(
                "Persistence (same hour yesterday)",
                0,
                inverse(seasonal_persistence_forecast(data.x_validation, data.horizon, period)),
                inverse(seasonal_persistence_forecast(data.x_test, data.horizon, period)),
            )
        )
    orders = {MARKOV_BASELINE: 1, WINDOW_BASELINE: data.history}
    for name, order in orders.items():
        if name == MARKOV_BASELINE and data.history == 1:
            continue  # the window is the Markov order already
        # The model of order p reads the last p values of each window, the ones closest to the target.
        autoregressive = fit_autoregressive(data.x_train[:, -order:], data.y_train)
        results.append(
            ForecastResult(
                name,
                autoregressive.parameter_count,
                inverse(autoregressive.predict(data.x_validation[:, -order:])),
                inverse(autoregressive.predict(data.x_test[:, -order:])),
            )
        )
    return results


@st.cache_data(max_entries=32, show_spinner="Fitting the baselines for every window and horizon…")
def baseline_error_sweep(values: np.ndarray, shapes: tuple[tuple[int, int], ...], period: int | None) -> pd.DataFrame:
    """Test error of the closed-form baselines for each (history T, horizon h): instant, so the page shows it."""
    rows = []
    for history, horizon in shapes:
        try:
            data = prepare_forecasting_data(values, history, horizon)
        except ValueError:
            continue
        truth = data.normalizer.inverse_transform(data.y_test)
        for result in baseline_results(data, period):
            rows.append(
                {"history": history, "horizon": horizon, "model": result.name,
                 "test_error": mean_absolute_error(truth, result.test_forecast)}
            )
    return pd.DataFrame(rows, columns=["history", "horizon", "model", "test_error"])


def mean_absolute_error(truth: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(truth) - np.asarray(forecast))))


# --- Training the neural models through the engine ----------------------------------------------------


def train_forecasters(
    page_key: str,
    series_key: str,
    kinds: list[str],
    data: ForecastingData,
    settings: ForecasterSettings,
    unit: str,
    step: str,
    area,
    references: list[dict] | None = None,
) -> list[TrainingRun]:
    """Train the chosen neural models one after another, each as one run of the page's chart.

    Each run keeps its test forecast in `run.results`, so the table and the forecast chart can be
    drawn on later reruns without the model.
    """
    runs = []
    # One place on the page for all the models of a press: each run's view replaces the previous
    # one, and its chart overlays every run so far, so the page shows a single growing chart.
    area = area.empty()
    scale = float(data.normalizer.std)
    metric = error_metric_name(unit)
    for kind in kinds:
        model = build_forecaster(kind, data.history, settings, scale, unit)
        shape = (
            f"{settings.units} units"
            + (f" × {settings.stacked_layers} layers" if settings.stacked_layers > 1 and kind != "Window MLP" else "")
            + (" · bidirectional" if settings.bidirectional and kind != "Window MLP" else "")
        )
        label = f"{kind} · {shape} · T={data.history} · h={data.horizon} ({step}s)"
        run = train_live(
            model,
            data.x_train,
            data.y_train,
            validation_data=(data.x_validation, data.y_validation),
            epochs=settings.epochs,
            batch_size=BATCH_SIZE,
            label=label,
            page_key=page_key,
            settings={"kind": kind, "series": series_key, "history": data.history, "horizon": data.horizon,
                      **settings.__dict__},
            metrics=["loss", metric],
            area=area,
            references=references,
        )
        measure_forecaster(run, series_key, data)
        runs.append(run)
    return runs


def measure_forecaster(run: TrainingRun, series_key: str, data: ForecastingData) -> None:
    """Forecast the validation and test parts with the run's model and keep what the page shows."""
    model, settings = run.model, run.settings
    inverse = data.normalizer.inverse_transform
    test_forecast = inverse(model.predict(data.x_test, verbose=0, batch_size=512)[:, 0])
    run.results = {
        "series": series_key,
        "kind": settings["kind"],
        "history": data.history,
        "horizon": data.horizon,
        "parameters": int(model.count_params()),
        "formula_parameters": forecaster_parameter_count(
            settings["kind"], data.history,
            ForecasterSettings(settings["units"], settings["stacked_layers"], settings["bidirectional"],
                               settings["epochs"], settings["learning_rate"]),
        ),
        "validation_forecast": inverse(model.predict(data.x_validation, verbose=0, batch_size=512)[:, 0]),
        "test_forecast": test_forecast,
        "test_mae": mean_absolute_error(inverse(data.y_test), test_forecast),
    }


def measure_stopped_runs(runs: list[TrainingRun], series_key: str, data: ForecastingData) -> None:
    """A run cut short by Stop or a moved slider kept its model: measure it now, so it is not lost.

    That includes a run that finished just as the user pressed Stop: Streamlit then stops the
    script at the engine's last redraw, before the page could measure the run.

    Only runs of the page's current series and window shape can be measured on `data`; the others
    wait until the page shows their series and window again.
    """
    for run in runs:
        if (
            not run.results
            and run.model is not None
            and run.status != "training"
            and run.settings.get("series") == series_key
            and run.settings.get("history") == data.history
            and run.settings.get("horizon") == data.horizon
        ):
            measure_forecaster(run, series_key, data)


def comparison_table(data: ForecastingData, baselines: list[ForecastResult], runs: list[TrainingRun], unit: str) -> pd.DataFrame:
    """Test error of every model on the same test windows, best first."""
    truth = data.normalizer.inverse_transform(data.y_test)
    rows = [
        {
            "Model": result.name,
            "Test MAE": mean_absolute_error(truth, result.test_forecast),
            "Parameters": result.parameters,
            "Training seconds": 0.0,
            "Status": result.status,
        }
        for result in baselines
    ]
    for run in runs:
        if "test_forecast" not in run.results:
            continue
        rows.append(
            {
                "Model": run.display_label,
                "Test MAE": mean_absolute_error(truth, run.results["test_forecast"]),
                "Parameters": run.results["parameters"],
                "Training seconds": run.seconds,
                "Status": run.status_text,
            }
        )
    table = pd.DataFrame(rows).sort_values("Test MAE", ignore_index=True)
    if unit == "°C":
        table.insert(2, "Test MAE (°F)", table["Test MAE"] * 9 / 5)
        table = table.rename(columns={"Test MAE": "Test MAE (°C)"})
    return table


def runs_matching(runs: list[TrainingRun], series_key: str, data: ForecastingData) -> list[TrainingRun]:
    """The runs trained on the same series and window shape as the page's current one (so they compare)."""
    return [
        run
        for run in runs
        if run.results.get("series") == series_key
        and run.results.get("history") == data.history
        and run.results.get("horizon") == data.horizon
        and len(run.results.get("test_forecast", ())) == len(data.y_test)
    ]


def network_errors(runs: list[TrainingRun], series_key: str) -> pd.DataFrame:
    """Each trained network's test error with the window T and horizon h it was trained for."""
    rows = [
        {"history": run.results["history"], "horizon": run.results["horizon"], "model": run.results["kind"],
         "test_error": run.results["test_mae"]}
        for run in runs
        if run.results.get("series") == series_key and "test_mae" in run.results
    ]
    return pd.DataFrame(rows, columns=["history", "horizon", "model", "test_error"])


def context_sweep_shapes(history: int, horizon: int, source: SeriesSource) -> tuple[tuple[int, int], ...]:
    """The (T, h) pairs the page sweeps: T grows at the current h, and h grows at the current T."""
    histories = {6, 12, 24, 48, 96, 168, history}
    horizons = {1, 3, 6, 12, 24, 48, horizon}
    shapes = {(t, horizon) for t in histories if source.min_history <= t <= source.max_history}
    shapes |= {(history, h) for h in horizons if 1 <= h <= source.max_horizon}
    return tuple(sorted(shapes))


def error_text(error: float, unit: str) -> str:
    """An error with its unit: three decimals in °C, four for a dimensionless series of about 1."""
    return f"{error:.3f} {unit}" if unit == "°C" else f"{error:.4f} {unit}"


def verdict(table: pd.DataFrame, unit: str) -> str:
    """What the measurement shows, in one honest paragraph, written from the table itself."""
    error_column = "Test MAE (°C)" if unit == "°C" else "Test MAE"
    best = table.iloc[0]
    lines = [f"**Best on the test part: {best['Model']}**, {error_text(best[error_column], unit)} mean absolute error."]
    recurrent = table[table["Model"].str.startswith(RECURRENT_KINDS)]
    classical = table[table["Model"].str.startswith(("Persistence", "Autoregressive"))]
    if not recurrent.empty and not classical.empty:
        best_recurrent = recurrent.iloc[0]
        best_classical = classical.iloc[0]
        if best_recurrent[error_column] < best_classical[error_column]:
            lines.append(
                f"The best recurrent network ({best_recurrent['Model'].split(' · ')[0]}) beats the best classical "
                f"model ({best_classical['Model']}) by "
                f"{error_text(best_classical[error_column] - best_recurrent[error_column], unit)}."
            )
        else:
            lines.append(
                f"No recurrent network beats {best_classical['Model']} here "
                f"({error_text(best_classical[error_column], unit)} against {error_text(best_recurrent[error_column], unit)} "
                f"for the best, {best_recurrent['Model'].split(' · ')[0]}). That is a real result, not a bug: on this series "
                "and at this horizon, the last few values already say almost everything, and a linear model "
                "fits that with far fewer parameters. Try another horizon, a longer history or more epochs before concluding."
            )
    elif recurrent.empty:
        lines.append("Train at least one recurrent network to compare it with the classical models.")
    window_mlp = table[table["Model"].str.startswith("Window MLP")]
    if not recurrent.empty and not window_mlp.empty:
        # The window MLP reads the same T values nonlinearly: beating it is what the recurrent state adds.
        best_recurrent, best_mlp = recurrent.iloc[0], window_mlp.iloc[0]
        recurrent_name = best_recurrent["Model"].split(" · ")[0]
        if best_recurrent[error_column] < best_mlp[error_column]:
            lines.append(
                f"{recurrent_name} also beats the window MLP, which reads the same T values nonlinearly but shares "
                f"nothing across time ({error_text(best_recurrent[error_column], unit)} against "
                f"{error_text(best_mlp[error_column], unit)})."
            )
        else:
            lines.append(
                f"The window MLP, which reads the same T values nonlinearly but shares nothing across time, does "
                f"as well or better ({error_text(best_mlp[error_column], unit)} against "
                f"{error_text(best_recurrent[error_column], unit)} for {recurrent_name}): here the recurrent state "
                "adds nothing the window does not hold."
            )
    return " ".join(lines)


# --- What the default presses measured ----------------------------------------------------------------

DEFAULT_PRESSES_FILE = Path(__file__).parent.parent / "data" / "recurrence_default_presses.csv"


@st.cache_data(show_spinner=False)
def measured_default_presses() -> pd.DataFrame:
    """The test errors of one default press per shipped series, as `scripts/recurrence_measurement.py --record` wrote them."""
    return pd.read_csv(DEFAULT_PRESSES_FILE)


def default_press_summary() -> str:
    """Both defaults' results in a few sentences, written from the shipped measurement, not typed in."""
    measured = measured_default_presses()
    sentences = []
    for series_key, source in SOURCES.items():
        press = measured[measured["series"] == series_key]
        if press.empty:
            continue
        first = press.iloc[0]
        errors = press.set_index("model")["test_mae"]
        unit = first["unit"]
        recurrent = errors[errors.index.isin(RECURRENT_KINDS)]
        linear = errors[errors.index.isin(AUTOREGRESSIVE_KINDS)]
        best_recurrent, best_linear = recurrent.idxmin(), linear.idxmin()
        comparison = (
            f"the best recurrent network, {best_recurrent}, **beats** the best linear model"
            if recurrent.min() < linear.min()
            else "**no recurrent network beats** the best linear model"
        )
        sentences.append(
            f"- **{source.label}**, T = {first['history']}, h = {first['horizon']}: {comparison} "
            f"(test MAE: {best_recurrent} {error_text(recurrent.min(), unit)}, {best_linear} "
            f"{error_text(linear.min(), unit)}, window MLP {error_text(errors['Window MLP'], unit)})."
        )
    dates = ", ".join(sorted(set(measured["date"])))
    return (
        f"What one press of **Train** with the default settings measured on each series ({dates}, "
        "`scripts/recurrence_measurement.py`; a network's error moves from one press to the next, and "
        "`data/README.md` lists repeated presses):\n\n" + "\n".join(sentences)
    )


def forecast_week(series: pd.DataFrame, data: ForecastingData, results: dict[str, np.ndarray], week: int, step: str) -> pd.DataFrame:
    """Truth and each model's test forecasts over one week of the test part, long-form for a chart."""
    steps_per_week = 7 * 24 if step == "hour" else 7 if step == "day" else 168
    if step == "day":
        steps_per_week = 28  # a week of days is too short to see anything: show four
    start = week * steps_per_week
    window = slice(start, start + steps_per_week)
    times = series["time"].to_numpy()[data.test_target_indices][window]
    truth = data.normalizer.inverse_transform(data.y_test)[window]
    rows = [pd.DataFrame({"time": times, "model": "Truth", "value": truth})]
    for name, forecast in results.items():
        rows.append(pd.DataFrame({"time": times, "model": name, "value": np.asarray(forecast)[window]}))
    return pd.concat(rows, ignore_index=True)


def test_weeks(data: ForecastingData, step: str) -> int:
    steps_per_week = 7 * 24 if step == "hour" else 28 if step == "day" else 168
    return max(1, len(data.y_test) // steps_per_week)
