"""One process serves every session and the background warm-up: models are built and loaded in many
threads at once. Building and loading hold one process-wide lock (lib/engine/graph_lock.py), so
every build succeeds with the right shapes however the threads interleave, training stays outside
that lock, and a process that exits while the warm-up is reading a `.keras` file exits cleanly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lib.data.corpus import Vocabulary
from lib.engine.graph_lock import GRAPH_LOCK, builds_graph
from lib.models import attention, seq2seq, transformer
from lib.models.translator_base import read_vocabularies

THREADS = 8
ROUNDS = 3
# Two sentences of English ids (0 is <pad>) and the French words fed to the decoder (<s> first).
SOURCE = np.array([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]], dtype=np.int32)
TARGET_IN = np.array([[1, 5, 6, 7], [1, 8, 9, 0]], dtype=np.int32)


def shipped_vocabularies() -> tuple[Vocabulary, Vocabulary]:
    return read_vocabularies(seq2seq.TRANSLATOR_DIRECTORY)


def probabilities(translator) -> np.ndarray:
    """The teacher-forced next-word probabilities of the two sentences: (2, 4, French words)."""
    return np.asarray(translator.model([SOURCE, TARGET_IN], training=False))


def test_the_translator_pages_models_build_and_load_in_many_threads_at_once():
    """8 threads × 3: the three pages' models built fresh with their step-by-step translators, the
    three shipped `.keras` files loaded, and a head silenced on a copy of a shared Transformer, all
    at once. Each must come out whole: every French word's probabilities, summing to one."""
    english, french = shipped_vocabularies()
    shared = transformer.load_transformer_translator()
    jobs = {
        "build seq2seq": lambda: seq2seq.Seq2SeqTranslator(
            seq2seq.build_seq2seq(len(english), len(french), "GRU", 32, 16, 1, True), english, french
        ),
        "build attention": lambda: attention.AttentionTranslator(
            attention.build_attention_seq2seq(len(english), len(french), units=32, embedding_size=16), english, french
        ),
        "build Transformer": lambda: transformer.TransformerTranslator(
            transformer.build_transformer(
                len(english), len(french), layers=1, heads=2, model_size=16, feed_forward_size=32
            ),
            english,
            french,
        ),
        "load translator": seq2seq.load_translator,
        "load attention": attention.load_attention_translator,
        "load Transformer": transformer.load_transformer_translator,
        "silence a head of the shared Transformer": lambda: transformer.with_heads_silenced(
            shared, {("encoder_1_self_attention", 0)}
        ),
    }
    kinds = list(jobs)
    start = threading.Barrier(THREADS)
    results: list[tuple[str, object]] = []

    def worker(index: int) -> None:
        start.wait()
        for round_index in range(ROUNDS):
            kind = kinds[(index + round_index) % len(kinds)]
            try:
                results.append((kind, probabilities(jobs[kind]())))
            except Exception as error:  # noqa: BLE001 - every failure is reported below, with its kind.
                results.append((kind, error))

    threads = [threading.Thread(target=worker, args=(index,), name=f"builder-{index}") for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads), "a builder never finished (a deadlock?)"

    failures = [f"{kind}: {result!r}" for kind, result in results if isinstance(result, Exception)]
    assert not failures, failures
    assert len(results) == THREADS * ROUNDS and {kind for kind, _ in results} == set(kinds)
    for kind, output in results:
        assert output.shape == (2, 4, len(french)), kind
        assert np.allclose(output.sum(axis=-1), 1.0, atol=1e-4), kind


def test_the_lock_is_reentrant_and_training_runs_outside_it():
    """A builder may call another (a translator builds its decoding models), and a model trains while
    another thread holds the lock: training sessions never wait for someone's model to load."""
    english, french = shipped_vocabularies()

    @builds_graph
    def nested():
        return seq2seq.Seq2SeqTranslator(
            seq2seq.build_seq2seq(len(english), len(french), "GRU", 8, 8, 1, False), english, french
        )

    translator = nested()  # A plain lock would block here for good.
    trainer = seq2seq.compile_seq2seq(translator.model)
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with GRAPH_LOCK:
            held.set()
            release.wait(timeout=120)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(timeout=60)
        history = trainer.fit((SOURCE, TARGET_IN), np.roll(TARGET_IN, -1, axis=1), epochs=2, verbose=0)
        # Had the training waited for the lock, it would have started only once the holder gave up.
        assert holder.is_alive(), "the training waited for the graph lock"
        assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    finally:
        release.set()
        holder.join(timeout=60)


# A script that imports the app's warm-up, starts it, waits for a moment of its loading, and ends.
EXIT_PROBE = """
import sys, time
from lib.page_glue import warm_up

moment, opened_files, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
warm_up.START_DELAY_SECONDS = 0.0
assert warm_up.enabled()
warm_up.start_warm_up()
if moment == "tensorflow":
    while "tensorflow" not in sys.modules:  # The warm-up is importing TensorFlow.
        time.sleep(0.01)
else:
    while not warm_up.tensorflow_ready():
        time.sleep(0.05)
    import h5py

    opened = []

    class Watched(h5py.File):  # Keras reads a .keras file's weights through h5py.File.
        def __init__(self, *args, **kwargs):
            opened.append(args)
            super().__init__(*args, **kwargs)

    h5py.File = Watched
    while len(opened) < opened_files:
        time.sleep(0.001)
time.sleep(delay)
print("exiting", flush=True)
"""


@pytest.mark.parametrize(
    "moment, opened_files, delay",
    [
        ("tensorflow", 0, 0.0),  # While the warm-up imports TensorFlow.
        ("weights", 1, 0.0),  # As it opens the shipped translator's weights.
        ("weights", 2, 0.05),  # While it reads the attention model's weights.
    ],
)
def test_a_script_that_imports_the_app_exits_while_the_warm_up_loads(tmp_path, moment, opened_files, delay):
    """Before, a script or AppTest run that ended while the warm-up was reading a .keras file hung in
    h5py at exit, or died of SIGSEGV or SIGABRT. It must end, and cleanly. (60 s only detects a hang:
    the exit waits for one model's load at most.)"""
    import os
    import subprocess
    import sys

    from lib.page_glue.warm_up import WARM_UP_VARIABLE
    from tests.browser_support import ROOT

    environment = {**os.environ, WARM_UP_VARIABLE: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(tmp_path / "stderr.txt", "w") as errors:
        probe = subprocess.Popen(
            [sys.executable, "-c", EXIT_PROBE, moment, str(opened_files), str(delay)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        watchdog = threading.Timer(600, probe.kill)  # Only if the probe never reaches its moment.
        watchdog.start()
        try:
            reached = probe.stdout.readline().strip() == "exiting"
            try:
                code = probe.wait(timeout=60)
            except subprocess.TimeoutExpired:
                probe.kill()
                probe.wait()
                pytest.fail(f"the process hung at exit ({moment}, {opened_files} files opened, +{delay} s)")
        finally:
            watchdog.cancel()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert reached, stderr[-3000:]
    assert code == 0, f"exit code {code}: {stderr[-3000:]}"
