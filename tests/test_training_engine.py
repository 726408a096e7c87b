"""The live-training engine, run inside a real Streamlit script context (AppTest).

What a participant would notice: the curve is the true per-batch loss (no saw-tooth), Stop keeps a
partial run and a usable model, runs overlay on one chart, and a full room queues in order.
"""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from lib.engine.training import TrainingSlots
from tests.page_support import APPTEST_TIMEOUT


def engine_script(stop_after_batches: int, learning_rate: float, smoothing: float, label: str):
    """A one-training app: the test drives it like a page would."""
    import keras
    import numpy as np
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from lib.engine.training import page_runs, train_live

    class StreamlitStopsTheScript(keras.callbacks.Callback):
        """What Streamlit does when the user presses Stop or moves a slider: raise at the next call."""

        def on_train_batch_end(self, batch, logs=None):
            if stop_after_batches and batch + 1 == stop_after_batches:
                raise StopException()

    generator = np.random.default_rng(0)
    # Batches of very different difficulty, in a fixed order, so the true batch losses differ a lot.
    x = generator.normal(size=(96, 4)).astype("float32")
    x[:32] *= 0.01
    x[64:] *= 5.0
    y = (x[:, 0] > 0).astype("int64")
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(1))(
        inputs
    )
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    st.session_state.setdefault(
        "expected_batch_losses",
        [float(model.evaluate(x[i : i + 32], y[i : i + 32], verbose=0)[0]) for i in range(0, 96, 32)],
    )
    if st.button("Train"):
        train_live(
            model,
            x,
            y,
            validation_data=(x, y),
            epochs=3,
            batch_size=32,
            label=label,
            page_key="engine_test",
            metrics=["loss", "accuracy"],
            smoothing=smoothing,
            shuffle=False,
            extra_callbacks=[StreamlitStopsTheScript()],
        )
    st.write(f"runs: {len(page_runs('engine_test'))}")


def new_engine_app(stop_after_batches=0, learning_rate=0.0, smoothing=0.0, label="run"):
    return AppTest.from_function(
        engine_script,
        default_timeout=APPTEST_TIMEOUT,
        kwargs=dict(
            stop_after_batches=stop_after_batches, learning_rate=learning_rate, smoothing=smoothing, label=label
        ),
    )


def runs_of(app):
    return app.session_state["training_runs::engine_test"]


def test_batch_curve_is_the_true_batch_loss_not_the_running_mean():
    app = new_engine_app().run()
    app.button[0].click().run()
    assert not app.exception
    run = runs_of(app)[0]
    assert run.status == "finished"
    losses = [row["value"] for row in run.batch_rows if row["metric"] == "loss"]
    expected = app.session_state["expected_batch_losses"]
    # A learning rate of zero keeps the weights fixed, so each batch's true loss is known exactly;
    # every epoch repeats the same three values (no saw-tooth from a running mean).
    assert losses == pytest.approx(expected * 3, rel=1e-3, abs=1e-4)
    assert max(expected) > 3 * min(expected)
    # The epoch-end training loss is the mean over the epoch, as Keras reports it.
    epoch_losses = [row["value"] for row in run.epoch_rows if row["metric"] == "loss" and row["split"] == "train"]
    assert epoch_losses == pytest.approx([sum(expected) / 3] * 3, rel=1e-3)
    assert run.epochs_completed == 3
    assert run.batches_completed == 9


def test_stop_mid_training_keeps_history_and_a_usable_model():
    app = new_engine_app(stop_after_batches=2, learning_rate=0.5).run()
    app.button[0].click().run()
    run = runs_of(app)[0]
    assert run.status == "stopped"
    assert "stopped at epoch 0.7 of 3" == run.status_text
    assert run.batches_completed == 2
    assert len([row for row in run.batch_rows if row["metric"] == "loss"]) == 2
    assert run.epoch_rows == []
    # The model learned something in two batches and still predicts.
    import numpy as np

    predictions = run.model.predict(np.ones((5, 4), dtype="float32"), verbose=0)
    assert predictions.shape == (5, 2)
    # The next rerun redraws the stopped run without training again, and the slot was given back.
    app.run()
    assert not app.exception
    assert app.markdown[-1].value == "runs: 1"
    from lib.engine.training import training_slots

    assert training_slots().running == 0


def test_a_finished_run_keeps_a_model_that_predicts_and_trains_again_without_its_traced_steps():
    app = new_engine_app(learning_rate=0.5).run()
    app.button[0].click().run()
    assert not app.exception
    model = runs_of(app)[0].model
    import numpy as np

    x = np.random.default_rng(1).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    # The engine let go of the traced train and test steps, which hold most of a small model's memory...
    assert model.train_function is None and model.test_function is None
    # ...and the model is as usable as before: it predicts, evaluates, and another fit retraces and learns.
    assert model.predict(x, verbose=0).shape == (64, 2)
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] < before


