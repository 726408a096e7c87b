"""Stop Streamlit from resetting Keras for the whole process after every script run, and from collecting
all garbage after every run of every session.

Streamlit's script runner calls Keras's `clear_session` when any script run ends (its
private `_clean_problem_modules`), in every session. In this app one process serves a whole
workshop: that call resets Keras's global state and TensorFlow's default graph while other
sessions are training, and its full garbage collection holds the interpreter for 0.2–0.3 s on
every rerun of every page (benchmarks/rerun_latency.py measures it). Sessions here keep their own
models in `st.session_state`, so there is nothing for that reset to clean.
"""

from __future__ import annotations

import gc
import sys
import threading
import time

from streamlit.runtime.scriptrunner import script_runner


def _close_matplotlib_figures_only() -> None:
    """Streamlit's clean-up without the Keras reset: it still closes matplotlib's global figures."""
    if "matplotlib.pyplot" in sys.modules:
        try:
            sys.modules["matplotlib.pyplot"].close("all")
        except Exception:  # noqa: BLE001 - a failed close must never stop the app, as in Streamlit's own.
            pass


def keep_keras_state_between_reruns() -> None:
    """Replace the clean-up that Streamlit looks up by name after each run; safe to call every rerun."""
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError(
            "streamlit.runtime.scriptrunner.script_runner._clean_problem_modules is gone: check whether "
            "this Streamlit version still resets Keras after each run before removing this patch."
        )
    script_runner._clean_problem_modules = _close_matplotlib_figures_only


# Streamlit's script runner also runs a full garbage collection (`gc.collect(2)`, `runner.postScriptGC`)
# after every script run of every session, holding the interpreter's lock. The warm-up freezes what the
# process loads once (lib/page_glue/warm_up.py), but what sessions make since is scanned at each collection:
# the trained models and their traced graphs, kept by sessions and by the cache of shared presses. In a
# room of thirty pressing Train on the Attention page (2026-12-05, benchmarks/room.py --profile), those
# collections took 0.2 s each and 39 % of the time the server's Python held the lock, more than the
# training itself: every session runs the page twice per press. So the full collection after a script run
# may take at most this share of the process's time; runs in between skip it (Python's own automatic
# collection still runs as usual, and so does the next post-run one once its turn comes).
POST_RUN_GC_TIME_BUDGET = 0.02
POST_RUN_GC_MAX_SECONDS = 60.0


class _CollectorWithinBudget:
    """Stands in for the `gc` module in Streamlit's script runner: `collect` runs a full collection only
    when the last one's cost, spread over the time since, is within POST_RUN_GC_TIME_BUDGET (and at
    least every POST_RUN_GC_MAX_SECONDS); every other name is the `gc` module's own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_end = 0.0
        self._last_cost = 0.0
        self.skipped = 0

    def collect(self, generation: int = 2) -> int:
        now = time.monotonic()
        with self._lock:
            wait = min(self._last_cost / POST_RUN_GC_TIME_BUDGET, POST_RUN_GC_MAX_SECONDS)
            due = now - self._last_end >= wait
            if due:
                self._last_end = float("inf")  # one collection at a time: the others skip until it ends
            else:
                self.skipped += 1
        if not due:
            return 0
        try:
            return gc.collect(generation)
        finally:
            with self._lock:
                self._last_end = time.monotonic()
                self._last_cost = self._last_end - now

    def __getattr__(self, name: str):
        return getattr(gc, name)


def collect_garbage_within_budget() -> None:
    """Replace the `gc` that Streamlit's script runner calls after each run; safe to call every rerun."""
    if not isinstance(getattr(script_runner, "gc", None), (type(gc), _CollectorWithinBudget)):
        raise RuntimeError(
            "streamlit.runtime.scriptrunner.script_runner no longer imports the gc module: check whether this "
            "Streamlit version still collects garbage after each run before removing this patch."
        )
    if not isinstance(script_runner.gc, _CollectorWithinBudget):
        script_runner.gc = _CollectorWithinBudget()
