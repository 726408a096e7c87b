"""Recurrence page: time for one press to train SimpleRNN, LSTM and GRU, and to draw the first point.

What it measures
    The page's default task (Seattle hourly series, history T = 48, horizon h = 24, 32 units, one
    layer, 5 epochs, batch 64) trained two ways inside a real Streamlit script context (AppTest), in
    the same run and in alternating order:

    * plain   `model.fit(...)` on each of the three models built by `lib.recurrence.build_forecaster`;
    * page    `lib.recurrence.train_forecasters(...)`, exactly what the page's Train button runs:
              the three models one after another through the live engine, plus their test forecasts.

    It also records, for the page variant, the time from the call to the engine's first chart
    redraw (the first point a participant sees), with TensorFlow already imported.

Targets (issue 3)
    The three networks together in under 20 s on 2 cores; the first chart point within 2 s of the
    press. Ratio page/plain printed beside them. Nothing is asserted.

Run from the repository root:  python benchmarks/recurrence_training.py   (about 2 minutes)
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


def bench_script(variant: str) -> None:
    import time

    import streamlit as st

    import lib.training as training
    from lib.recurrence import ForecasterSettings, build_forecaster, forecasting_data, load_source, train_forecasters

    kinds = ["SimpleRNN", "LSTM", "GRU"]
    series = load_source("hourly")
    data = forecasting_data(series["value"].to_numpy(), 48, 24)
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
                model = build_forecaster(kind, 48, settings, float(data.normalizer.std), "°C")
                model.fit(data.x_train, data.y_train, validation_data=(data.x_validation, data.y_validation),
                          epochs=settings.epochs, batch_size=64, verbose=0)
        else:
            train_forecasters("bench", "hourly", kinds, data, settings, "°C", "hour", st.container())
        elapsed = time.perf_counter() - started
    finally:
        training._LiveView.redraw = original_redraw
    st.session_state["elapsed"] = elapsed
    st.session_state["first_point"] = first_redraw.get("at", float("nan")) - started


def measure(variant: str) -> tuple[float, float]:
    app = AppTest.from_function(bench_script, kwargs={"variant": variant}, default_timeout=600).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return app.session_state["elapsed"], app.session_state["first_point"]


def main() -> None:
    measure("plain")  # Warm-up: imports TensorFlow and traces the Keras functions once.
    plain, page, first_points = [], [], []
    for repetition in range(REPETITIONS):
        for variant in (("plain", "page") if repetition % 2 == 0 else ("page", "plain")):
            elapsed, first_point = measure(variant)
            (plain if variant == "plain" else page).append(elapsed)
            if variant == "page":
                first_points.append(first_point)
            print(f"repetition {repetition + 1}: {variant:5} {elapsed:6.1f} s"
                  + (f"  first chart point after {first_point:.2f} s" if variant == "page" else ""))
    plain_median, page_median = statistics.median(plain), statistics.median(page)
    print()
    print(f"SimpleRNN + LSTM + GRU, default settings: page {page_median:.1f} s, plain fit {plain_median:.1f} s "
          f"(ratio {page_median / plain_median:.2f}); target under 20 s -> {'met' if page_median < 20 else 'NOT met'}")
    print(f"first chart point: median {statistics.median(first_points):.2f} s; target under 2 s")
    print(f"RESULT recurrence_three_rnns_page_median_s={page_median:.1f}")
    print(f"RESULT recurrence_three_rnns_plain_median_s={plain_median:.1f}")
    print(f"RESULT recurrence_page_over_plain={page_median / plain_median:.2f}")
    print(f"RESULT recurrence_first_point_median_s={statistics.median(first_points):.2f}")


if __name__ == "__main__":
    main()
