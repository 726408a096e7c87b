"""Vanishing-gradients page: redraw time after a slider change, and one live long-memory run.

What it measures
    1. Under AppTest, once TensorFlow is loaded: the page's rerun after moving a slider of
       section 1 (MLP depth) or section 2 (sequence length T, recurrent scale) to a value not seen
       before, so the gradients are really recomputed (no cache hit); median over several values.
       Baseline measured in the same run: the home page's rerun.
    2. The live single-lag run at the default lag (20) for the default cell (LSTM) and for the
       slowest (GRU), through the page's own `train_long_memory_live`, against a plain `model.fit`
       of the same model and data.

Targets (issue 4)
    Sections 1 and 2 redraw within 2 s of a slider change; a live run under 30 s. Nothing asserted.

Run from the repository root:  python benchmarks/vanishing_gradients.py   (about 3 minutes)
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


def live_script(cell: str, variant: str) -> None:
    import time

    import streamlit as st

    from lib.long_memory import DEFAULT_BUDGET, DEFAULT_LAG, build_long_memory_model, make_training_split
    from lib.vanishing import train_long_memory_live

    started = time.perf_counter()
    if variant == "page":
        train_long_memory_live("bench", cell, DEFAULT_LAG, st.container())
    else:
        data = make_training_split(DEFAULT_LAG)
        build_long_memory_model(cell).fit(
            data.x_train, data.y_train, validation_data=(data.x_validation, data.y_validation),
            epochs=DEFAULT_BUDGET.epochs, batch_size=DEFAULT_BUDGET.batch_size, verbose=0,
        )
    st.session_state["elapsed"] = time.perf_counter() - started


def measure_live(cell: str, variant: str) -> float:
    app = AppTest.from_function(live_script, kwargs={"cell": cell, "variant": variant}, default_timeout=600).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return app.session_state["elapsed"]


def main() -> None:
    timings = measure_redraws()
    home = statistics.median(timings["home"])
    print(f"home page rerun (baseline): {home * 1e3:.1f} ms")
    for name, label in (("depth", "section 1, MLP depth"), ("length", "section 2, length T"), ("scale", "section 2, recurrent scale")):
        median = statistics.median(timings[name])
        print(f"{label:32} median {median:.2f} s, worst {max(timings[name]):.2f} s (x{median / home:.0f} the home page); target < 2 s")
        print(f"RESULT vanishing_{name}_rerun_median_s={median:.2f}")
        print(f"RESULT vanishing_{name}_rerun_worst_s={max(timings[name]):.2f}")
    for cell in ("LSTM", "GRU"):
        plain = measure_live(cell, "plain")
        page = measure_live(cell, "page")
        print(f"live run, {cell} at lag 20: page {page:.1f} s, plain fit {plain:.1f} s (ratio {page / plain:.2f}); target < 30 s")
        print(f"RESULT vanishing_live_{cell.lower()}_page_s={page:.1f}")
        print(f"RESULT vanishing_live_{cell.lower()}_over_plain={page / plain:.2f}")


if __name__ == "__main__":
    main()
