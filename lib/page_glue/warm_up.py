"""Warm the shared caches in the background once the server serves, so that no visitor waits for them.

The first visitor of a training page used to wait for TensorFlow's import (about 4 s of CPU, 12 s in
a browser on a busy host), and the first visitor of a translator page for its corpus and pretrained
model as well (20 s and more). These are shared read-only by every session (`st.cache_resource`), so
they can be made ahead of time: the first page view of the process, whoever's (the instructor opening
the home page before the room arrives), starts one background thread that imports TensorFlow and fills
those caches in the order of the course. The home page's script does not wait for it and never imports
TensorFlow itself; a visitor who arrives while a cache is being filled waits only for the rest of it
(Streamlit computes a cached value once and makes other callers wait for it).

Set RNN_PLAYGROUND_WARM_UP=0 to turn it off (the test suite does, so that each test measures its own
page, and so does the cold-start benchmark's "before").

The thread never holds its process at exit, nor crashes it. The warm-up thread is a daemon, and a
daemon thread is frozen where it stands when the interpreter finalizes: frozen inside h5py (reading
a `.keras` file's weights) it kept h5py's lock, and the main thread then hung in h5py's `__dealloc__`;
the process also died of SIGSEGV or SIGABRT, there or while TensorFlow's import was under way and
the exit hooks of the libraries it had imported ran (a script or AppTest run that imported the app
and ended; `streamlit run` was spared). So a second, non-daemon thread waits for the main thread to
end; the interpreter waits for it before its exit hooks and finalization. It asks the warm-up to
stop and waits for the part in progress (TensorFlow's import, the corpus, one model's load and
tracing, or its figures) to end; the warm-up checks the request between parts.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

WARM_UP_VARIABLE = "RNN_PLAYGROUND_WARM_UP"
GC_FREEZE_VARIABLE = "RNN_PLAYGROUND_GC_FREEZE"

_LOGGER = logging.getLogger("rnn_playground.warm_up")

# TensorFlow's import holds Python's interpreter lock for much of its 4 s; started at once, it
# slowed the first home page it shared the process with by a quarter to a half (benchmarks/
# cold_start.py). The first view is drawn well within this delay, and nobody reaches a training
# page's first cache much sooner.
START_DELAY_SECONDS = 3.0
# At exit, the longest wait for the part in progress to end (parts take seconds; this is a backstop).
EXIT_WAIT_SECONDS = 60.0


# Two threads importing TensorFlow at once can break it: one thread starts with `import keras`
# (which imports tensorflow), the other with `import tensorflow` (which looks for keras), each waits
# for the module the other holds, Python breaks the deadlock by handing one of them a half-built
# module, and TensorFlow fails ("Registering two gradient with name 'ReduceDataset'"). Seen here
# with the warm-up and a page; a cold server that a room opens at once could meet it between two
# sessions. So TensorFlow is imported in one place, under one lock, before any course page runs.
_TENSORFLOW_IMPORT = threading.Lock()
_TENSORFLOW_READY = threading.Event()
# Set once the main thread has ended: the warm-up stops before its next part.
_STOPPING = threading.Event()


def freeze_long_lived_objects() -> None:
    """Put every object alive now out of the reach of Python's cyclic garbage collector.

    Streamlit runs a full collection (`gc.collect(2)`, `runner.postScriptGC`) after every script run
    of every session. With TensorFlow and Keras loaded the process tracks about 400,000 objects, and
    one full collection took 210-250 ms here, holding the interpreter's lock: every other session's
    training, and the server answering newcomers, stopped for it after each rerun of each session.
    TensorFlow's modules and the shared caches live as long as the process, so once they are loaded
    they are frozen (`gc.freeze()`): later collections scan only what was made since, which is what
    sessions make, so a closed session's objects are still collected as before. Objects of a session
    that was open at the moment of freezing are frozen too, and if they later become cyclic garbage
    they are never collected: a one-off of a few sessions at most, during the first minute.

    Set RNN_PLAYGROUND_GC_FREEZE=0 to turn it off (to measure without it: `python benchmarks/room.py
    --server-env RNN_PLAYGROUND_GC_FREEZE=0`).
    """
    if os.environ.get(GC_FREEZE_VARIABLE, "1") == "0":
        return
    gc.collect()
    gc.freeze()


def tensorflow_ready() -> bool:
    return _TENSORFLOW_READY.is_set()


def ensure_tensorflow() -> None:
    """Import TensorFlow and Keras once per process, one thread at a time (others wait for it)."""
    if _TENSORFLOW_READY.is_set():
        return
    with _TENSORFLOW_IMPORT:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        freeze_long_lived_objects()
        _TENSORFLOW_READY.set()


def _in_turn(*parts) -> None:
    """Run each part unless the process is exiting (see `stop_at_exit`)."""
    for part in parts:
        if _STOPPING.is_set():
            return
        part()


def _translator_caches() -> None:
    from lib.page_glue.translator_family import SHIPPED_SEQ2SEQ, default_corpus

    _in_turn(default_corpus, SHIPPED_SEQ2SEQ.translator, SHIPPED_SEQ2SEQ.evaluation)


def _attention_caches() -> None:
    from lib.page_glue.translator_family import SHIPPED_ATTENTION

    _in_turn(SHIPPED_ATTENTION.translator, SHIPPED_ATTENTION.evaluation)


def _transformer_caches() -> None:
    from lib.page_glue.translator_family import SHIPPED_TRANSFORMER

    _in_turn(SHIPPED_TRANSFORMER.translator, SHIPPED_TRANSFORMER.evaluation)


# What a first visit of each page waited for, in the order of the course (a room starts at the top).
STEPS = [
    ("TensorFlow and Keras", ensure_tensorflow),
    ("Translator: corpus, pretrained model and its figures", _translator_caches),
    ("Attention: pretrained model and its figures", _attention_caches),
    ("Transformer: pretrained model and its figures", _transformer_caches),
]


@dataclass
class WarmUp:
    """What the background thread has done so far (read by the benchmark and the tests)."""

    started: float = field(default_factory=time.perf_counter)
    done: list[tuple[str, float]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)


def enabled() -> bool:
    return os.environ.get(WARM_UP_VARIABLE, "1") != "0"


@st.cache_resource(show_spinner=False)
def start_warm_up() -> WarmUp:
    """Start the process's one warm-up thread (cached: later calls return the same record at once)."""
    state = WarmUp()
    warm_up = threading.Thread(target=_warm, args=(state,), name="rnn-playground-warm-up", daemon=True)
    warm_up.start()
    threading.Thread(target=stop_at_exit, args=(warm_up,), name="rnn-playground-warm-up-exit").start()
    return state


