"""Cost per press: the CPU seconds and wall seconds of each page's default press, and what a room needs.

What it measures
    For every page of the course that trains (lib.app.course.COURSE_PAGES), in a fresh process of its
    own, under AppTest, the way a participant's first press runs on the server: the whole app
    (`streamlit_app.py`, so the navigation, the patches and the page as served), switched to the page
    and left at its defaults (that first run, which imports TensorFlow and loads the page's shipped
    models, is not counted), then the page's training button (the one before "Stop" in the engine's
    row, `lib.engine.training.training_buttons`) clicked once. Around that one rerun:

    * CPU seconds of the process (`time.process_time`: every thread, TensorFlow's pools included);
    * wall seconds, with nothing else of the app running in the process ("alone"; other jobs on the
      machine are not under this script's control: the load average is printed with each page);
    * the runs the press trained, and that each finished.

    Because the press is the page's own button with its widgets untouched, the figures follow the
    page's defaults: rerun this script after a page's defaults change and the table follows.

    A room of N participants pressing once each needs N × CPU seconds of CPU time. On c cores, if
    the cores are the limit (c trainings at once, nothing else running), that is about
    N × CPU seconds / c of wall time, and never less than one press's wall time. The server's own
    reruns and the browsers' drawing are not in it (the browsers run on the participants' machines).

    With each press, the page's own reading of it, from the runs it trained: the translator pages'
    held-out figures in `run.results` (teacher-forced and greedy token accuracy and their gap, the
    Translator's mismatch table; held-out BLEU, and on the Attention page BLEU of short and long
    sentences) and the last epoch's held-out alignment accuracy (the Attention page's live chart).

Against a baseline (`--baseline REF`, a git ref)
    The script checks REF out in a temporary `git worktree` and measures each page with REF's code
    and with the current code (the working tree) in the same run, alternating (baseline, current,
    baseline, current … with `--repeats N`), so that both see the same machine and the same load.
    It prints the CPU-seconds ratio (baseline / current, medians) per page and both readings, then
    removes the worktree. The measuring child is this file in both cases; only the code it imports
    (lib, app_pages, streamlit_app.py, data) comes from REF.

Printed: one line per page as it finishes, then a Markdown table for docs/performance.md, then RESULT lines.

Run from the repository root:  python benchmarks/cost_per_press.py [--room 30] [--pages recurrence ...]
    (about 10 minutes on 2 cores: the three translator pages train for a minute or more each)
    python benchmarks/cost_per_press.py --baseline main --pages translator attention transformer --repeats 2
    `--set MODULE.NAME=VALUE` (repeatable) overrides a constant of a page-glue module in the current
    code's children only, to measure one lever against the baseline without editing the defaults,
    e.g. `--set translator_page.SCRATCH_DEFAULT_TRAIN=12000`.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# A child measuring a baseline imports the baseline's code: its root comes in the environment.
ROOT_VARIABLE = "COST_PER_PRESS_ROOT"
HERE = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get(ROOT_VARIABLE) or HERE)
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from lib.app.course import COURSE_PAGES  # noqa: E402  (no TensorFlow: the page list only)

ROOM = 30
CORES = (2, 8)


def training_button(app):
    """The engine's Train button of the page: the button just before the engine's "Stop"."""
    buttons = list(app.button)
    for button, following in zip(buttons, buttons[1:]):
        if following.label == "Stop":
            return button
    return None


def apply_overrides(overrides: list[str]) -> None:
    """`MODULE.NAME=VALUE` of lib.page_glue (or a dotted path from the root): set before the page runs.
    The pages import their defaults at each run, so the widgets start at the overridden value."""
    for override in overrides:
        target, value = override.split("=", 1)
        module_name, name = target.rsplit(".", 1)
        if not module_name.startswith("lib."):
            module_name = f"lib.page_glue.{module_name}"
        module = importlib.import_module(module_name)
        if not hasattr(module, name):
            raise SystemExit(f"--set: {module_name} has no {name}")
        setattr(module, name, ast.literal_eval(value))


def reading(runs: list) -> dict:
    """The page's own figures of the press, from the runs it trained (the last one that has results)."""
    for run in reversed(runs):
        results = getattr(run, "results", None) or {}
        if not results:
            continue
        figures = {
            key: float(results[key])
            for key in ("teacher_forced_accuracy", "greedy_accuracy", "bleu")
            if results.get(key) is not None
        }
        if "teacher_forced_accuracy" in figures and "greedy_accuracy" in figures:
            figures["gap_points"] = 100 * (figures["teacher_forced_accuracy"] - figures["greedy_accuracy"])
        alignment = run.final("alignment_accuracy")
        if alignment is not None:
            figures["alignment_accuracy"] = float(alignment)
        by_length = results.get("by_length")
        if by_length is not None and len(by_length):
            for name, low, high in (("bleu_short", 0, 10), ("bleu_long", 21, 10_000)):
                rows = by_length[(by_length["min_words"] >= low) & (by_length["max_words"] <= high)]
                if len(rows) and rows["sentences"].sum():
                    figures[name] = float((rows["bleu"] * rows["sentences"]).sum() / rows["sentences"].sum())
        return figures
    return {}