def test_training_leaves_no_graph_registered_for_the_life_of_the_process():
    """Each trained model used to register its train step in TensorFlow's process-wide gradient
    registry, so a room's server kept every model's training graph after the sessions had gone."""
    from tensorflow.python.framework import ops

    app = new_engine_app(learning_rate=0.5).run()
    app.button[0].click().run()  # the first training traces Keras's and TensorFlow's own one-time functions
    registered = len(ops._gradient_registry.list())
    for _ in range(3):
        app.button[0].click().run()
        assert not app.exception
    assert len(runs_of(app)) == 4
    assert [run.status for run in runs_of(app)] == ["finished"] * 4
    assert len(ops._gradient_registry.list()) == registered


def test_runs_overlay_on_one_chart_labelled_by_settings():
    app = new_engine_app(learning_rate=0.1, smoothing=0.8, label="first").run()
    app.button[0].click().run()
    app.button[0].click().run()
    runs = runs_of(app)
    assert [run.status for run in runs] == ["finished", "finished"]
    from lib.engine.training import runs_history

    history = runs_history(runs)
    # The same settings twice: two curves, told apart, not one curve with two runs' points.
    assert [run.label for run in runs] == ["first", "first · run 2"]
    assert set(history["run"]) == {"first", "first · run 2"}
    assert set(history["split"]) == {"train", "validation"}
    assert set(history["metric"]) == {"loss", "accuracy"}
    app.button[0].click().run()
    assert runs_of(app)[-1].label == "first · run 3"
    charts = app.get("vega_lite_chart")
    assert len(charts) == 1


def test_slots_queue_in_order_and_report_who_is_ahead():
    slots = TrainingSlots(capacity=1)
    slots.acquire()
    reports: dict[str, list[int]] = {"second": [], "third": []}
    acquired: list[str] = []

    def wait(name):
        slots.acquire(on_wait=reports[name].append, poll_seconds=0.02)
        acquired.append(name)

    second = threading.Thread(target=wait, args=("second",))
    second.start()
    time.sleep(0.2)
    third = threading.Thread(target=wait, args=("third",))
    third.start()
    time.sleep(0.2)
    assert slots.waiting == 2
    assert reports["second"][-1] == 1
    assert reports["third"][-1] == 2
    slots.release()
    second.join(timeout=5)
    assert acquired == ["second"]
    slots.release()
    third.join(timeout=5)
    assert acquired == ["second", "third"]
    assert slots.running == 1 and slots.waiting == 0


def test_a_session_that_leaves_the_queue_does_not_block_the_others():
    slots = TrainingSlots(capacity=1)
    slots.acquire()

    class Left(BaseException):
        pass

    def leave(_ahead):
        raise Left()

    with pytest.raises(Left):
        slots.acquire(on_wait=leave)
    assert slots.waiting == 0
    slots.release()
    slots.acquire()
    assert slots.running == 1


def prepared_in_turn_script(marker: str):
    """A page whose preparation is heavy: it builds its model inside `training_slot`, then trains."""
    import pathlib

    import keras
    import numpy as np
    import streamlit as st

    from lib.engine.training import train_live, training_slot

    area = st.container()
    with training_slot(area):
        pathlib.Path(marker).write_text("prepared")  # Stands for encoding the data and building the model.
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
        model.compile("sgd", "sparse_categorical_crossentropy")
        x = np.ones((8, 4), dtype="float32")
        y = np.zeros(8, dtype="int64")
        train_live(model, x, y, validation_data=(x, y), epochs=1, label="in turn", page_key="engine_test", area=area)


def test_a_queued_session_prepares_only_when_its_turn_comes(tmp_path):
    """Ten sessions pressing at once must queue, not all build their models together (which held every
    other session's page for seconds): with every slot taken, a pressed page shows its place in the
    queue and has not prepared; once a slot frees, it prepares, trains, and gives the slot back."""
    from lib.engine.training import training_slots

    slots = training_slots()
    for _ in range(slots.capacity):
        slots.acquire()
    marker = tmp_path / "prepared"
    app = AppTest.from_function(
        prepared_in_turn_script, default_timeout=APPTEST_TIMEOUT, kwargs=dict(marker=str(marker))
    )
    runner = threading.Thread(target=app.run)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while slots.waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert slots.waiting == 1 and not marker.exists()
    finally:
        for _ in range(slots.capacity):
            slots.release()
    runner.join(timeout=APPTEST_TIMEOUT)
    assert marker.exists()
    assert not app.exception
    assert runs_of(app)[0].status == "finished"
    assert slots.running == 0 and slots.waiting == 0


