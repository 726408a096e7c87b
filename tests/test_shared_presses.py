"""Identical presses train once (lib/engine/shared_presses.py and the engine's `watch_press`).

What a room would notice: thirty identical presses cost one training, every session gets its own copy
of the run, a different seed or setting trains its own, one participant's Stop leaves the others
training, and a press of settings already trained is served at once and says so.
"""

from __future__ import annotations

import threading
import time

from streamlit.testing.v1 import AppTest

from lib.engine.shared_presses import FINISHED, STOPPED, PressRegistry, press_key
from tests.browser_support import ROOT
from tests.page_support import APPTEST_TIMEOUT

# --- The registry alone: who trains, who joins, who stops ----------------------------------------


class FakeTraining:
    """A training that counts its batches until told to stop or finish: the registry's view of a press."""

    def __init__(self, batches: int = 10_000):
        self.batches = batches
        self.started = threading.Event()
        self.finish = threading.Event()
        self.calls = 0

    def __call__(self, job):
        self.calls += 1
        self.started.set()
        for _ in range(self.batches):
            job.check_stop()
            if self.finish.is_set():
                return
            time.sleep(0.01)


def test_identical_presses_share_one_training_and_different_ones_do_not():
    registry = PressRegistry()
    training = FakeTraining()
    first, how_first = registry.join_or_start("key-a", "page", "session-1", training)
    second, how_second = registry.join_or_start("key-a", "page", "session-2", training)
    other, how_other = registry.join_or_start("key-b", "page", "session-3", FakeTraining(batches=5))
    assert (how_first, how_second, how_other) == ("started", "joined", "started")
    assert second is first and other is not first
    assert first.watchers == 2 and first.session_count == 2
    training.finish.set()
    assert first.ended.wait(10) and other.ended.wait(10)
    assert training.calls == 1
    assert first.status == FINISHED


def test_one_watcher_leaving_keeps_the_training_for_the_other_and_the_last_one_stops_it():
    registry = PressRegistry()
    training = FakeTraining()
    job, _ = registry.join_or_start("key", "page", "session-1", training)
    registry.join_or_start("key", "page", "session-2", training)
    assert training.started.wait(10)
    assert registry.detach(job) is False
    time.sleep(0.2)
    assert not job.ended.is_set() and not job.stop_requested.is_set()
    assert registry.detach(job) is True
    assert job.ended.wait(10)
    assert job.status == STOPPED
    # A stopped press is not served to the next one: it trains afresh.
    again, how = registry.join_or_start("key", "page", "session-3", FakeTraining(batches=1))
    assert how == "started" and again is not job


def test_finished_presses_are_served_least_recently_used_first_out():
    registry = PressRegistry(max_cached=2)
    for key in ("a", "b"):
        job, _ = registry.join_or_start(key, "page", "s", FakeTraining(batches=1))
        assert job.ended.wait(10)
    assert registry.join_or_start("a", "page", "s", FakeTraining())[1] == "cached"  # "a" is now the newest
    job, _ = registry.join_or_start("c", "page", "s", FakeTraining(batches=1))
    assert job.ended.wait(10)
    assert registry.stats()["cached"] == 2
    assert registry.join_or_start("a", "page", "s", FakeTraining(batches=1))[1] == "cached"
    third, how = registry.join_or_start("b", "page", "s", FakeTraining(batches=1))
    assert how == "started"  # "b" was the least recently used, and left
    third.ended.wait(10)


def test_the_cache_keeps_within_its_memory_cap():
    class Model:
        def count_params(self):
            return 1_000_000  # 4 MB of weights

    class Run:
        model = Model()

    def trains_a_model(job):
        job.runs.append(Run())

    registry = PressRegistry(max_cached=10, max_bytes=10_000_000)
    for key in "abc":
        job, _ = registry.join_or_start(key, "page", "s", trains_a_model)
        assert job.ended.wait(10)
        assert job.memory_bytes == 4_000_000
    stats = registry.stats()
    assert stats["cached"] == 2 and stats["cached_bytes"] == 8_000_000


def test_a_private_press_never_joins_nor_serves():
    registry = PressRegistry()
    training = FakeTraining()
    shared, _ = registry.join_or_start("key", "page", "s1", training)
    mine, how = registry.join_or_start("key", "page", "s2", FakeTraining(batches=1), private=True)
    assert how == "started" and mine is not shared
    training.finish.set()
    shared.ended.wait(10)


def test_the_key_changes_with_every_setting_and_the_seed():
    base = {"units": 256, "epochs": 2, "seed": 0, "corpus": "grammar"}
    keys = {
        press_key("attention", base),
        press_key("translator", base),
        press_key("attention", {**base, "seed": 1}),
        press_key("attention", {**base, "units": 128}),
        press_key("attention", {**base, "corpus": "upload:ab12"}),
    }
    assert len(keys) == 5
    assert press_key("attention", dict(reversed(list(base.items())))) == press_key("attention", base)


