"""Recurrence: SimpleRNN, LSTM and GRU against a window MLP and autoregressive models, on a chaotic series and on temperatures."""

import pandas as pd
import streamlit as st

from lib.app.uploads import upload_box
from lib.data.series import SeriesUploadError, parse_uploaded_series
from lib.engine.charts import line_chart, show, time_chart
from lib.engine.diagrams import unrolled_rnn_dot
from lib.engine.training import live_training, page_runs
from lib.page_glue.export import forecaster_archives, run_downloads
from lib.page_glue.load_back import FORECASTER_LOADER, load_back_box
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.recurrence import (
    AUTOREGRESSIVE_KINDS,
    NEURAL_KINDS,
    RECURRENT_KINDS,
    SOURCES,
    UPLOAD_SOURCE,
    ForecasterSettings,
    baseline_error_sweep,
    baseline_results,
    comparison_table,
    context_sweep_shapes,
    default_press_summary,
    error_metric_name,
    forecast_week,
    forecaster_layer_counts,
    forecasting_data,
    load_source,
    mean_absolute_error,
    measure_stopped_runs,
    network_errors,
    runs_matching,
    split_frame,
    test_weeks,
    train_forecasters,
    verdict,
)
from lib.page_glue.settings.recurrence import SETTINGS, UPLOAD

PAGE_KEY = SETTINGS.page
UPLOAD_KEY = "recurrence_uploaded_series"

st.title("Recurrence")
link = SETTINGS.link()
st.markdown(
    "> *Time series: strong dependence on the previous samples (ex: meteo temperature), decreasing over "
    "time. Classical models: autoregressive, Markov models. DL: the RNN uses the same parameters at every "
    "timestep and transmits a memory vector from the previous sample: it exploits a global context.*  — the notes"
)
formula_column, picture_column = st.columns([1, 2], gap="large")
with formula_column:
    st.latex(r"s_t = f(U x_t + W s_{t-1}),\qquad \hat y = V s_T")
    st.markdown(
        "One matrix **U** reads each input, one matrix **W** carries the memory **s** from step to step, "
        "and both are the same at every step: the model's size does not depend on how far back it reads."
    )
with picture_column:
    st.graphviz_chart(unrolled_rnn_dot(4))

# --- 1. The data --------------------------------------------------------------------------------------
st.header("1 · The series and the task")
st.markdown(
    "The first series is the **Mackey-Glass** equation, the standard nonlinear benchmark for recurrent networks: "
    "its next values depend nonlinearly on values about 17 steps back, which a linear (Markov) model of a fixed "
    "window cannot express. The **Seattle temperatures** are the real-world check: smooth or noisy, a linear "
    "model is hard to beat on them, a real lesson about baselines."
)
st.markdown(default_press_summary())
source_key = SETTINGS.widget("series_choice", options=[*SOURCES, *([UPLOAD] if UPLOAD_KEY in st.session_state else [])])
upload_box(
    "Upload your own series (CSV: a time column and a value column)",
    "CSV file, up to 5 MB",
    ["csv", "txt"],
    uploader_key="series_upload",
    parse=parse_uploaded_series,
    error_type=SeriesUploadError,
    store_key=UPLOAD_KEY,
    choice_key="series_choice",
    kept="the series it had",
)

source = UPLOAD_SOURCE if source_key == "upload" else SOURCES[source_key]
noise = 0.0
if source.max_noise:
    noise = SETTINGS.widget(f"noise_{source_key}")
if noise:
    st.caption(
        f"The test targets carry the noise too, so no forecast can have a mean absolute error much below "
        f"{0.8 * noise:.3f} (0.8 × the noise's standard deviation, the error of the clean value itself)."
    )
series = st.session_state[UPLOAD_KEY] if source_key == "upload" else load_source(source_key, noise)
unit = series.attrs.get("units", "units") if source_key != "upload" else "units"
# Runs remember which series (and noise level) they were trained on, so they never mix with others.
if source_key == "upload":
    series_id = f"upload:{st.session_state[UPLOAD_KEY + '_id']}"
else:
    series_id = source_key if noise == 0 else f"{source_key}:noise={noise:g}"
st.caption(source.caveat)

task_columns = st.columns(2)
history = SETTINGS.widget(f"history_{source_key}", task_columns[0])
horizon = SETTINGS.widget(f"horizon_{source_key}", task_columns[1])
try:
    data = forecasting_data(series["value"].to_numpy(), history, horizon)
except ValueError as problem:
    # The window does not fit the series: the models' settings and the share box still show, so
    # the reader can shorten the window or share the link; what needs the windows waits for one.
    data = None
    st.error(str(problem))
else:
    show(
        st,
        time_chart(
            split_frame(series, data),
            "time",
            "value",
            "part",
            y_title=f"Temperature ({unit})" if unit == "°C" else "Value",
            series_title="Split (in time order)",
            colours={"train": "#2e282a", "validation": "#17bebb", "test": "#e4572e"},
        ),
        width="stretch",
    )
    st.caption(
        f"Split in time order, never shuffled across parts: {len(data.y_train):,} training windows, "
        f"{len(data.y_validation):,} validation and {len(data.y_test):,} test. Values are normalised with the "
        "training part's mean and standard deviation only."
    )