# --- The pages before the translators: each page's own reading of its default press -----------------------
# Read from the runs' records only (`run.final`, `run.results`, `run.settings`), which the baseline's code
# keeps too, so both sides of a comparison are read the same way.


def _final_accuracy(run, split: str = "validation") -> float | None:
    value = run.final("accuracy", split)
    return None if value is None else float(value)


def sharing_reading(runs: list) -> dict:
    """Parameter sharing: the digits MLP's training and validation accuracy, and their gap (the page's
    overfitting question bands the gap at 0.05 and 0.20)."""
    for run in reversed(runs):
        train, validation = _final_accuracy(run, "train"), _final_accuracy(run)
        if train is not None and validation is not None:
            return {"train_accuracy": train, "validation_accuracy": validation, "overfit_gap": train - validation}
    return {}


def convnets_reading(runs: list) -> dict:
    """ConvNets: each model's held-out accuracy on centred digits and on digits moved by 1 pixel or more,
    and its parameters (the ConvNet should beat the MLP with fewer)."""
    figures: dict = {}
    for run in runs:
        results = getattr(run, "results", None) or {}
        kind = results.get("kind") or run.settings.get("kind")
        if kind not in ("ConvNet", "MLP"):
            continue
        prefix = "conv" if kind == "ConvNet" else "mlp"
        centred = _final_accuracy(run)
        if centred is not None:
            figures[f"{prefix}_centred"] = centred
        translation = results.get("translation")
        if translation is not None and len(translation):
            moved = translation[translation["shift"] >= 1]["accuracy"]
            if len(moved):
                figures[f"{prefix}_moved"] = float(moved.mean())
        if "parameters" in results:
            figures[f"{prefix}_parameters"] = float(results["parameters"])
    return figures


def recurrence_reading(runs: list) -> dict:
    """Recurrence: each network's test MAE on the series, and their ordering (best first)."""
    errors = {
        run.results["kind"]: float(run.results["test_mae"])
        for run in runs
        if "test_mae" in (getattr(run, "results", None) or {})
    }
    if not errors:
        return {}
    short = {"Window MLP": "mlp", "SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}
    figures: dict = {f"mae_{short.get(kind, kind)}": error for kind, error in errors.items()}
    figures["order"] = " < ".join(sorted(errors, key=errors.get))
    return figures


def vanishing_reading(runs: list) -> dict:
    """Vanishing gradients: each cell's held-out accuracy at the press's lag (0.9 or more remembers)."""
    figures: dict = {}
    for run in runs:
        cell, accuracy = run.settings.get("cell"), _final_accuracy(run)
        if cell is not None and accuracy is not None:
            figures[f"accuracy_{cell.lower()}"] = accuracy
            figures["lag"] = float(run.settings.get("lag", 0))
    return figures


LIGHT_READINGS = {
    "parameter_sharing": sharing_reading,
    "convnets": convnets_reading,
    "recurrence": recurrence_reading,
    "vanishing_gradients": vanishing_reading,
}


def light_reading(page_path: str, runs: list) -> dict:
    """The reading of a page before the translators (empty for any other page)."""
    read = LIGHT_READINGS.get(Path(page_path).stem)
    return read(runs) if read is not None else {}


def child(page_path: str, overrides: list[str] | None = None) -> None:
    """In this fresh process: open the page, then time one press of its training button."""
    from streamlit.testing.v1 import AppTest

    import lib.engine.training as training

    apply_overrides(overrides or [])

    trained: list = []
    original_remember = training._remember

    def remember(page_key, run):
        trained.append(run)
        return original_remember(page_key, run)

    training._remember = remember
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=3600).run()
    app.switch_page(page_path).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    button = training_button(app)
    if button is None:
        print("RESULT_JSON " + json.dumps({"trains": False}))
        return
    load_before = os.getloadavg()[0]
    profile_path = os.environ.get("COST_PER_PRESS_PROFILE")  # where to write a cProfile of the press
    if profile_path:  # The page runs in a thread of its own: profile the threads started from here on (wall time).
        import cProfile
        import threading

        profiles: list = []

        def start_profile(frame, event, argument):
            sys.setprofile(None)
            profiles.append(cProfile.Profile())
            profiles[-1].enable()

        threading.setprofile(start_profile)
    cpu_started, started = time.process_time(), time.perf_counter()
    button.click().run()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profile_path:
        threading.setprofile(None)
        for number, profile in enumerate(profiles):
            profile.dump_stats(f"{profile_path}.{number}")
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    print(
        "RESULT_JSON "
        + json.dumps(
            {
                "trains": True,
                "label": button.label,
                "cpu": cpu,
                "wall": wall,
                "runs": [run.label for run in trained],
                "statuses": [run.status for run in trained],
                "fit_seconds": sum(run.seconds for run in trained),
                "load": [load_before, os.getloadavg()[0]],
                "settings": {
                    key: value
                    for key, value in (trained[-1].settings if trained else {}).items()
                    if isinstance(value, (int, float, str, bool))
                },
                "reading": reading(trained) or light_reading(page_path, trained),
            }
        )
    )


