"""One process serves every session: nothing may reset Keras for all of them after a rerun."""

from __future__ import annotations

import keras
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from tests.conftest import APPTEST_TIMEOUT, ROOT


def test_a_rerun_does_not_reset_keras_for_the_process():
    before = keras.backend.get_uid("shared_process_probe")
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=APPTEST_TIMEOUT).run()
    app.run()
    assert not app.exception
    # Keras's name counters live in its global state: clear_session() would restart them at 1.
    assert keras.backend.get_uid("shared_process_probe") == before + 1
    assert script_runner._clean_problem_modules.__module__ == "lib.engine.streamlit_patches"
