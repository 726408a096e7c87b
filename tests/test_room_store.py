"""The room's store (lib/data/room_store.py): one suite, run against both real backends, a SQLite file in
the test's own directory and a real Redis server (tests/redis_support.py). Each test is what a room
would notice: a room that expires, a wrong key that opens nothing, a stranger who cannot write, a
flood that is held back, bounds that keep a room from filling the store, and thirty-odd threads
publishing at once without losing a run."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest
import redis

from lib.data import room_store
from lib.data.room_store import (
    MAX_NAME_LENGTH,
    MAX_PARTICIPANTS,
    MAX_POINTS_PER_CURVE,
    MAX_RUNS_PER_PARTICIPANT,
    PUBLISHES_PER_MINUTE,
    STORE_VARIABLE,
    NotAllowed,
    Prediction,
    Preset,
    PublishedRun,
    RateLimited,
    RedisRoomStore,
    RoomFull,
    RoomNotFound,
    SqliteRoomStore,
    StoreUnavailable,
    open_store,
)
from tests.redis_support import start_redis, stop_redis
from tests.system_parts import REDIS_PART, require

BACKENDS = ["sqlite", "redis"]


class Clock:
    """A clock a test moves by hand (the rate limit's minute), starting at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=BACKENDS)
def make_store(request, tmp_path):
    """Make a store of the backend under test; every store made in one test shares one room space (one
    SQLite file, one Redis database), as the replicas of one deployment do."""
    made = []

    def make(clock=time.time):
        if request.param == "sqlite":
            store = SqliteRoomStore(tmp_path / "rooms.db", clock=clock)
        else:
            store = RedisRoomStore(request.getfixturevalue("redis_url"), clock=clock)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


def a_run(participant_id: str, run_id: str = "run-1", page: str = "recurrence", epochs: int = 5, **changes):
    fields = dict(
        participant_id=participant_id,
        page=page,
        run_id=run_id,
        label="GRU, T = 96",
        settings={"model": "GRU", "history": 96},
        curve={"loss": [1.0 / (epoch + 1) for epoch in range(epochs)]},
        final={"rmse": 0.125},
        status="finished",
    )
    fields.update(changes)
    return PublishedRun(**fields)


def test_a_new_room_has_an_unguessable_code_and_a_separate_instructor_key(store):
    first, second = store.create_room(), store.create_room()
    assert first.code != second.code and first.code != first.instructor_key
    # token_urlsafe: 4 characters per 3 bytes, so at least 64 random bits is at least 11 characters.
    assert min(len(first.code), len(first.instructor_key)) >= 11
    assert store.room_exists(first.code) and store.room_exists(second.code)
    assert not store.room_exists(first.instructor_key)
    assert not store.room_exists("no-such-room")
    assert not store.room_exists("")
    assert not store.room_exists("a code with spaces: and colons")


def test_an_expired_room_behaves_as_not_found(store):
    short = store.create_room(ttl_seconds=1)
    long = store.create_room()
    kept = store.join(long.code, "Ada")
    assert store.room_exists(short.code)
    deadline = time.monotonic() + 30
    while store.room_exists(short.code) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not store.room_exists(short.code)
    assert not store.is_instructor(short.code, short.instructor_key)
    with pytest.raises(RoomNotFound):
        store.join(short.code, "Late")
    with pytest.raises(RoomNotFound):
        store.participants(short.code)
    with pytest.raises(RoomNotFound):
        store.runs(short.code, "recurrence")
    # Another room, still within its time, keeps its participants.
    assert store.participants(long.code) == [kept]


def test_only_the_rooms_own_key_makes_an_instructor(store):
    room, other = store.create_room(), store.create_room()
    assert store.is_instructor(room.code, room.instructor_key)
    assert not store.is_instructor(room.code, other.instructor_key)
    assert not store.is_instructor(room.code, room.code)
    assert not store.is_instructor(room.code, "")
    assert not store.is_instructor(room.code, room.instructor_key[:-1])
    assert not store.is_instructor("no-such-room", room.instructor_key)


def test_participants_join_and_leave_with_everything_they_published(store):
    room = store.create_room()
    ada, bo = store.join(room.code, "Ada"), store.join(room.code, "Bo")
    assert ada.participant_id != bo.participant_id
    assert store.participants(room.code) == [ada, bo]
    store.publish_run(room.code, a_run(ada.participant_id))
    store.publish_run(room.code, a_run(bo.participant_id))
    store.record_prediction(room.code, Prediction(ada.participant_id, "recurrence", "Which model?", "GRU"))

    store.leave(room.code, ada.participant_id)

    assert store.participants(room.code) == [bo]
    assert [run.participant_id for run in store.runs(room.code, "recurrence")] == [bo.participant_id]
    assert store.predictions(room.code, "recurrence") == []
    # Leaving twice, or a room that is not there, is no error; a participant who left cannot publish.
    store.leave(room.code, ada.participant_id)
    store.leave("no-such-room", ada.participant_id)
    with pytest.raises(NotAllowed):
        store.publish_run(room.code, a_run(ada.participant_id))


def test_a_display_name_is_cut_and_kept_as_the_text_given(store):
    room = store.create_room()
    given = "<b>Ada</b> **Lovelace** & <script>alert(1)</script>" + "x" * 100
    joined = store.join(room.code, given)
    assert joined.name == given[:MAX_NAME_LENGTH]
    assert store.participants(room.code)[0].name == given[:MAX_NAME_LENGTH]
    assert store.join(room.code, "   ").name.strip() != ""


def test_a_full_room_refuses_one_more_until_someone_leaves(store):
    room = store.create_room()
    joined = [store.join(room.code, f"P{index}") for index in range(MAX_PARTICIPANTS)]
    with pytest.raises(RoomFull):
        store.join(room.code, "One too many")
    assert len(store.participants(room.code)) == MAX_PARTICIPANTS
    store.leave(room.code, joined[0].participant_id)
    assert store.join(room.code, "Next").name == "Next"


def test_a_participant_keeps_the_latest_runs_and_a_replaced_run_keeps_its_place(store):
    room = store.create_room()
    ada = store.join(room.code, "Ada")
    published = [f"run-{index}" for index in range(MAX_RUNS_PER_PARTICIPANT + 3)]
    for run_id in published:
        store.publish_run(room.code, a_run(ada.participant_id, run_id))
    kept = store.runs(room.code, "recurrence")
    assert [run.run_id for run in kept] == published[3:]
    # Publishing a run again (each epoch) replaces it: no new run, the newest figures.
    store.publish_run(room.code, a_run(ada.participant_id, published[3], status="training", final={"rmse": 0.5}))
    again = store.runs(room.code, "recurrence")
    assert [run.run_id for run in again] == published[3:]
    assert again[0].status == "training" and again[0].final == {"rmse": 0.5}


def test_a_long_curve_is_thinned_evenly_and_keeps_its_last_point(store):
    room = store.create_room()
    ada = store.join(room.code, "Ada")
    epochs = 3 * MAX_POINTS_PER_CURVE + 7
    curve = {"loss": [float(epoch) for epoch in range(epochs)], "val_loss": [0.5, 0.25]}
    store.publish_run(room.code, a_run(ada.participant_id, curve=curve))
    [run] = store.runs(room.code, "recurrence")
    loss = run.curve["loss"]
    assert len(loss) == MAX_POINTS_PER_CURVE
    assert loss[0] == 0.0 and loss[-1] == float(epochs - 1)
    gaps = {round(later - earlier) for earlier, later in zip(loss, loss[1:], strict=False)}
    assert gaps <= {3, 4}  # evenly spread: 3 or 4 epochs apart, never a hole
    assert run.curve["val_loss"] == [0.5, 0.25]


def test_the_board_gets_back_what_was_published_for_its_page(store):
    room = store.create_room()
    ada = store.join(room.code, "Ada")
    run = a_run(ada.participant_id, settings={"model": "LSTM", "history": 50, "seed": 7})
    store.publish_run(room.code, run)
    store.publish_run(room.code, a_run(ada.participant_id, "run-2", page="attention"))
    assert store.runs(room.code, "recurrence") == [run]
    assert [found.run_id for found in store.runs(room.code, "attention")] == ["run-2"]
    assert store.runs(room.code, "transformer") == []


def test_nobody_outside_the_room_can_publish_and_nobody_replaces_anothers_run(store):
    room, other = store.create_room(), store.create_room()
    ada, bo = store.join(room.code, "Ada"), store.join(room.code, "Bo")
    stranger = store.join(other.code, "Stranger")
    for participant_id in (stranger.participant_id, "made-up-id", room.instructor_key, ""):
        with pytest.raises(NotAllowed):
            store.publish_run(room.code, a_run(participant_id))
        with pytest.raises(NotAllowed):
            store.record_prediction(room.code, Prediction(participant_id, "recurrence", "Which model?", "GRU"))
    with pytest.raises(RoomNotFound):
        store.publish_run("no-such-room", a_run(ada.participant_id))
    # Runs are the publisher's own: Bo's run with Ada's run id stands beside hers.
    store.publish_run(room.code, a_run(ada.participant_id, final={"rmse": 0.1}))
    store.publish_run(room.code, a_run(bo.participant_id, final={"rmse": 0.9}))
    finals = {run.participant_id: run.final for run in store.runs(room.code, "recurrence")}
    assert finals == {ada.participant_id: {"rmse": 0.1}, bo.participant_id: {"rmse": 0.9}}


def test_a_flood_of_publishes_from_one_participant_is_held_back_for_the_minute(make_store):
    clock = Clock()
    store = make_store(clock)
    room = store.create_room()
    ada, bo = store.join(room.code, "Ada"), store.join(room.code, "Bo")
    for epoch in range(PUBLISHES_PER_MINUTE):
        store.publish_run(room.code, a_run(ada.participant_id, epochs=epoch + 1))
    with pytest.raises(RateLimited):
        store.publish_run(room.code, a_run(ada.participant_id, epochs=999))
    with pytest.raises(RateLimited):
        store.record_prediction(room.code, Prediction(ada.participant_id, "recurrence", "Which model?", "GRU"))
    [run] = store.runs(room.code, "recurrence")
    assert len(run.curve["loss"]) == PUBLISHES_PER_MINUTE  # the refused update did not land
    store.publish_run(room.code, a_run(bo.participant_id))  # others publish as before
    clock.now += 60
    store.publish_run(room.code, a_run(ada.participant_id, epochs=999))  # the next minute lets Ada again


def test_a_prediction_is_kept_and_then_gets_its_outcome(store):
    room = store.create_room()
    ada, bo = store.join(room.code, "Ada"), store.join(room.code, "Bo")
    question = "Which model will forecast Mackey-Glass best twelve steps ahead?"
    store.record_prediction(room.code, Prediction(ada.participant_id, "recurrence", question, "LSTM"))
    store.record_prediction(room.code, Prediction(bo.participant_id, "recurrence", question, "Window MLP"))
    store.record_prediction(room.code, Prediction(ada.participant_id, "attention", "Will it align?", "Yes"))
    assert store.predictions(room.code, "recurrence") == [
        Prediction(ada.participant_id, "recurrence", question, "LSTM"),
        Prediction(bo.participant_id, "recurrence", question, "Window MLP"),
    ]
    store.record_prediction(room.code, Prediction(ada.participant_id, "recurrence", question, "LSTM", "GRU"))
    tally = store.predictions(room.code, "recurrence")
    assert tally[0] == Prediction(ada.participant_id, "recurrence", question, "LSTM", outcome="GRU")
    assert len(tally) == 2 and tally[1].outcome is None
    assert [found.answer for found in store.predictions(room.code, "attention")] == ["Yes"]


def test_only_the_instructors_key_sends_a_preset_to_the_room(store):
    room, other = store.create_room(), store.create_room()
    assert store.preset(room.code) is None
    sent = Preset("recurrence", "model=gru&history=96")
    store.send_preset(room.code, room.instructor_key, sent)
    assert store.preset(room.code) == sent
    for wrong in (other.instructor_key, room.code, ""):
        with pytest.raises(NotAllowed):
            store.send_preset(room.code, wrong, Preset("attention", "epochs=1"))
    assert store.preset(room.code) == sent
    assert store.preset(other.code) is None
    with pytest.raises(RoomNotFound):
        store.send_preset("no-such-room", room.instructor_key, sent)


def test_twenty_participants_publishing_at_once_all_land(make_store):
    """Twenty session threads, half of them through a second store on the same room space (another
    process, another replica), each publish five runs epoch by epoch: every run is there, whole."""
    stores = [make_store(), make_store()]
    room = stores[0].create_room()
    participants = [stores[0].join(room.code, f"P{index}") for index in range(20)]
    errors = []
    start = threading.Barrier(len(participants))

    def publish(index: int) -> None:
        store = stores[index % 2]
        who = participants[index].participant_id
        try:
            start.wait()
            for run in range(5):
                for epoch in range(1, 4):
                    store.publish_run(room.code, a_run(who, f"run-{run}", epochs=epoch, final={"rmse": index}))
        except Exception as error:  # reported below, with the thread's index
            errors.append((index, repr(error)))

    threads = [threading.Thread(target=publish, args=(index,)) for index in range(len(participants))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    runs = stores[1].runs(room.code, "recurrence")
    assert len(runs) == 20 * 5
    by_participant = {}
    for run in runs:
        by_participant.setdefault(run.participant_id, []).append(run)
    for index, participant in enumerate(participants):
        mine = by_participant[participant.participant_id]
        assert sorted(run.run_id for run in mine) == [f"run-{run}" for run in range(5)]
        assert all(len(run.curve["loss"]) == 3 and run.final == {"rmse": index} for run in mine)


# --- The SQLite file ------------------------------------------------------------------------------------


def test_the_sqlite_store_keeps_its_file_in_wal_mode(tmp_path):
    path = tmp_path / "rooms.db"
    store = SqliteRoomStore(path)
    room = store.create_room()
    with sqlite3.connect(path) as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert SqliteRoomStore(path).room_exists(room.code)  # another process's store sees the room
    store.close()


def test_an_expired_room_leaves_the_sqlite_file_when_another_room_opens(tmp_path):
    clock = Clock()
    store = SqliteRoomStore(tmp_path / "rooms.db", clock=clock)
    old = store.create_room(ttl_seconds=60)
    ada = store.join(old.code, "Ada")
    store.publish_run(old.code, a_run(ada.participant_id))
    store.record_prediction(old.code, Prediction(ada.participant_id, "recurrence", "Which model?", "GRU"))
    clock.now += 61
    store.create_room()
    with sqlite3.connect(tmp_path / "rooms.db") as reader:
        left = {
            table: reader.execute(f"SELECT COUNT(*) FROM {table} WHERE code = ?", (old.code,)).fetchone()[0]
            for table in ("rooms", "participants", "runs", "predictions")
        }
    assert left == {"rooms": 0, "participants": 0, "runs": 0, "predictions": 0}
    store.close()


def test_a_corrupt_file_makes_the_store_unavailable_not_a_crash(tmp_path):
    path = tmp_path / "rooms.db"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    store = SqliteRoomStore(path)
    with pytest.raises(StoreUnavailable):
        store.create_room()
    with pytest.raises(StoreUnavailable):
        store.room_exists("some-code")


def test_an_unwritable_place_makes_the_store_unavailable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = SqliteRoomStore(blocker / "rooms.db")
    with pytest.raises(StoreUnavailable):
        store.create_room()


# --- The Redis server -----------------------------------------------------------------------------------


def test_every_key_of_a_redis_room_expires_with_the_room(redis_url):
    store = RedisRoomStore(redis_url)
    room = store.create_room(ttl_seconds=600)
    ada = store.join(room.code, "Ada")
    store.publish_run(room.code, a_run(ada.participant_id))
    store.publish_run(room.code, a_run(ada.participant_id, "run-2", page="attention"))
    store.record_prediction(room.code, Prediction(ada.participant_id, "recurrence", "Which model?", "GRU"))
    store.send_preset(room.code, room.instructor_key, Preset("recurrence", "model=gru"))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = client.keys("*")
    assert len(keys) >= 8 and all(room.code in key for key in keys)
    lives = {key: client.pttl(key) for key in keys}
    assert all(0 < life <= 600_000 for life in lives.values()), lives  # none without an expiry
    rate_keys = [key for key in keys if ":rate:" in key]
    assert rate_keys and all(lives[key] <= 120_000 for key in rate_keys)  # a minute's count lives 2 minutes
    # Leaving takes everything the participant published; only the room and its (empty) order remain.
    store.leave(room.code, ada.participant_id)
    left = {key for key in client.keys("*") if ":rate:" not in key}
    assert left == {f"rnn-playground:room:{{{room.code}}}"}
    client.close()
    store.close()


def call_without_hanging(call):
    """Run `call` in a thread; what it raised, or None. A page must never hang on the store: a call
    still running after a minute fails the test (each socket operation times out after 0.5 s)."""
    raised = []

    def run():
        try:
            call()
        except Exception as error:  # returned to the test, which says what it expected
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the store hung instead of reporting StoreUnavailable"
    return raised[0] if raised else None


def test_a_redis_server_that_stops_mid_room_makes_the_store_unavailable_and_it_recovers(tmp_path):
    require(REDIS_PART)
    server = start_redis(tmp_path / "redis")  # its own server: the session's one stays up
    try:
        store = RedisRoomStore(server.url, pause_after_failure_s=0.2)
        room = store.create_room()
        ada = store.join(room.code, "Ada")
        store.publish_run(room.code, a_run(ada.participant_id))

        # A server that stops answering (paused): each call times out instead of waiting forever.
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            for call in (
                lambda: store.publish_run(room.code, a_run(ada.participant_id, epochs=6)),
                lambda: store.runs(room.code, "recurrence"),
                lambda: store.room_exists(room.code),
            ):
                assert isinstance(call_without_hanging(call), StoreUnavailable)
                time.sleep(0.3)  # past the pause after a failure: the next call tries the server again
        finally:
            os.kill(server.process.pid, signal.SIGCONT)

        # A server that is gone: refused at once, for every operation a page makes.
        stop_redis(server)
        for call in (
            lambda: store.create_room(),
            lambda: store.join(room.code, "Bo"),
            lambda: store.publish_run(room.code, a_run(ada.participant_id)),
            lambda: store.participants(room.code),
            lambda: store.preset(room.code),
        ):
            assert isinstance(call_without_hanging(call), StoreUnavailable)

        # Back (empty: nothing was kept on disk): the same store works again without a restart of the app.
        server = start_redis(tmp_path / "redis", port=server.port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                fresh = store.create_room()
                break
            except StoreUnavailable:
                time.sleep(0.1)
        assert store.room_exists(fresh.code) and not store.room_exists(room.code)
        store.close()
    finally:
        stop_redis(server)


# --- Choosing the store ---------------------------------------------------------------------------------


def test_open_store_reads_the_url_and_the_environment(tmp_path, monkeypatch):
    named = open_store(f"sqlite://{tmp_path / 'named.db'}")
    assert isinstance(named, SqliteRoomStore) and named.path == tmp_path / "named.db"
    assert open_store(f"sqlite://{tmp_path / 'named.db'}") is named  # one store per URL per process
    monkeypatch.setenv(STORE_VARIABLE, f"sqlite://{tmp_path / 'from-env.db'}")
    from_env = open_store()
    assert from_env.path == tmp_path / "from-env.db"
    room = from_env.create_room()
    assert (tmp_path / "from-env.db").exists() and from_env.room_exists(room.code)


def test_the_default_store_is_a_file_outside_the_repository(monkeypatch):
    monkeypatch.delenv(STORE_VARIABLE, raising=False)
    default = room_store.store_for_url(room_store.default_store_url())
    assert isinstance(default, SqliteRoomStore)
    repository = room_store.__file__.rsplit("/lib/", 1)[0]
    assert not str(default.path).startswith(repository)


def test_open_store_opens_redis_from_its_url(redis_url):
    store = open_store(redis_url)
    assert isinstance(store, RedisRoomStore)
    room = store.create_room()
    assert RedisRoomStore(redis_url).is_instructor(room.code, room.instructor_key)


@pytest.mark.parametrize("url", ["postgres://db/rooms", "rooms.db", "sqlite://", "http://example.org/"])
def test_a_store_url_that_is_not_understood_says_what_is(url):
    with pytest.raises(ValueError, match=r"sqlite:///path/to/rooms\.db"):
        open_store(url)
