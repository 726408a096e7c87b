"""Recurrence page: time for one press to train SimpleRNN, LSTM and GRU, to draw the first point, and the
default press on Mackey-Glass against the default press on the hourly temperatures.

What it measures
    The page's default task (Seattle hourly series, history T = 48, horizon h = 24, 32 units, one
    layer, 5 epochs, batch 64) trained two ways inside a real Streamlit script context (AppTest), in
    the same run and in alternating order:

    * plain   `model.fit(...)` on each of the three models built by `lib.page_glue.recurrence.build_forecaster`;
    * page    `lib.page_glue.recurrence.train_forecasters(...)`, exactly what the page's Train button runs:
              the three models one after another through the live engine, plus their test forecasts.

    It also records, for the page variant, the time from the call to the engine's first chart
    redraw (the first point a participant sees), with TensorFlow already imported.

    Then the page's whole default press (the four neural models the page selects by default: window
    MLP, SimpleRNN, LSTM, GRU, through `train_forecasters`) on the default series, Mackey-Glass
    (T = 48, h = 12, 5,000 steps), against the same press on the hourly temperatures at their own
    defaults (T = 48, h = 24, the default before Mackey-Glass), alternating in the same run; the
    ratio Mackey-Glass / temperatures is printed.

Targets (issue 3)
    The three networks together in under 20 s on 2 cores; the first chart point within 2 s of the
    press. Ratio page/plain printed beside them. Nothing is asserted.

Run from the repository root:  python benchmarks/recurrence_training.py   (about 4 minutes)
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402

REPETITIONS = 3
KINDS = ["SimpleRNN", "LSTM", "GRU"]


def bench_script(variant: str, series_key: str = "hourly") -> None:
    import time

    import streamlit as st

    import lib.engine.training as training
    from lib.page_glue.recurrence import (
        NEURAL_KINDS,
        SOURCES,
        ForecasterSettings,
        build_forecaster,
        forecasting_data,
        load_source,
        train_forecasters,
    )

    kinds = ["SimpleRNN", "LSTM", "GRU"] if variant != "press" else list(NEURAL_KINDS)
    source = SOURCES[series_key]
    series = load_source(series_key)
    unit = series.attrs.get("units", "units")
    data = forecasting_data(series["value"].to_numpy(), source.default_history, source.default_horizon)
    settings = ForecasterSettings()
    first_redraw = {}
    original_redraw = training._LiveView.redraw

    def timed_redraw(self, run, started):
        first_redraw.setdefault("at", time.perf_counter())
        return original_redraw(self, run, started)

    training._LiveView.redraw = timed_redraw
    try:
        started = time.perf_counter()
        if variant == "plain":
            for kind in kinds:
                model = build_forecaster(kind, data.history, settings, float(data.normalizer.std), unit)
                model.fit(
                    data.x_train,
                    data.y_train,
                    validation_data=(data.x_validation, data.y_validation),
                    epochs=settings.epochs,
                    batch_size=64,
                    verbose=0,
                )
        else:
            train_forecasters("bench", series_key, kinds, data, settings, unit, source.step, st.container())
        elapsed = time.perf_counter() - started
    finally:
        training._LiveView.redraw = original_redraw
    st.session_state["elapsed"] = elapsed
    st.session_state["first_point"] = first_redraw.get("at", float("nan")) - started


def measure(variant: str, series_key: str = "hourly") -> tuple[float, float]:
    app = AppTest.from_function(
        bench_script, kwargs={"variant": variant, "series_key": series_key}, default_timeout=600
    ).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return app.session_state["elapsed"], app.session_state["first_point"]


def main() -> None:
    measure("plain")  # Warm-up: imports TensorFlow and traces the Keras functions once.
    plain, page, first_points = [], [], []
    for repetition in range(REPETITIONS):
        for variant in ("plain", "page") if repetition % 2 == 0 else ("page", "plain"):
            elapsed, first_point = measure(variant)
            (plain if variant == "plain" else page).append(elapsed)
            if variant == "page":
                first_points.append(first_point)
            print(
                f"repetition {repetition + 1}: {variant:5} {elapsed:6.1f} s"
                + (f"  first chart point after {first_point:.2f} s" if variant == "page" else "")
            )
    plain_median, page_median = statistics.median(plain), statistics.median(page)
    print()
    print(
        f"SimpleRNN + LSTM + GRU, default settings: page {page_median:.1f} s, plain fit {plain_median:.1f} s "
        f"(ratio {page_median / plain_median:.2f}); target under 20 s -> {'met' if page_median < 20 else 'NOT met'}"
    )
    print(f"first chart point: median {statistics.median(first_points):.2f} s; target under 2 s")
    print(f"RESULT recurrence_three_rnns_page_median_s={page_median:.1f}")
    print(f"RESULT recurrence_three_rnns_plain_median_s={plain_median:.1f}")
    print(f"RESULT recurrence_page_over_plain={page_median / plain_median:.2f}")
    print(f"RESULT recurrence_first_point_median_s={statistics.median(first_points):.2f}")

    # The default press (all four neural models) on the new default series against the old one.
    presses = {"mackey_glass": [], "hourly": []}
    for repetition in range(REPETITIONS):
        for series_key in ("mackey_glass", "hourly") if repetition % 2 == 0 else ("hourly", "mackey_glass"):
            elapsed, _ = measure("press", series_key)
            presses[series_key].append(elapsed)
            print(f"repetition {repetition + 1}: default press on {series_key:12} {elapsed:6.1f} s")
    new_median, old_median = statistics.median(presses["mackey_glass"]), statistics.median(presses["hourly"])
    print()
    print(
        f"default press (window MLP + SimpleRNN + LSTM + GRU): Mackey-Glass {new_median:.1f} s, hourly "
        f"temperatures {old_median:.1f} s (ratio {new_median / old_median:.2f})"
    )
    print(f"RESULT recurrence_default_press_mackey_glass_median_s={new_median:.1f}")
    print(f"RESULT recurrence_default_press_hourly_median_s={old_median:.1f}")
    print(f"RESULT recurrence_default_press_mackey_glass_over_hourly={new_median / old_median:.2f}")


if __name__ == "__main__":
    main()
