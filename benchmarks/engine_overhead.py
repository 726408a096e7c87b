"""Engine overhead: wall time of training through `lib.engine.training.train_live` against plain `model.fit`.

What it measures
    The digits demo of the Parameter-sharing page (lib.models.overfitting.build_digit_mlp on
    lib.data.digits.split_digits, batch 32, Adam, loss + accuracy) trained three ways, on the same
    architecture, data, epochs and initializer seed, with a fresh model every time:

    * plain     `model.fit(..., validation_data=..., shuffle=True, verbose=0)`;
    * recorder  the same fit plus the engine's per-batch Keras callback, with its redraw made a
                no-op (isolates the cost of per-batch logs, i.e. one device→host sync per batch);
    * engine    `train_live(...)`, the real engine: callback + status line, progress bar and
                Altair chart redrawn in place.

    All three run inside a real Streamlit script context (`AppTest.from_function`), so the engine's
    `st.altair_chart` calls really build and serialise the Vega-Lite spec, as on the server.
    Variants are interleaved in rotating order (plain/recorder/engine, then recorder/engine/plain, …)
    for several repetitions after one untimed warm-up; medians are reported, and because the host
    is shared and noisy also the ratio of the fastest runs and the median of per-repetition ratios.

    Two cases: (A) the brief's "typical" setting, all 1,437 training images, 512 hidden units,
    20 epochs; (B) the page's default setting, 100 images, 512 hidden units, 60 epochs (few batches
    per epoch, so the engine's forced redraw at every epoch end weighs more).

    It also reports how many chart redraws (`draw_runs` calls) each engine run made and their mean
    cost in the script thread; the median cost of one live redraw (`draw_runs` into an `st.empty`,
    in the script context) on the finished run's history, alone and with 3 earlier runs overlaid;
    and, for reference, the cost of the full Altair path `training_chart(...).to_dict()`.

Target
    engine / plain ≤ 1.05 (median wall time). Ratios only; nothing is asserted.

Run from the repository root:  python benchmarks/engine_overhead.py   (≈2–3 minutes on 2 cores)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402

TARGET = 1.05
CASES = [
    # name, training examples, hidden units, epochs, repetitions
    ("A_full_1437x512_20ep", 1437, 512, 20, 5),
    ("B_page_default_100x512_60ep", 100, 512, 60, 3),
]
VARIANTS = ["plain", "recorder", "engine"]


def bench_script(train_count: int, hidden_units: int, epochs: int) -> None:
    """The AppTest script: trains one model per variant, in the order held in session state."""
    import time

    import streamlit as st

    import lib.engine.training as training
    from lib.data.digits import split_digits
    from lib.models.overfitting import DEMO_BATCH_SIZE, DEMO_METRICS, build_digit_mlp

    splits = split_digits(train_count)
    if st.session_state.get("warmup"):
        epochs = 2
    order = st.session_state.get("order", ["plain", "recorder", "engine"])
    timings = {}
    cpu = {}
    redraw_stats = {"calls": 0, "seconds": 0.0}
    page_key = "bench_engine"

    original_draw_runs = training.draw_runs

    def counted_draw_runs(area, runs, metrics, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original_draw_runs(area, runs, metrics, *args, **kwargs)
        finally:
            redraw_stats["calls"] += 1
            redraw_stats["seconds"] += time.perf_counter() - start

    fit_arguments = dict(
        validation_data=(splits.x_validation, splits.y_validation),
        epochs=epochs,
        batch_size=DEMO_BATCH_SIZE,
        shuffle=True,
        verbose=0,
    )
    for variant in order:
        model = build_digit_mlp(hidden_units, seed=0)  # fresh model, same seed, built outside the timing
        cpu_start = time.process_time()
        if variant == "plain":
            start = time.perf_counter()
            model.fit(splits.x_train, splits.y_train, **fit_arguments)
            timings[variant] = time.perf_counter() - start
        elif variant == "recorder":
            run = training.TrainingRun(
                label="recorder",
                settings={},
                metrics=list(DEMO_METRICS),
                epochs_planned=epochs,
                batches_per_epoch=-(-len(splits.y_train) // DEMO_BATCH_SIZE),
            )
            start = time.perf_counter()
            count = len(splits.y_train)
            batch_sizes = [min(DEMO_BATCH_SIZE, count - start) for start in range(0, count, DEMO_BATCH_SIZE)]
            recorder = training._make_recorder(run, batch_sizes, lambda: None, training.DEFAULT_REDRAW_SECONDS, 0.8)
            model.fit(splits.x_train, splits.y_train, callbacks=[recorder], **fit_arguments)
            timings[variant] = time.perf_counter() - start
        else:
            training.clear_page_runs(page_key)  # each engine run draws only itself
            area = st.container()
            training.draw_runs = counted_draw_runs
            try:
                start = time.perf_counter()
                training.train_live(
                    model,
                    splits.x_train,
                    splits.y_train,
                    validation_data=(splits.x_validation, splits.y_validation),
                    epochs=epochs,
                    batch_size=DEMO_BATCH_SIZE,
                    label=f"{len(splits.y_train):,} examples · {hidden_units} hidden units",
                    page_key=page_key,
                    metrics=list(DEMO_METRICS),
                    area=area,
                )
                timings[variant] = time.perf_counter() - start
            finally:
                training.draw_runs = original_draw_runs
        cpu[variant] = time.process_time() - cpu_start  # all threads of the process (TF's pools too)
    st.session_state["timings"] = timings
    st.session_state["cpu"] = cpu
    st.session_state["redraws"] = dict(redraw_stats)
    if st.session_state.get("measure_redraw"):
        # One live redraw as the engine does it, in this script context, on the finished run's
        # history replayed as a run still training (so no per-run cache applies), with 0 and 3
        # earlier finished runs overlaid as on a page after a few trainings.
        import dataclasses
        import statistics

        finished = training.page_runs(page_key)[-1]
        redraw_ms = {}
        for earlier_count in (0, 3):
            earlier = [
                dataclasses.replace(finished, label=f"earlier {index}", model=None, status="finished")
                for index in range(earlier_count)
            ]
            area = st.empty()
            samples = []
            for _ in range(10):
                live = dataclasses.replace(finished, status="training", model=None)
                start = time.perf_counter()
                training.draw_runs(area, [*earlier, live], list(DEMO_METRICS))
                samples.append(time.perf_counter() - start)
            redraw_ms[earlier_count] = statistics.median(samples) * 1000
        st.session_state["redraw_ms"] = redraw_ms
    st.write("done", timings)


def redraw_breakdown(run, metrics: list[str], repeats: int = 15) -> dict[str, float]:
    """Median seconds of each step of one redraw of `run`'s chart, outside Streamlit."""
    from lib.engine.charts import training_chart

    steps = {"history_frame": [], "training_chart": [], "to_dict": [], "json": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        history = run.history_frame()  # what a live (still training) run rebuilds
        t1 = time.perf_counter()
        chart = training_chart(history, metrics)
        t2 = time.perf_counter()
        spec = chart.to_dict()
        t3 = time.perf_counter()
        json.dumps(spec)
        t4 = time.perf_counter()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            seconds_list = steps[name]
            seconds_list.append(seconds)
    result = {name: statistics.median(values) for name, values in steps.items()}
    result["rows"] = len(history)
    return result


def main() -> None:
    started = time.perf_counter()
    results: list[tuple[str, float]] = []
    rows = []
    last_runs = {}
    live_redraw_ms = {}
    for name, train_count, hidden_units, epochs, repetitions in CASES:
        app = AppTest.from_function(
            bench_script,
            kwargs=dict(train_count=train_count, hidden_units=hidden_units, epochs=epochs),
            default_timeout=600,
        )
        # Untimed warm-up: imports TensorFlow, traces nothing that is reused (fresh models), warms caches.
        app.session_state["order"] = list(VARIANTS)
        app.session_state["warmup"] = True
        app.run()
        if app.exception:
            raise RuntimeError(app.exception[0].message)
        app.session_state["warmup"] = False
        samples = {variant: [] for variant in VARIANTS}
        cpu_samples = {variant: [] for variant in VARIANTS}
        redraw_calls, redraw_seconds = [], []
        for repetition in range(repetitions):
            shift = repetition % len(VARIANTS)
            app.session_state["order"] = VARIANTS[shift:] + VARIANTS[:shift]
            app.session_state["measure_redraw"] = repetition == repetitions - 1
            app.run()
            if app.exception:
                raise RuntimeError(app.exception[0].message)
            timings = app.session_state["timings"]
            for variant in VARIANTS:
                samples[variant].append(timings[variant])
                cpu_samples[variant].append(app.session_state["cpu"][variant])
            redraw_calls.append(app.session_state["redraws"]["calls"])
            redraw_seconds.append(app.session_state["redraws"]["seconds"])
            print(
                f"  {name} rep {repetition + 1}/{repetitions}: "
                + "  ".join(f"{v}={timings[v]:.2f}s" for v in VARIANTS),
                flush=True,
            )
        last_runs[name] = app.session_state["training_runs::bench_engine"][-1]
        live_redraw_ms[name] = app.session_state["redraw_ms"]
        medians = {variant: statistics.median(samples[variant]) for variant in VARIANTS}
        minimums = {variant: min(samples[variant]) for variant in VARIANTS}
        paired = statistics.median(e / p for e, p in zip(samples["engine"], samples["plain"]))
        cpu_medians = {variant: statistics.median(cpu_samples[variant]) for variant in VARIANTS}
        calls = statistics.median(redraw_calls)
        mean_redraw = sum(redraw_seconds) / max(sum(redraw_calls), 1)
        rows.append(
            (
                name,
                repetitions,
                medians,
                calls,
                mean_redraw,
                statistics.median(redraw_seconds),
                minimums,
                paired,
                cpu_medians,
            )
        )
        results += [
            (f"{name}_plain_median_s", medians["plain"]),
            (f"{name}_recorder_median_s", medians["recorder"]),
            (f"{name}_engine_median_s", medians["engine"]),
            (f"{name}_ratio_recorder_over_plain", medians["recorder"] / medians["plain"]),
            (f"{name}_ratio_engine_over_plain", medians["engine"] / medians["plain"]),
            (f"{name}_ratio_engine_over_plain_of_minimums", minimums["engine"] / minimums["plain"]),
            (f"{name}_ratio_engine_over_plain_paired_median", paired),
            (f"{name}_cpu_ratio_engine_over_plain", cpu_medians["engine"] / cpu_medians["plain"]),
            (f"{name}_redraws_per_run", calls),
            (f"{name}_mean_redraw_ms", mean_redraw * 1000),
            (f"{name}_redraw_share_of_engine", statistics.median(redraw_seconds) / medians["engine"]),
        ]

    print()
    print(
        f"{'case':32} {'reps':>4} {'plain s':>8} {'recorder s':>10} {'engine s':>9} "
        f"{'eng/plain':>9} {'redraws':>7} {'ms/redraw':>9} {'redraw s':>8}"
    )
    for name, repetitions, medians, calls, mean_redraw, redraw_total, _, _, _ in rows:
        ratio = medians["engine"] / medians["plain"]
        print(
            f"{name:32} {repetitions:>4} {medians['plain']:>8.2f} {medians['recorder']:>10.2f} "
            f"{medians['engine']:>9.2f} {ratio:>9.3f} {calls:>7.0f} {mean_redraw * 1000:>9.1f} "
            f"{redraw_total:>8.2f}"
        )
    print()
    print("Robustness on a noisy host: ratio of the fastest runs, and median of per-repetition ratios")
    print("and the process CPU time (all threads) of each variant, median")
    print(
        f"{'case':32} {'min plain s':>11} {'min engine s':>12} {'min ratio':>9} {'paired ratio':>12} "
        f"{'CPU plain s':>11} {'CPU engine s':>12} {'CPU ratio':>9}"
    )
    for name, _, _, _, _, _, minimums, paired, cpu_medians in rows:
        print(
            f"{name:32} {minimums['plain']:>11.2f} {minimums['engine']:>12.2f} "
            f"{minimums['engine'] / minimums['plain']:>9.3f} {paired:>12.3f} "
            f"{cpu_medians['plain']:>11.2f} {cpu_medians['engine']:>12.2f} "
            f"{cpu_medians['engine'] / cpu_medians['plain']:>9.3f}"
        )
    print(f"target: engine/plain <= {TARGET}")

    print()
    print("One live redraw (draw_runs into st.empty, in the script context; median of 10, ms):")
    print(f"{'history of':32} {'rows':>6} {'this run only':>13} {'+3 earlier runs':>15}")
    for name, run in last_runs.items():
        rows_count = len(run.history_frame())
        print(f"{name:32} {rows_count:>6} {live_redraw_ms[name][0]:>13.1f} {live_redraw_ms[name][3]:>15.1f}")
        results.append((f"{name}_live_redraw_ms", live_redraw_ms[name][0]))
        results.append((f"{name}_live_redraw_with_3_earlier_runs_ms", live_redraw_ms[name][3]))

    print()
    print("Reference, outside Streamlit: the full Altair path training_chart(...).to_dict() (median ms):")
    print(f"{'history of':32} {'rows':>6} {'history_frame':>13} {'training_chart':>14} {'to_dict':>8} {'json':>6}")
    for name, run in last_runs.items():
        steps = redraw_breakdown(run, run.metrics)
        print(
            f"{name:32} {steps['rows']:>6} {steps['history_frame'] * 1e3:>13.1f} "
            f"{steps['training_chart'] * 1e3:>14.1f} {steps['to_dict'] * 1e3:>8.1f} {steps['json'] * 1e3:>6.1f}"
        )
        total = steps["training_chart"] + steps["to_dict"]
        results.append((f"{name}_altair_training_chart_to_dict_ms", total * 1000))

    print()
    for key, value in results:
        print(f"RESULT {key}={value:.3f}")
    print(f"RESULT engine_overhead_runtime_s={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