def dataset_script():
    """Batches of uneven sizes from a dataset (as length-bucketed sentences would be)."""
    import keras
    import numpy as np
    import streamlit as st

    from lib.engine.training import train_live

    class UnevenBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            generator = np.random.default_rng(3)
            self.batches = []
            for size, spread in ((10, 0.01), (32, 1.0), (5, 6.0)):
                x = (generator.normal(size=(size, 4)) * spread).astype("float32")
                self.batches.append((x, (x[:, 0] > 0).astype("int64")))
            self.batch_sizes = [len(batch[1]) for batch in self.batches]

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            return self.batches[index]

    dataset = UnevenBatches()
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(2))(
        inputs
    )
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    st.session_state["expected"] = [float(model.evaluate(x, y, verbose=0)) for x, y in dataset.batches]
    train_live(
        model,
        dataset,
        validation_data=dataset.batches[0],
        epochs=2,
        label="uneven",
        page_key="engine_test",
        smoothing=0.0,
    )


def test_a_dataset_of_uneven_batches_still_gives_true_batch_losses():
    app = AppTest.from_function(dataset_script, default_timeout=APPTEST_TIMEOUT).run()
    assert not app.exception
    run = runs_of(app)[0]
    losses = [row["value"] for row in run.batch_rows if row["metric"] == "loss"]
    assert losses == pytest.approx(app.session_state["expected"] * 2, rel=1e-3, abs=1e-4)
    assert run.batches_per_epoch == 3 and run.status == "finished"


def seeded_script():
    """The same model trained twice on 50 examples in batches of 16 (the last one smaller), 3 epochs: by
    `train_live(shuffle_seed=…)` and by Keras's `fit` on the `SeededBatches` that the exported train.py uses."""
    import keras
    import numpy as np
    import streamlit as st

    from lib.engine.training import seeded_batches_class, train_live

    generator = np.random.default_rng(5)
    x = generator.normal(size=(50, 4)).astype("float32")
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype("int64")

    def model():
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(4))(
            inputs
        )
        built = keras.Model(inputs, outputs)
        built.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
        return built

    history = model().fit(seeded_batches_class()(x, y, 16, 7), epochs=3, shuffle=False, verbose=0)
    st.session_state["exported"] = history.history["loss"]
    train_live(
        model(),
        x,
        y,
        validation_data=(x, y),
        epochs=3,
        batch_size=16,
        shuffle_seed=7,
        label="seeded",
        page_key="engine_test",
    )


def test_a_seeded_run_trains_on_the_batches_of_its_exported_script_in_every_epoch():
    # The engine feeds Keras the seeded order through a pipeline of its own; each epoch's loss must be the one
    # that the exported train.py (plain `fit` on SeededBatches, a new order every epoch) reports.
    app = AppTest.from_function(seeded_script, default_timeout=APPTEST_TIMEOUT).run()
    assert not app.exception
    run = runs_of(app)[0]
    losses = [row["value"] for row in run.epoch_rows if row["metric"] == "loss" and row["split"] == "train"]
    assert losses == pytest.approx(app.session_state["exported"], rel=1e-6)
    assert run.batches_per_epoch == 4 and run.status == "finished"


def snapshot_script():
    """A training with the second live view: a snapshot (here, how many batches the model has seen)
    four times per epoch, drawn beside the chart by a function that records what it was handed."""
    import keras
    import numpy as np
    import streamlit as st

    from lib.engine.training import train_live

    class CountBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            st.session_state["batches_seen"] += 1

    st.session_state["batches_seen"] = 0
    st.session_state["drawn"] = []

    def draw_snapshot(area, snapshot, run):
        st.session_state["drawn"].append((snapshot["epoch"], snapshot is run.snapshots[-1]))
        area.markdown(f"snapshot at epoch {snapshot['epoch']:.2f}: {snapshot['value']} batches")

    generator = np.random.default_rng(1)
    x = generator.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(1))(
        inputs
    )
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    # The counter runs before the recorder (metric_callbacks), so a snapshot sees the batch just done.
    train_live(
        model,
        x,
        y,
        validation_data=(x, y),
        epochs=2,
        batch_size=8,
        label="snapshots",
        page_key="engine_test",
        smoothing=0.0,
        shuffle=False,
        redraw_seconds=0.0,
        metric_callbacks=[CountBatches()],
        snapshot=lambda: st.session_state["batches_seen"],
        snapshots_per_epoch=4,
        draw_snapshot=draw_snapshot,
    )


