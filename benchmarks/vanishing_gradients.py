"""Vanishing-gradients page: redraw time after a slider change, and the default press of the long-memory experiment.

What it measures
    1. Under AppTest, once TensorFlow is loaded: the page's rerun after moving a slider of
       section 1 (MLP depth) or section 2 (sequence length T, recurrent scale) to a value not seen
       before, so the gradients are really recomputed (no cache hit); median over several values.
       Baseline measured in the same run: the home page's rerun.
    2. The default press of section 3 (the SimpleRNN and the LSTM, one after another, on the fresh
       stream, at the setup and lag the shipped sweep chose, with the live gradient chart), through
       the page's own `train_memory_press`; beside it, in the same run, a plain `model.fit` of the
       same two models on the same stream, and the Recurrence page's default press (three networks,
       `benchmarks/recurrence_training.py`'s script), whose time is the target.

Targets
    Sections 1 and 2 redraw within 2 s of a slider change (issue 4); the default press comparable
    to the Recurrence page's default press (issue "the memory experiment, redone"). Nothing asserted.

Run from the repository root:  python benchmarks/vanishing_gradients.py [--press-only]   (about 3-5 minutes)
"""

from __future__ import annotations

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

PAGE = "app_pages/vanishing_gradients.py"


def timed_run(app: AppTest) -> float:
    started = time.perf_counter()
    app.run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return time.perf_counter() - started


def slider(app: AppTest, label: str):
    return next(s for s in app.slider if s.label == label)


def measure_redraws() -> dict[str, list[float]]:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    home = [timed_run(app) for _ in range(5)]
    app.switch_page(PAGE).run()  # imports TensorFlow and fills the default caches
    timings = {"home": home, "depth": [], "length": [], "scale": []}
    for depth in (12, 17, 23, 29):
        slider(app, "Depth (layers)").set_value(depth)
        timings["depth"].append(timed_run(app))
    for length in (60, 130, 170, 200):
        slider(app, "Sequence length T").set_value(length)
        timings["length"].append(timed_run(app))
    for scale in (0.85, 1.1, 1.25, 1.4):
        slider(app, "Recurrent weights' scale").set_value(scale)
        timings["scale"].append(timed_run(app))
    return timings


def press_script(variant: str) -> None:
    import time

    import streamlit as st

    from lib.models.long_memory import (
        DEFAULT_BUDGET,
        SETUPS,
        build_long_memory_model,
        fresh_sequences,
        held_out_sequences,
    )
    from lib.page_glue.vanishing import default_contrast, train_memory_press

    contrast = default_contrast()
    setup, lag = SETUPS[contrast.setup], contrast.lag
    started = time.perf_counter()
    if variant == "page":
        train_memory_press("bench", ["SimpleRNN", "LSTM"], setup, lag, False, st.container())
    else:
        for cell in ("SimpleRNN", "LSTM"):
            build_long_memory_model(cell, setup=setup).fit(
                fresh_sequences(lag, DEFAULT_BUDGET, 0),
                validation_data=held_out_sequences(lag),
                epochs=DEFAULT_BUDGET.rounds,
                shuffle=False,
                verbose=0,
            )
    st.session_state["elapsed"] = time.perf_counter() - started
    st.session_state["setting"] = f"{setup.name}, lag {lag}"


def measure_press(variant: str) -> tuple[float, str]:
    if variant == "recurrence":
        from recurrence_training import measure

        return measure("page")[0], "Recurrence default"
    app = AppTest.from_function(press_script, kwargs={"variant": variant}, default_timeout=900).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return app.session_state["elapsed"], app.session_state["setting"]


def main() -> None:
    if "--press-only" not in sys.argv:
        timings = measure_redraws()
        home = statistics.median(timings["home"])
        print(f"home page rerun (baseline): {home * 1e3:.1f} ms")
        for name, label in (
            ("depth", "section 1, MLP depth"),
            ("length", "section 2, length T"),
            ("scale", "section 2, recurrent scale"),
        ):
            median = statistics.median(timings[name])
            print(
                f"{label:32} median {median:.2f} s, worst {max(timings[name]):.2f} s (x{median / home:.0f} the home page); target < 2 s"
            )
            print(f"RESULT vanishing_{name}_rerun_median_s={median:.2f}")
            print(f"RESULT vanishing_{name}_rerun_worst_s={max(timings[name]):.2f}")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    measure_press("plain")  # Warm-up: imports TensorFlow and traces the Keras functions once.
    times: dict[str, float] = {}
    for variant in ("page", "recurrence", "plain"):
        times[variant], setting = measure_press(variant)
        print(f"{variant:10} {times[variant]:6.1f} s  ({setting})")
    page = times["page"]
    print(
        f"default press, SimpleRNN + LSTM: page {page:.1f} s; plain fit of the same {times['plain']:.1f} s "
        f"(ratio {page / times['plain']:.2f}); the Recurrence page's default press {times['recurrence']:.1f} s "
        f"(ratio {page / times['recurrence']:.2f})"
    )
    print(f"RESULT vanishing_press_page_s={page:.1f}")
    print(f"RESULT vanishing_press_over_plain={page / times['plain']:.2f}")
    print(f"RESULT vanishing_press_over_recurrence_press={page / times['recurrence']:.2f}")


if __name__ == "__main__":
    main()
