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

Printed: one line per page as it finishes, then a Markdown table for the README, then RESULT lines.

Run from the repository root:  python benchmarks/cost_per_press.py [--room 30] [--pages recurrence ...]
    (about 10 minutes on 2 cores: the three translator pages train for a minute or more each)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


def child(page_path: str) -> None:
    """In this fresh process: open the page, then time one press of its training button."""
    from streamlit.testing.v1 import AppTest

    import lib.engine.training as training

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
    cpu_started, started = time.process_time(), time.perf_counter()
    button.click().run()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    print("RESULT_JSON " + json.dumps({
        "trains": True, "label": button.label, "cpu": cpu, "wall": wall,
        "runs": [run.label for run in trained], "statuses": [run.status for run in trained],
        "fit_seconds": sum(run.seconds for run in trained), "load": [load_before, os.getloadavg()[0]],
    }))


def measure(page_path: str) -> dict:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RNN_PLAYGROUND_WARM_UP": "0"}
    completed = subprocess.run([sys.executable, __file__, "--child", page_path], env=environment,
                               capture_output=True, text=True, check=False)
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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    pages = [page for page in COURSE_PAGES if not arguments.pages or page.url_path in arguments.pages]
    load_start = os.getloadavg()
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} on "
          f"{os.cpu_count()} CPUs", flush=True)
    rows = []
    for page in pages:
        result = measure(page.path)
        if not result["trains"]:
            print(f"{page.title}: no training button", flush=True)
            continue
        finished = all(status == "finished" for status in result["statuses"])
        print(f"{page.title}: '{result['label']}' {result['cpu']:.1f} CPU s, {result['wall']:.1f} s wall "
              f"({result['cpu'] / result['wall']:.2f} cores busy), {len(result['runs'])} runs "
              f"({'all finished' if finished else result['statuses']}; {result['fit_seconds']:.1f} s in fit), "
              f"load average {result['load'][0]:.2f} -> {result['load'][1]:.2f}; runs: {result['runs']}", flush=True)
        rows.append((page, result))
    load_end = os.getloadavg()

    room = arguments.room
    print()
    print(f"| Page | What the default press trains | CPU seconds per press | Wall seconds alone | "
          f"A room of {room}, one press each | Minutes on {CORES[0]} cores | Minutes on {CORES[1]} cores |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for page, result in rows:
        core_minutes = room * result["cpu"] / 60
        print(f"| {page.title} | {len(result['runs'])} model{'s' if len(result['runs']) != 1 else ''} | "
              f"{result['cpu']:.0f} | {result['wall']:.0f} | about {core_minutes:.0f} core-minutes | "
              f"{room_minutes(result['cpu'], result['wall'], room, CORES[0]):.0f} | "
              f"{room_minutes(result['cpu'], result['wall'], room, CORES[1]):.0f} |")
    total = sum(result["cpu"] for _, result in rows)
    print(f"| Every page once | | {total:.0f} | | about {room * total / 60:.0f} core-minutes | "
          f"{room * total / CORES[0] / 60:.0f} | {room * total / CORES[1] / 60:.0f} |")
    print()
    print(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    for page, result in rows:
        print(f"RESULT cost_{page.url_path}_cpu_s={result['cpu']:.1f} wall_s={result['wall']:.1f} "
              f"room{room}_core_minutes={room * result['cpu'] / 60:.1f}")
    print(f"RESULT load_average start={load_start[0]:.2f} end={load_end[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
