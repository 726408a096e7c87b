"""Stop Streamlit from resetting Keras for the whole process after every script run.

Streamlit's script runner calls Keras's `clear_session` when any script run ends (its
private `_clean_problem_modules`), in every session. In this app one process serves a whole
workshop: that call resets Keras's global state and TensorFlow's default graph while other
sessions are training, and its full garbage collection holds the interpreter for 0.2–0.3 s on
every rerun of every page (benchmarks/rerun_latency.py measures it). Sessions here keep their own
models in `st.session_state`, so there is nothing for that reset to clean.
"""

from __future__ import annotations

import sys

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
