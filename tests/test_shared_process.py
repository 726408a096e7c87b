"""One process serves every session: nothing may reset Keras for all of them after a rerun."""

from __future__ import annotations

import keras
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from tests.browser_support import ROOT
from tests.page_support import APPTEST_TIMEOUT


def test_a_rerun_does_not_reset_keras_for_the_process():
    before = keras.backend.get_uid("shared_process_probe")
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=APPTEST_TIMEOUT).run()
    app.run()
    assert not app.exception
    # Keras's name counters live in its global state: clear_session() would restart them at 1.
    assert keras.backend.get_uid("shared_process_probe") == before + 1
    assert script_runner._clean_problem_modules.__module__ == "lib.engine.streamlit_patches"


def test_tensorflow_is_frozen_out_of_the_collector_and_a_closed_sessions_garbage_is_still_collected():
    """Streamlit collects garbage in full after every script run; with TensorFlow's ~400,000 objects
    scanned each time, every rerun stalled every other session (lib/page_glue/warm_up.py). After the
    import they are frozen, and a cycle made later (a session's model, say) is still collected."""
    import os
    import subprocess
    import sys

    probe = (
        "import gc, weakref\n"
        "from lib.page_glue.warm_up import ensure_tensorflow\n"
        "ensure_tensorflow()\n"
        "frozen, scanned = gc.get_freeze_count(), len(gc.get_objects())\n"
        "class Node: pass\n"
        "a, b = Node(), Node(); a.other, b.other = b, a\n"
        "alive = weakref.ref(a); del a, b\n"
        "gc.collect(2)\n"
        "print(frozen, scanned, alive() is None)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    frozen, scanned, collected = completed.stdout.split()[-3:]
    assert int(frozen) > 100_000, completed.stdout
    assert int(scanned) < int(frozen) / 10, "most objects should be out of the collector's scans"
    assert collected == "True", "a cycle made after the freeze must still be collected"


def test_the_full_collection_after_a_script_run_is_spread_out_to_its_time_budget(monkeypatch):
    """Streamlit collects all garbage after every run of every session; in a room of thirty, 0.2 s each held
    every other session and the training. Right after a collection that cost 0.2 s, the next runs skip it,
    and it runs again once its cost fits the budget; a cycle is then collected as before."""
    import gc
    import weakref

    from lib.engine import streamlit_patches

    collector = streamlit_patches._CollectorWithinBudget()
    clock = [1000.0]
    monkeypatch.setattr(streamlit_patches.time, "monotonic", lambda: clock[0])
    calls = []
    monkeypatch.setattr(streamlit_patches.gc, "collect", lambda generation=2: calls.append(generation) or 0)

    def collect_taking(seconds):
        start = clock[0]
        original = streamlit_patches.gc.collect

        def slow(generation=2):
            clock[0] = start + seconds
            return original(generation)

        monkeypatch.setattr(streamlit_patches.gc, "collect", slow)
        collector.collect(2)
        monkeypatch.setattr(streamlit_patches.gc, "collect", original)

    collect_taking(0.2)
    assert calls == [2]
    clock[0] += 1.0
    collector.collect(2)
    assert calls == [2] and collector.skipped == 1
    clock[0] += 0.2 / streamlit_patches.POST_RUN_GC_TIME_BUDGET
    collector.collect(2)
    assert calls == [2, 2]
    monkeypatch.undo()

    class Node:
        pass

    first, second = Node(), Node()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    del first, second
    assert streamlit_patches._CollectorWithinBudget().collect(2) >= 0
    assert alive() is None and gc.isenabled()
