"""ConvNets page: time for one press to train the default ConvNet and its matched MLP, and how fast
sections 1 and 2 redraw after a slider change.

What it measures
    Training. The page's default press (the default stack on a 16×16 canvas, 1,437 centred digits,
    20 epochs, batch 64, Adam at 5e-3) run two ways inside a real Streamlit script context
    (AppTest), in the same run and in alternating order:

    * plain   build both models and `model.fit(...)` each, nothing else;
    * page    `lib.page_glue.convnets.train_convnet_and_mlp(...)`, exactly what the page's Train button runs:
              both models through the live engine into one chart, then the translation test (shifts
              0 to 4 in eight directions on 360 digits) and the gallery's guesses at every move.

    Redraw. The page opened under AppTest with TensorFlow loaded, then one slider of sections 1–2
    moved at a time (unit row and column, the layer looked at, the number of layers, the image
    side), timing each full rerun of the page. A new value means a stack or a unit the caches have
    not seen (a model is built, a gradient is taken); the medians are printed for new values and for
    values seen before.

Targets (issue 6)
    The ConvNet and the MLP together in under 15 s on 2 cores; every chart of sections 1 and 2
    redrawn within 1 s of a slider change once TensorFlow is loaded. Nothing is asserted.

Run from the repository root:  python benchmarks/convnets_training.py   (about 3 minutes)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The app's background warm-up (lib/page_glue/warm_up.py) would load models behind the measurements.
os.environ.setdefault("RNN_PLAYGROUND_WARM_UP", "0")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402

REPETITIONS = 3


def bench_script(variant: str) -> None:
    import time

    import streamlit as st

    from lib.models.builders import compile_classifier
    from lib.models.convnets import (
        DEFAULT_CANVAS_SIDE,
        DEFAULT_SPEC,
        build_convnet,
        build_matched_mlp,
        convnet_parameter_count,
    )
    from lib.models.shifted_digits import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_CONVNET_EPOCHS,
        DEFAULT_LEARNING_RATE,
        canvas_digits,
        training_spec,
    )
    from lib.page_glue.convnets import train_convnet_and_mlp

    spec = training_spec(DEFAULT_SPEC, DEFAULT_CANVAS_SIDE)
    digits = canvas_digits(canvas_side=DEFAULT_CANVAS_SIDE)
    started = time.perf_counter()
    if variant == "plain":
        convnet = compile_classifier(build_convnet(spec), DEFAULT_LEARNING_RATE)
        mlp = compile_classifier(
            build_matched_mlp(spec.input_side, 1, convnet_parameter_count(spec)), DEFAULT_LEARNING_RATE
        )
        for model in (convnet, mlp):
            model.fit(
                digits.x_train,
                digits.y_train,
                validation_data=(digits.x_validation, digits.y_validation),
                epochs=DEFAULT_CONVNET_EPOCHS,
                batch_size=DEFAULT_BATCH_SIZE,
                verbose=0,
            )
        accuracies = {}
    else:
        runs = train_convnet_and_mlp("bench", spec, digits, DEFAULT_CONVNET_EPOCHS, st.container())
        accuracies = {
            run.results["kind"]: run.results["translation"].set_index("shift")["accuracy"].to_dict() for run in runs
        }
    st.session_state["elapsed"] = time.perf_counter() - started
    st.session_state["accuracies"] = accuracies


def measure_training(variant: str) -> tuple[float, dict]:
    app = AppTest.from_function(bench_script, kwargs={"variant": variant}, default_timeout=600).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return app.session_state["elapsed"], app.session_state["accuracies"]


def measure_redraws() -> tuple[list[float], list[float]]:
    """Seconds per rerun after one slider change: (new values, values seen before)."""
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600).run()
    app.switch_page("app_pages/convnets.py").run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)

    def slider(label: str):
        return next(s for s in app.slider if s.label == label)

    moves = [
        ("Unit column", 3),
        ("Unit row", 12),
        ("Unit column", 8),
        ("Unit row", 8),
        ("A unit of conv layer", 1),
        ("A unit of conv layer", 2),
        ("A unit of conv layer", 3),
        ("Conv layers", 5),
        ("Unit column", 2),
        ("Conv layers", 3),
        ("Image side (pixels)", 32),
        ("Unit row", 20),
        ("Image side (pixels)", 64),
        ("Image side (pixels)", 16),
    ]
    new, seen, visited = [], [], set()
    for _ in range(2):
        for label, value in moves:
            state = (label, value, slider("Conv layers").value, slider("Image side (pixels)").value)
            started = time.perf_counter()
            slider(label).set_value(value).run()
            elapsed = time.perf_counter() - started
            if app.exception:
                raise RuntimeError(app.exception[0].value)
            (seen if state in visited else new).append(elapsed)
            visited.add(state)
    return new, seen


def main() -> None:
    measure_training("plain")  # Warm-up: imports TensorFlow and traces the Keras functions once.
    plain, page, accuracies = [], [], {}
    for repetition in range(REPETITIONS):
        for variant in ("plain", "page") if repetition % 2 == 0 else ("page", "plain"):
            elapsed, measured = measure_training(variant)
            (plain if variant == "plain" else page).append(elapsed)
            accuracies = measured or accuracies
            print(f"repetition {repetition + 1}: {variant:5} {elapsed:6.1f} s")
    plain_median, page_median = statistics.median(plain), statistics.median(page)
    new, seen = measure_redraws()
    print()
    print(
        f"ConvNet + matched MLP, default settings: page {page_median:.1f} s (with the translation test), "
        f"plain fit {plain_median:.1f} s (ratio {page_median / plain_median:.2f}); "
        f"target under 15 s -> {'met' if page_median < 15 else 'NOT met'}"
    )
    for kind, by_shift in accuracies.items():
        print(
            f"  {kind:7} accuracy by shift: " + ", ".join(f"{shift}: {value:.3f}" for shift, value in by_shift.items())
        )
    print(
        f"sections 1-2 rerun after a slider change: median {statistics.median(new + seen):.2f} s "
        f"(new values {statistics.median(new):.2f} s, max {max(new):.2f} s; seen values "
        f"{statistics.median(seen):.2f} s); target under 1 s"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"RESULT convnets_press_page_median_s={page_median:.1f}")
    print(f"RESULT convnets_press_plain_median_s={plain_median:.1f}")
    print(f"RESULT convnets_page_over_plain={page_median / plain_median:.2f}")
    print(f"RESULT convnets_redraw_median_s={statistics.median(new + seen):.2f}")
    print(f"RESULT convnets_redraw_new_values_median_s={statistics.median(new):.2f}")
    print(f"RESULT convnets_redraw_new_values_max_s={max(new):.2f}")


if __name__ == "__main__":
    main()
