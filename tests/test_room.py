"""A workshop room through the real app (#24), in AppTest sessions on a real SQLite store in a temporary
file: the instructor opens a room on the home page, participants join by its link and train, and the
instructor's board shows their runs; a wrong code, a missing or wrong key, a name written as HTML,
leaving, an unreachable store and the instructor's preset each do what a person in the room would see."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from lib.data.room_store import STORE_VARIABLE
from tests.page_support import APP, APPTEST_TIMEOUT, chart_data

SHARING = "app_pages/parameter_sharing.py"
BOARD = "app_pages/board.py"


@pytest.fixture
def room_store(tmp_path, monkeypatch):
    """A real SQLite store of the test's own (the app opens it from RNN_PLAYGROUND_ROOM_STORE)."""
    monkeypatch.setenv(STORE_VARIABLE, f"sqlite:///{tmp_path / 'rooms.db'}")
    return tmp_path / "rooms.db"


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def no_exception(app: AppTest) -> AppTest:
    assert not app.exception, [e.value for e in app.exception]
    return app


def open_room() -> tuple[str, str]:
    """Open a room on the home page as the instructor; return (code, instructor key) read from its links."""
    home = no_exception(AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT).run())
    no_exception(button(home, "Open a workshop room").click().run())
    participant_link, board_link = [code.value for code in home.code]
    code = parse_qs(urlsplit(participant_link).query)["room"][0]
    board = parse_qs(urlsplit(board_link).query)
    assert board["room"] == [code] and "key" not in parse_qs(urlsplit(participant_link).query)
    assert any("Keep the board's link to yourself" in w.value for w in home.warning)
    return code, board["key"][0]


def participant(code: str, page: str = SHARING) -> AppTest:
    """A participant who opened the room's link, on `page` (not joined yet)."""
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    app.query_params["room"] = code
    no_exception(app.run())
    return no_exception(app.switch_page(page).run())


def join(app: AppTest, name: str = "") -> AppTest:
    app.text_input(key="room::name").input(name)
    return no_exception(button(app, "Join the room").click().run())


def train_small(app: AppTest, hidden_units: int = 8) -> AppTest:
    """A cheap run of the Parameter sharing page's digits MLP: 50 examples, 5 epochs."""
    app.select_slider(key="training_examples").set_value(50)
    app.select_slider(key="hidden_units").set_value(hidden_units)
    app.slider(key="epochs").set_value(5)
    no_exception(app.run())
    return no_exception(button(app, "Train").click().run())