def test_snapshots_are_taken_evenly_through_each_epoch_and_the_latest_is_drawn():
    app = AppTest.from_function(snapshot_script, default_timeout=APPTEST_TIMEOUT).run()
    assert not app.exception
    run = runs_of(app)[0]
    assert run.status == "finished" and run.batches_per_epoch == 16
    epochs = [snapshot["epoch"] for snapshot in run.snapshots]
    # One before the first batch, then every 4 of the 16 batches, the last at each epoch's end.
    assert epochs == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert epochs == sorted(set(epochs))
    # Each snapshot holds what the model had seen at that moment, not a batch earlier or later.
    assert [snapshot["value"] for snapshot in run.snapshots] == [round(epoch * 16) for epoch in epochs]
    drawn = app.session_state["drawn"]
    assert drawn and all(latest for _, latest in drawn)
    assert [epoch for epoch, _ in drawn] == sorted(epoch for epoch, _ in drawn)
    assert drawn[-1][0] == 2.0
    assert app.markdown[-1].value == "snapshot at epoch 2.00: 32 batches"


def token_accuracy_script():
    """The translator's trainer on length-bucketed batches: a masked token accuracy weights each
    batch by its real words, which differ from batch to batch by ten times and more."""
    import numpy as np
    import streamlit as st

    from lib.data.corpus import PAD_ID, Vocabulary, encode_pairs
    from lib.data.grammar import make_corpus
    from lib.engine.training import train_live
    from lib.models.seq2seq import bucketed_dataset, build_seq2seq, compile_seq2seq

    corpus = make_corpus(400, 20, seed=3)
    source = Vocabulary.from_sentences(english for english, _ in corpus.train)
    target = Vocabulary.from_sentences(french for _, french in corpus.train)
    train = encode_pairs(corpus.train, source, target)
    data = bucketed_dataset(train, 16, seed=0)
    # The real target words of each batch of the first epoch (later epochs deal the sentences afresh).
    st.session_state["tokens"] = [int((train.decoder_target[rows] != PAD_ID).sum()) for rows in data.batches]
    model = compile_seq2seq(build_seq2seq(len(source), len(target), units=16, embedding_size=8), 0.02)
    held_out = encode_pairs(corpus.test, source, target)
    train_live(
        model,
        data,
        validation_data=((held_out.encoder_input, held_out.decoder_input), held_out.decoder_target),
        epochs=1,
        label="tokens",
        page_key="engine_test",
        metrics=["loss", "token_accuracy"],
        smoothing=0.0,
    )
    st.write(f"{np.ptp(st.session_state['tokens'])}")


def test_a_token_weighted_accuracy_is_drawn_batch_by_batch_within_0_and_1_and_averages_to_the_epoch():
    app = AppTest.from_function(token_accuracy_script, default_timeout=APPTEST_TIMEOUT).run()
    assert not app.exception
    run = runs_of(app)[0]
    tokens = app.session_state["tokens"]
    assert max(tokens) > 8 * min(tokens)  # batches of very different lengths
    accuracies = [row["value"] for row in run.batch_rows if row["metric"] == "token_accuracy"]
    assert len(accuracies) == len(tokens)
    assert all(0.0 <= value <= 1.0 for value in accuracies), max(accuracies)
    # Weighted by each batch's real words, the batch values give back the epoch's figure.
    epoch = next(
        row["value"] for row in run.epoch_rows if row["metric"] == "token_accuracy" and row["split"] == "train"
    )
    assert sum(a * t for a, t in zip(accuracies, tokens)) / sum(tokens) == pytest.approx(epoch, rel=1e-4, abs=1e-5)


def test_the_train_step_is_traced_once_and_a_model_built_by_its_first_batch_still_trains():
    """Keras builds the optimizer inside the first trace of the train step, and TensorFlow then traces it a
    second time; built beforehand, the step is traced once. A model whose layers get their shapes from
    the first batch is left to Keras, and trains as before."""
    import keras
    import numpy as np

    from lib.engine.training import build_optimizer_before_tracing

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    class CountedTraces(keras.Model):
        traces = 0

        def train_step(self, data):
            CountedTraces.traces += 1
            return super().train_step(data)

    inputs = keras.Input((4,))
    model = CountedTraces(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8)(inputs)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    build_optimizer_before_tracing(model)
    assert model.optimizer.built
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert CountedTraces.traces == 1
    assert model.evaluate(x, y, verbose=0) < before

    unbuilt = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(2, activation="softmax")])
    unbuilt.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    build_optimizer_before_tracing(unbuilt)
    assert not unbuilt.optimizer.built
    unbuilt.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert unbuilt.optimizer.built and len(unbuilt.optimizer.variables) > 1