# --- 2. The models ------------------------------------------------------------------------------------
st.header("2 · The models")
model_columns = st.columns([3, 1, 1, 1, 1, 1])
kinds = SETTINGS.widget("models", model_columns[0])
units = SETTINGS.widget("units", model_columns[1])
layers = SETTINGS.widget("layers", model_columns[2])
epochs = SETTINGS.widget("epochs", model_columns[3])
bidirectional = SETTINGS.widget("bidirectional", model_columns[4])
seed = SETTINGS.widget("seed", model_columns[5])
settings = ForecasterSettings(units=units, stacked_layers=layers, bidirectional=bidirectional, epochs=epochs)

parameter_rows = [
    {
        "Model": kind,
        "Parameters": sum(layer.total for layer in forecaster_layer_counts(kind, history, settings)),
        "How they are counted": " + ".join(
            f"[{layer.formula}]" for layer in forecaster_layer_counts(kind, history, settings)
        )
        or "none: it copies a past value",
        "Shared across time?": "yes" if kind in RECURRENT_KINDS else "no",
    }
    for kind in ["Persistence", *AUTOREGRESSIVE_KINDS, *NEURAL_KINDS]
]
st.dataframe(
    pd.DataFrame(parameter_rows),
    hide_index=True,
    column_config={"Parameters": st.column_config.NumberColumn(format="localized")},
)
st.caption(
    "The autoregressive model of order T and the window MLP have one weight per step of the window, so they grow "
    "with T; the order-1 (Markov) model reads the last value only; the recurrent networks reuse U and W at every "
    "step, so T does not change their size."
)

if data is not None:
    # --- 3. Train and compare -----------------------------------------------------------------------------
    st.header("3 · Train, then compare on the test part")
    baselines = baseline_results(data, source.period)
    error_metric = error_metric_name(unit)
    truth_validation = data.normalizer.inverse_transform(data.y_validation)
    references = [
        {
            "run": f"{result.name} (validation)",
            "metric": error_metric,
            "value": mean_absolute_error(truth_validation, result.validation_forecast),
        }
        for result in baselines
    ]
    prediction_box(PAGE_KEY)
    live_training(
        PAGE_KEY,
        ["loss", error_metric],
        lambda area: train_forecasters(
            PAGE_KEY, series_id, kinds, data, settings, unit, source.step, area, references, seed=seed
        ),
        train_label="Train the selected models",
        disabled=not kinds,
        references=references,
        # The series (an upload by its content hash, with its noise), the window, the models and the seed.
        share={
            "series": series_id,
            "history": history,
            "horizon": horizon,
            "kinds": list(kinds),
            "seed": seed,
            **settings.__dict__,
        },
    )

    load_back_box(PAGE_KEY, FORECASTER_LOADER)
    measure_stopped_runs(page_runs(PAGE_KEY), series_id, data)
    comparable_runs = runs_matching(page_runs(PAGE_KEY), series_id, data)
    table = comparison_table(data, baselines, comparable_runs, unit)
    error_label = "Test MAE (°C)" if unit == "°C" else "Test MAE"
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            error_label: st.column_config.NumberColumn(format="%.3f" if unit == "°C" else "%.4f"),
            "Test MAE (°F)": st.column_config.NumberColumn(format="%.3f"),
            "Parameters": st.column_config.NumberColumn(format="localized"),
            "Training seconds": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    st.markdown(verdict(table, unit))
    prediction_result(PAGE_KEY)
    run_downloads(PAGE_KEY, page_runs(PAGE_KEY), forecaster_archives(series_id, series))
    if not comparable_runs:
        st.info(
            "The table holds the baselines only: press **Train the selected models** to add the neural networks.",
            icon=":material/play_arrow:",
        )

    week_count = test_weeks(data, source.step)
    week = SETTINGS.widget("week", max_value=week_count) if week_count > 1 else 1
    forecasts = {
        result.name: result.test_forecast for result in baselines if not result.name.startswith("Persistence (last")
    }
    forecasts.update({run.display_label.split(" · ")[0]: run.results["test_forecast"] for run in comparable_runs})
    show(
        st,
        time_chart(
            forecast_week(series, data, forecasts, week - 1, source.step),
            "time",
            "value",
            "model",
            y_title=f"Temperature ({unit})" if unit == "°C" else "Value",
            series_title="Forecast",
            colours={"Truth": "#2e282a"},
        ),
        width="stretch",
    )

    # --- 4. Does a longer context help? ---------------------------------------------------------------------
    st.header("4 · Does reading further back help?")
    st.markdown(
        "The notes say a recurrent network exploits a *global* context where a Markov model only sees a fixed "
        "window. Left: the test error as the window T grows (at the current h); right: as the horizon h grows "
        "(at the current T). The closed-form baselines are computed for every point at once; each network you "
        "train adds a point: train again with another T or h to draw its curve."
    )
    sweep = pd.concat(
        [
            baseline_error_sweep(
                series["value"].to_numpy(), context_sweep_shapes(history, horizon, source), source.period
            ),
            network_errors(page_runs(PAGE_KEY), series_id),
        ],
        ignore_index=True,
    )
    by_history_column, by_horizon_column = st.columns(2)
    show(
        by_history_column,
        line_chart(
            sweep[sweep["horizon"] == horizon],
            "history",
            "test_error",
            "model",
            x_title=f"History T ({source.step}s, log scale), h = {horizon}",
            y_title=f"Test MAE ({unit})",
            log_x=True,
        ),
        width="stretch",
    )
    show(
        by_horizon_column,
        line_chart(
            sweep[sweep["history"] == history],
            "horizon",
            "test_error",
            "model",
            x_title=f"Horizon h ({source.step}s, log scale), T = {history}",
            y_title=f"Test MAE ({unit})",
            log_x=True,
        ),
        width="stretch",
    )

link.finish()