def board(code: str, key: str | None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    app.query_params["room"] = code
    if key is not None:
        app.query_params["key"] = key
    no_exception(app.run())
    return no_exception(app.switch_page(BOARD).run())


def has_run(app: AppTest, label_start: str) -> bool:
    """Whether the page's run table lists a run whose label starts so."""
    tables = [frame.value for frame in app.dataframe if "Run" in frame.value.columns]
    return any(table["Run"].str.startswith(label_start).any() for table in tables)


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def board_rows(app: AppTest) -> list[dict]:
    """The board's table of runs (participant, run label, status, final figures)."""
    frames = [frame.value for frame in app.dataframe if "Participant" in frame.value.columns]
    return frames[0].to_dict("records") if frames else []


def test_a_participants_run_reaches_the_board_and_a_name_stays_text(room_store):
    code, key = open_room()
    student = participant(code)
    assert any("never the contents of anything you upload" in m.value.lower() for m in student.markdown)
    join(student, "<b>x</b>")
    # The name is shown as plain text, never as Markdown or HTML.
    assert "Workshop room · you take part as <b>x</b>" in [t.value for t in student.text]
    assert not any("<b>x</b>" in m.value for m in student.markdown)
    train_small(student)
    assert student.query_params.get("room") == code, "the page's address (and so its share link) keeps the room"
    share_link = next(c.value for c in student.code if "training_examples=50" in c.value)
    assert f"room={code}" in share_link

    instructor = board(code, key)
    assert metric(instructor, "Participants") == "1"
    assert metric(instructor, "Runs on Parameter sharing") == "1"
    [row] = board_rows(instructor)
    assert row["Participant"] == "<b>x</b>"
    assert row["Run"].startswith("50 examples · 8 hidden units")
    assert row["Status"] == "finished"
    assert 0.0 <= row["Accuracy (validation)"] <= 1.0
    assert "<b>x</b>" in [t.value for t in instructor.text]
    curves = chart_data(instructor.get("vega_lite_chart")[0])
    validation = curves[(curves["metric"] == "accuracy") & (curves["split"] == "validation")]
    assert list(validation["epoch"]) == [1, 2, 3, 4, 5]
    assert set(curves["label"]) == {row["Run"]}, "coloured by the run's settings, not by its participant"
    assert validation["value"].iloc[-1] == pytest.approx(row["Accuracy (validation)"])


def test_two_settings_give_the_board_a_scatter_with_a_reading(room_store):
    code, key = open_room()
    for hidden_units in (8, 32):
        train_small(join(participant(code)), hidden_units)
    instructor = board(code, key)
    assert metric(instructor, "Runs on Parameter sharing") == "2"
    assert instructor.selectbox(key="board::x").value == "hidden_units"
    # As displayed: the Markdown's escapes (of a setting's name and values, which sessions wrote) removed.
    reading = next(c.value for c in instructor.caption if c.value.startswith("Across 2 finished runs"))
    reading = reading.replace("\\", "")
    rows = {row["Run"].split(" · ")[1]: row["Accuracy (validation)"] for row in board_rows(instructor)}
    best = max(rows, key=rows.get).split()[0]
    assert f"hidden_units = {best} gave the highest mean accuracy (validation)" in reading


def test_a_wrong_code_says_so_and_the_page_works_without_a_room(room_store):
    open_room()
    student = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    student.query_params["room"] = "no-such-room"
    no_exception(student.run())
    assert any("room was not found" in w.value for w in student.warning)
    no_exception(student.switch_page(SHARING).run())
    assert not [t for t in student.text_input if t.key == "room::name"], "no join box for a room that does not exist"
    train_small(student)
    assert "room" not in student.query_params
    assert has_run(student, "50 examples")


def test_the_board_needs_the_instructors_key(room_store):
    code, key = open_room()
    without_key = board(code, None)
    assert any("needs the instructor's key" in e.value for e in without_key.error)
    assert not without_key.metric
    wrong_key = board(code, key[::-1])
    assert any("not this room's instructor key" in e.value for e in wrong_key.error)
    assert not wrong_key.metric
    right = board(code, key)
    assert not right.error and metric(right, "Participants") == "0"
    assert "key" not in right.query_params, "the key leaves the address bar, which a projector shows"


def test_leaving_takes_the_participants_runs_off_the_board(room_store):
    code, key = open_room()
    student = train_small(join(participant(code), "Ada"))
    instructor = board(code, key)
    assert metric(instructor, "Runs on Parameter sharing") == "1"
    no_exception(button(student, "Leave the room").click().run())
    assert any("You left the workshop room" in i.value for i in student.info)
    assert "room" not in student.query_params
    assert not [b for b in student.button if b.label in ("Leave the room", "Join the room")]
    # The run stays on the participant's own page.
    assert has_run(student, "50 examples")
    no_exception(instructor.run())
    assert metric(instructor, "Participants") == "0"
    assert metric(instructor, "Runs on Parameter sharing") == "0"


def test_an_unreachable_store_leaves_the_page_working(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store's directory should be")
    monkeypatch.setenv(STORE_VARIABLE, f"sqlite:///{blocked / 'rooms.db'}")
    student = participant("SkXtoUSSUfbumuE8")
    assert any("cannot be reached" in i.value for i in student.info)
    train_small(student)
    assert has_run(student, "50 examples")


def test_the_instructors_preset_reaches_the_participants_page(room_store):
    code, key = open_room()
    student = join(participant(code), "Grace")
    instructor = board(code, key)
    instructor.radio(key="board::preset_source").set_value("Paste a share link")
    no_exception(instructor.run())
    instructor.text_input(key="board::preset_link").input("http://127.0.0.1:8501/parameter_sharing?hidden_units=33")
    no_exception(instructor.run())
    assert any("not sent" in c.value and "'33' is not one of" in c.value for c in instructor.caption)
    assert not [b for b in instructor.button if b.label == "Send to the room"]
    instructor.text_input(key="board::preset_link").input(
        f"http://127.0.0.1:8501/parameter_sharing?hidden_units=32&epochs=10&room={code}&key={key}"
    )
    no_exception(instructor.run())
    no_exception(button(instructor, "Send to the room").click().run())
    assert any("Sent" in s.value for s in instructor.success)

    no_exception(student.run())
    assert any("The instructor sent the room a setting" in m.value for m in student.markdown)
    link = next(c.value for c in student.code if "hidden_units=32" in c.value)
    assert "key=" not in link and f"room={code}" in link
    no_exception(button(student, "Open it here").click().run())
    assert student.select_slider(key="hidden_units").value == 32
    assert student.slider(key="epochs").value == 10
    assert not any("The instructor sent the room a setting" in m.value for m in student.markdown)


def test_a_prediction_is_tallied_on_the_board_against_what_the_run_showed(room_store):
    from lib.app.predictions import QUESTIONS

    question = QUESTIONS["parameter_sharing"]
    code, key = open_room()
    student = join(participant(code), "Ada")
    answer = question.options[0]
    next(r for r in student.radio if r.key == "prediction_choice::parameter_sharing").set_value(answer).run()
    train_small(student)
    own = next(e.value for e in [*student.success, *student.error] if "You predicted" in e.value)
    shown = next(option for option in question.options if f"**Your runs show:** {option}" in own)

    instructor = board(code, key)
    assert any(question.text in m.value for m in instructor.markdown)
    tally = next(f.value for f in instructor.dataframe if "Predicted by" in f.value.columns).set_index("Answer")
    assert list(tally.index) == list(question.options)
    assert tally.loc[answer, "Predicted by"] == 1 and tally["Predicted by"].sum() == 1
    assert tally.loc[shown, "Runs showed it"] == 1 and tally["Runs showed it"].sum() == 1
    assert tally["Predicted it and right"].sum() == int(shown == answer)


def test_the_board_thins_long_curves_but_keeps_their_last_point():
    import pandas as pd

    from lib.engine.charts import ROOM_POINTS_PER_CURVE, draw_room_curves

    class Area:
        def vega_lite_chart(self, frame, spec, **options):
            self.frame, self.spec = frame, spec

    frame = pd.DataFrame(
        [
            {"run_id": run, "label": "a", "metric": "loss", "split": "validation", "epoch": e, "value": 1 / e}
            for run in ("r1", "r2")
            for e in range(1, 401)
        ]
    )
    area = Area()
    draw_room_curves(area, frame, ["loss"])
    for run in ("r1", "r2"):
        epochs = list(area.frame.loc[area.frame["run_id"] == run, "epoch"])
        assert len(epochs) <= ROOM_POINTS_PER_CURVE + 1 and epochs[0] == 1 and epochs[-1] == 400


def test_redis_stopped_mid_room_leaves_the_page_working_and_its_run_kept(tmp_path, monkeypatch):
    from tests.redis_support import start_redis, stop_redis
    from tests.system_parts import REDIS_PART, require

    require(REDIS_PART)
    server = start_redis(tmp_path / "redis")
    try:
        monkeypatch.setenv(STORE_VARIABLE, server.url)
        code, key = open_room()
        student = join(participant(code), "Ada")
        assert metric(board(code, key), "Participants") == "1"
        stop_redis(server)
        train_small(student)
        assert has_run(student, "50 examples"), "the run trained while the store was down is on the page"
        assert any("cannot be reached just now" in c.value for c in student.caption)
        assert [b for b in student.button if b.label == "Leave the room"], "still in the room, for when it is back"
    finally:
        stop_redis(server)


def test_a_rate_limited_participant_trains_on_and_the_board_keeps_what_got_through(room_store, monkeypatch):
    import lib.data.room_store

    # One publish a minute: the run's first epoch gets through, every later publish is refused.
    monkeypatch.setattr(lib.data.room_store, "PUBLISHES_PER_MINUTE", 1)
    code, key = open_room()
    student = train_small(join(participant(code), "Ada"))
    assert has_run(student, "50 examples")
    [row] = board_rows(board(code, key))
    assert row["Participant"] == "Ada" and row["Status"] == "training", "the board has the first publish only"


def listened_training_script(stop_at_epoch: int):
    """A training in the session's own thread (no shared press), with a listener that writes down what it hears."""
    import keras
    import numpy as np
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from lib.engine.training import add_run_listener, train_live

    heard = st.session_state.setdefault("heard", [])
    add_run_listener("test", lambda page_key, run: heard.append((page_key, run.status, run.epochs_completed)))

    class StreamlitStopsTheScript(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if stop_at_epoch and epoch + 1 == stop_at_epoch:
                raise StopException()

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    if st.button("Train"):
        train_live(
            model,
            x,
            y,
            validation_data=(x, y),
            epochs=3,
            batch_size=32,
            label="run",
            page_key="listened",
            metrics=["loss", "accuracy"],
            extra_callbacks=[StreamlitStopsTheScript()],
        )


@pytest.mark.parametrize("stop_at_epoch", [0, 3])
def test_the_engine_tells_a_sessions_listeners_each_epoch_and_the_end(stop_at_epoch):
    app = AppTest.from_function(
        listened_training_script, default_timeout=APPTEST_TIMEOUT, kwargs=dict(stop_at_epoch=stop_at_epoch)
    ).run()
    app.button[0].click().run()
    heard = app.session_state["heard"]
    if stop_at_epoch:
        # Stopped as the third epoch began: two epoch ends, then the end of a stopped run.
        assert heard == [("listened", "training", 1), ("listened", "training", 2), ("listened", "stopped", 2)]
    else:
        assert heard == [("listened", "training", e) for e in (1, 2, 3)] + [("listened", "finished", 3)]