# --- The engine on a real page: two sessions, one training ------------------------------------------

PAGE = str(ROOT / "app_pages" / "parameter_sharing.py")
RUNS = "training_runs::parameter_sharing"


def sharing_page(**settings) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=APPTEST_TIMEOUT)
    # All 1,437 digits for 150 epochs: a training long enough (tens of seconds) for a second press to join.
    app.query_params.update({"training_examples": "1437", "epochs": "150", **settings})
    return app.run()


def press_train(app: AppTest, label: str = "Train") -> None:
    next(button for button in app.button if button.label == label).click().run()


def wait_for_running_press(timeout: float = 60.0) -> None:
    from lib.engine.training import press_registry

    deadline = time.monotonic() + timeout
    while press_registry().stats()["running"] == 0:
        assert time.monotonic() < deadline, "the first press never started training"
        time.sleep(0.05)


def test_two_sessions_pressing_the_same_settings_get_one_training_and_a_third_is_served():
    first, second, other_seed = sharing_page(), sharing_page(), sharing_page(seed="7")
    presses = [threading.Thread(target=press_train, args=(first,))]
    presses[0].start()
    wait_for_running_press()
    presses += [threading.Thread(target=press_train, args=(app,)) for app in (second, other_seed)]
    for press in presses[1:]:
        press.start()
    for press in presses:
        press.join(timeout=2 * APPTEST_TIMEOUT)
    for app in (first, second, other_seed):
        assert not app.exception
    (mine,), (theirs,), (own,) = (app.session_state[RUNS] for app in (first, second, other_seed))
    # One training for the two identical presses: the same job, each with a whole copy and the model.
    assert mine.job is theirs.job and own.job is not mine.job
    assert mine.status == theirs.status == own.status == "finished"
    assert mine.status_text == "finished · trained once for 2 sessions"
    assert own.status_text == "finished" and own.label.endswith("· seed 7")
    assert mine.batch_rows == theirs.batch_rows and mine.batches_completed == 150 * own.batches_per_epoch
    assert mine.model is theirs.model is not None
    assert any("trained once for 2 sessions" in caption.value for caption in second.caption)

    # A newcomer pressing the same settings now is served the finished run at once, and may train their own.
    newcomer = sharing_page()
    press_train(newcomer)
    (served,) = newcomer.session_state[RUNS]
    assert served.job is mine.job and served.status_text.startswith("finished · trained at ")
    assert served.batch_rows == mine.batch_rows
    newcomer.run()
    assert any("Train my own" == button.label for button in newcomer.button)
    assert any("trained at" in info.value and "another session" in info.value for info in newcomer.info)
    press_train(newcomer, "Train my own")
    assert not newcomer.exception
    mine_now = newcomer.session_state[RUNS][-1]
    assert mine_now.job is not served.job and mine_now.served == "joined"
    assert mine_now.status_text == "finished" and mine_now.label.endswith("· run 2")


def test_two_sessions_of_a_translator_page_share_the_training_and_its_measurement():
    """The translator pages prepare inside their training slot and measure the model after training: in a
    shared press both happen once, in the worker, and each session gets the measured translator."""

    def translator_page() -> AppTest:
        app = AppTest.from_file(str(ROOT / "app_pages" / "translator.py"), default_timeout=APPTEST_TIMEOUT)
        app.query_params.update({"training_pairs": "3000", "epochs": "2", "units": "64"})
        return app.run()

    first, second = translator_page(), translator_page()
    presses = [threading.Thread(target=press_train, args=(first, "Train from scratch"))]
    presses[0].start()
    wait_for_running_press(timeout=APPTEST_TIMEOUT)
    presses.append(threading.Thread(target=press_train, args=(second, "Train from scratch")))
    presses[1].start()
    for press in presses:
        press.join(timeout=2 * APPTEST_TIMEOUT)
    for app in (first, second):
        assert not app.exception
    (mine,), (theirs,) = (app.session_state["training_runs::translator"] for app in (first, second))
    assert mine.job is theirs.job and mine.status_text == "finished · trained once for 2 sessions"
    # One measurement, on the held-out sentences, handed to both: the same translator and the same figures.
    assert mine.model is theirs.model and type(mine.model).__name__ == "Seq2SeqTranslator"
    assert mine.results["bleu"] == theirs.results["bleu"] and "teacher_forced_accuracy" in mine.results
    assert mine.results is not theirs.results  # each session's own copy of the figures