def measure(page_path: str, root: Path | None = None, overrides: list[str] | None = None) -> dict:
    """One press of the page in a fresh process, with the code under `root` (default: this tree)."""
    environment = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RNN_PLAYGROUND_WARM_UP": "0",
        ROOT_VARIABLE: str(root or HERE),
    }
    command = [sys.executable, str(Path(__file__).resolve()), "--child", page_path]
    for override in overrides or []:
        command += ["--set", override]
    completed = subprocess.run(command, env=environment, cwd=root or HERE, capture_output=True, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT_JSON ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{page_path} failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT_JSON "))


def room_minutes(cpu_seconds: float, wall_seconds: float, room: int, cores: int) -> float:
    """Wall minutes for `room` presses on `cores` cores if the cores are the limit: never less than
    one press alone."""
    return max(room * cpu_seconds / cores, wall_seconds) / 60


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU seconds per default press of each page (see the docstring).")
    parser.add_argument("--room", type=int, default=ROOM, help="participants, one press each")
    parser.add_argument("--pages", nargs="*", help="url paths of the pages to measure (default: every page)")
    parser.add_argument(
        "--baseline", metavar="REF", help="a git ref: measure its code and the current code alternately"
    )
    parser.add_argument("--repeats", type=int, default=1, help="with --baseline: presses of each, per page")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="override a page-glue constant in the current code's presses (see the docstring)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.set)
        return
    if arguments.baseline:
        compare(arguments)
        return
    pages = [page for page in COURSE_PAGES if not arguments.pages or page.url_path in arguments.pages]
    load_start = os.getloadavg()
    print(
        f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    rows = []
    for page in pages:
        result = measure(page.path, overrides=arguments.set)
        if not result["trains"]:
            print(f"{page.title}: no training button", flush=True)
            continue
        finished = all(status == "finished" for status in result["statuses"])
        print(
            f"{page.title}: '{result['label']}' {result['cpu']:.1f} CPU s, {result['wall']:.1f} s wall "
            f"({result['cpu'] / result['wall']:.2f} cores busy), {len(result['runs'])} runs "
            f"({'all finished' if finished else result['statuses']}; {result['fit_seconds']:.1f} s in fit), "
            f"load average {result['load'][0]:.2f} -> {result['load'][1]:.2f}; runs: {result['runs']}; "
            f"reading: {describe(result['reading'])}",
            flush=True,
        )
        rows.append((page, result))
    load_end = os.getloadavg()

    room = arguments.room
    print()
    print(
        f"| Page | What the default press trains | CPU seconds per press | Wall seconds alone | "
        f"A room of {room}, one press each | Minutes on {CORES[0]} cores | Minutes on {CORES[1]} cores |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for page, result in rows:
        core_minutes = room * result["cpu"] / 60
        print(
            f"| {page.title} | {len(result['runs'])} model{'s' if len(result['runs']) != 1 else ''} | "
            f"{result['cpu']:.0f} | {result['wall']:.0f} | about {core_minutes:.0f} core-minutes | "
            f"{room_minutes(result['cpu'], result['wall'], room, CORES[0]):.0f} | "
            f"{room_minutes(result['cpu'], result['wall'], room, CORES[1]):.0f} |"
        )
    total = sum(result["cpu"] for _, result in rows)
    print(
        f"| Every page once | | {total:.0f} | | about {room * total / 60:.0f} core-minutes | "
        f"{room * total / CORES[0] / 60:.0f} | {room * total / CORES[1] / 60:.0f} |"
    )
    print()
    print(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    for page, result in rows:
        print(
            f"RESULT cost_{page.url_path}_cpu_s={result['cpu']:.1f} wall_s={result['wall']:.1f} "
            f"room{room}_core_minutes={room * result['cpu'] / 60:.1f}"
        )
    print(f"RESULT load_average start={load_start[0]:.2f} end={load_end[0]:.2f} (1 min)")


def describe(reading_figures: dict) -> str:
    names = {
        "teacher_forced_accuracy": "teacher-forced {:.1%}",
        "greedy_accuracy": "greedy {:.1%}",
        "gap_points": "gap {:.1f} points",
        "bleu": "BLEU {:.1f}",
        "alignment_accuracy": "alignment {:.1%}",
        "bleu_short": "BLEU ≤10 words {:.1f}",
        "bleu_long": "BLEU ≥21 words {:.1f}",
        # The pages before the translators (`light_reading`).
        "train_accuracy": "train {:.3f}",
        "validation_accuracy": "validation {:.3f}",
        "overfit_gap": "gap {:.3f}",
        "conv_centred": "ConvNet centred {:.3f}",
        "conv_moved": "moved {:.3f}",
        "conv_parameters": "({:,.0f} params)",
        "mlp_centred": "MLP centred {:.3f}",
        "mlp_moved": "moved {:.3f}",
        "mlp_parameters": "({:,.0f} params)",
        "mae_lstm": "MAE LSTM {:.4f}",
        "mae_gru": "GRU {:.4f}",
        "mae_simple_rnn": "SimpleRNN {:.4f}",
        "mae_mlp": "window MLP {:.4f}",
        "order": "order {}",
        "lag": "lag {:.0f}:",
        "accuracy_simplernn": "SimpleRNN {:.3f}",
        "accuracy_lstm": "LSTM {:.3f}",
        "accuracy_gru": "GRU {:.3f}",
    }
    return ", ".join(form.format(reading_figures[key]) for key, form in names.items() if key in reading_figures) or "-"


def compare(arguments) -> None:
    """Baseline against current, alternating, in one run; the baseline's worktree removed at the end."""
    pages = [page for page in COURSE_PAGES if not arguments.pages or page.url_path in arguments.pages]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", arguments.baseline], cwd=HERE, capture_output=True, text=True, check=True
    ).stdout.strip()
    directory = Path(tempfile.mkdtemp(prefix="cost-baseline-"))
    worktree = directory / "baseline"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree), arguments.baseline],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
    )
    load_start = os.getloadavg()
    print(
        f"baseline {arguments.baseline} ({commit}) against the working tree; load average at start: "
        f"{load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} on {os.cpu_count()} CPUs"
        + (f"; current overrides: {arguments.set}" if arguments.set else ""),
        flush=True,
    )
    rows = []
    try:
        for page in pages:
            presses: dict[str, list[dict]] = {"baseline": [], "current": []}
            for repeat in range(arguments.repeats):
                for side, root, overrides in (("baseline", worktree, []), ("current", HERE, arguments.set)):
                    result = measure(page.path, root, overrides)
                    if not result["trains"]:
                        break
                    presses[side].append(result)
                    print(
                        f"{page.title} {side} #{repeat + 1}: {result['cpu']:.1f} CPU s, {result['wall']:.1f} s wall, "
                        f"load {result['load'][0]:.2f}; {describe(result['reading'])}; "
                        f"{[run for run in result['runs']]} {result['statuses']}",
                        flush=True,
                    )
            if presses["baseline"] and presses["current"]:
                rows.append((page, presses))
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(worktree)], cwd=HERE, capture_output=True, check=False
        )
        shutil.rmtree(directory, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=HERE, capture_output=True, check=False)
    load_end = os.getloadavg()
    print()
    print("| Page | Baseline CPU s | Current CPU s | Ratio | Baseline reading | Current reading |")
    print("| --- | --- | --- | --- | --- | --- |")
    for page, presses in rows:
        before = statistics.median(result["cpu"] for result in presses["baseline"])
        after = statistics.median(result["cpu"] for result in presses["current"])
        print(
            f"| {page.title} | {before:.0f} | {after:.0f} | {before / after:.1f}× | "
            f"{describe(presses['baseline'][-1]['reading'])} | {describe(presses['current'][-1]['reading'])} |"
        )
    print()
    print(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    for page, presses in rows:
        before = statistics.median(result["cpu"] for result in presses["baseline"])
        after = statistics.median(result["cpu"] for result in presses["current"])
        print(
            f"RESULT cost_{page.url_path}_baseline_cpu_s={before:.1f} current_cpu_s={after:.1f} "
            f"ratio={before / after:.2f} baseline_reading={json.dumps(presses['baseline'][-1]['reading'])} "
            f"current_reading={json.dumps(presses['current'][-1]['reading'])}"
        )


if __name__ == "__main__":
    main()