def stop_at_exit(warm_up: threading.Thread) -> None:
    """Once the main thread has ended, ask the warm-up to stop and wait for the part in progress to end.

    This thread is not a daemon: the interpreter waits for it (`threading._shutdown`) before running
    the exit hooks of the libraries and finalizing. The main thread counts as ended from that moment.
    """
    threading.main_thread().join()
    _STOPPING.set()
    warm_up.join(EXIT_WAIT_SECONDS)
    if warm_up.is_alive():
        _LOGGER.warning("The warm-up was still busy %.0f s after the main thread ended.", EXIT_WAIT_SECONDS)


def _warm(state: WarmUp) -> None:
    if _STOPPING.wait(START_DELAY_SECONDS):
        return
    for name, step in STEPS:
        if _STOPPING.is_set():
            _LOGGER.info("Warm-up stopped: the process is exiting.")
            return
        began = time.perf_counter()
        try:
            step()
        except Exception as error:  # A failed step only means its page fills the cache itself, as before.
            state.failed.append((name, repr(error)))
            _LOGGER.warning("Warm-up of %s failed: %r", name, error)
            continue
        if _STOPPING.is_set():  # The step stopped part-way.
            return
        state.done.append((name, time.perf_counter() - began))
        _LOGGER.info("Warm-up: %s ready in %.1f s", name, time.perf_counter() - began)
    # The corpus and the pretrained translators are as long-lived as TensorFlow's modules.
    freeze_long_lived_objects()
    _LOGGER.info("Warm-up finished in %.1f s", time.perf_counter() - state.started)
    print(
        f"RNN Playground warm-up finished in {time.perf_counter() - state.started:.1f} s "
        f"({len(state.done)} steps, {len(state.failed)} failed)",
        flush=True,
    )
    state.finished.set()
