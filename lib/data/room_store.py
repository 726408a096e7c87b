"""The room's store: what a workshop room shares (participants, their runs' curves and final figures,
their predictions, the instructor's next preset), behind one interface with two real backends.

SQLite (the standard library's, WAL mode, one file) is the default, so one process on a laptop or on
Community Cloud needs nothing more; Redis serves replicas (`RNN_PLAYGROUND_ROOM_STORE=redis://...`),
so participants on different replicas meet on one board. `open_store` picks the backend from that URL.

A room is bounded so that it cannot fill the store: it expires (a time to live), and it holds at most
MAX_PARTICIPANTS participants, MAX_RUNS_PER_PARTICIPANT runs each (the oldest leaves first) and
MAX_POINTS_PER_CURVE points per curve (evenly thinned). A participant may publish at most
PUBLISHES_PER_MINUTE times a minute. Codes and keys are unguessable (`secrets`, at least 64 bits).
Nothing here imports Streamlit or Keras; uploads' contents are never stored, only settings, curves,
final figures and predictions.

How the backends behave alike (tests/test_room_store.py runs one suite against both):
- Every error a page should show is a RoomError; the store being unreachable or its file unusable is
  StoreUnavailable, raised quickly (Redis: 0.5 s socket timeouts, no retries), never a hang.
- Reads of a room that is gone raise RoomNotFound; `room_exists` and `is_instructor` answer False;
  `leave` is idempotent. Names are stored as given (text), only cut; a blank one becomes "Participant".
- Publishing a run and recording a prediction both count towards PUBLISHES_PER_MINUTE, and both need
  the participant id to belong to the room (NotAllowed otherwise); a run is keyed by (participant,
  run_id), a prediction by (participant, page, question), so a later write replaces, keeping its place.
- `open_store` keeps one store per URL per process, shared by every session thread; `close()` frees it.
"""

from __future__ import annotations

import abc
import hmac
import json
import math
import os
import re
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

STORE_VARIABLE = "RNN_PLAYGROUND_ROOM_STORE"

ROOM_TTL_SECONDS = 12 * 3600
MAX_PARTICIPANTS = 60
MAX_RUNS_PER_PARTICIPANT = 20
MAX_POINTS_PER_CURVE = 400
MAX_NAME_LENGTH = 40
PUBLISHES_PER_MINUTE = 120


class RoomError(Exception):
    """Base of every error a room operation reports to the page, with a message a participant can read."""


class RoomNotFound(RoomError):
    """The code names no room, or the room has expired."""


class RoomFull(RoomError):
    """The room already holds MAX_PARTICIPANTS participants."""


class NotAllowed(RoomError):
    """A wrong instructor key, or a participant writing what is not theirs."""


class RateLimited(RoomError):
    """One participant published more than PUBLISHES_PER_MINUTE times in a minute."""


class StoreUnavailable(RoomError):
    """The store cannot be reached (Redis stopped, a file that cannot be written): pages go on without the room."""


@dataclass(frozen=True)
class RoomKeys:
    """What opening a room gives the instructor: the participants' code and the instructor's own key."""

    code: str
    instructor_key: str


@dataclass(frozen=True)
class Participant:
    participant_id: str
    name: str


@dataclass(frozen=True)
class PublishedRun:
    """One participant's run as the board sees it. `curve` maps a metric name to its values per epoch
    (at most MAX_POINTS_PER_CURVE each); `final` the figures the page quotes at the end; `label` the
    settings that tell runs apart (the board colours by it, not by person)."""

    participant_id: str
    page: str
    run_id: str
    label: str
    settings: dict[str, object]
    curve: dict[str, list[float]] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    status: str = "training"


@dataclass(frozen=True)
class Prediction:
    """A participant's answer to the page's question before their first press, and, once their run has
    finished, what the run showed (the option its numbers make true; None until then)."""

    participant_id: str
    page: str
    question: str
    answer: str
    outcome: str | None = None


@dataclass(frozen=True)
class Preset:
    """The instructor's next setting, sent to the room: a page and its link's query string."""

    page: str
    query: str


class RoomStore(abc.ABC):
    """One interface, two backends (SqliteRoomStore, RedisRoomStore); both pass the same tests."""

    @abc.abstractmethod
    def create_room(self, ttl_seconds: int = ROOM_TTL_SECONDS) -> RoomKeys: ...

    @abc.abstractmethod
    def room_exists(self, code: str) -> bool: ...

    @abc.abstractmethod
    def is_instructor(self, code: str, instructor_key: str) -> bool: ...

    @abc.abstractmethod
    def join(self, code: str, name: str) -> Participant:
        """A new participant with a fresh unguessable id; the name is cut to MAX_NAME_LENGTH."""

    @abc.abstractmethod
    def leave(self, code: str, participant_id: str) -> None:
        """The participant and everything they published leave the room."""

    @abc.abstractmethod
    def participants(self, code: str) -> list[Participant]: ...

    @abc.abstractmethod
    def publish_run(self, code: str, run: PublishedRun) -> None:
        """Insert or replace the participant's run (same run_id), bounded and rate-limited."""

    @abc.abstractmethod
    def runs(self, code: str, page: str) -> list[PublishedRun]: ...

    @abc.abstractmethod
    def record_prediction(self, code: str, prediction: Prediction) -> None: ...

    @abc.abstractmethod
    def predictions(self, code: str, page: str) -> list[Prediction]: ...

    @abc.abstractmethod
    def send_preset(self, code: str, instructor_key: str, preset: Preset) -> None: ...

    @abc.abstractmethod
    def preset(self, code: str) -> Preset | None: ...


# --- What both backends share -----------------------------------------------------------------------

# Codes, keys and participant ids are `secrets.token_urlsafe` strings; anything else names no room.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CODE_BYTES = 12  # 96 random bits: the participants' code, short enough for a link
KEY_BYTES = 24  # 192 random bits: the instructor's key
PARTICIPANT_BYTES = 16
# The default store: a SQLite file in the system's directory for temporary files (not the repository,
# which may be read-only where the app is deployed). Rooms last hours, so losing the file is harmless.
DEFAULT_SQLITE_FILE = "rnn-playground-rooms.db"


def default_store_url() -> str:
    """`sqlite:///<tempfile.gettempdir()>/rnn-playground-rooms.db`: one process needs nothing more."""
    return "sqlite://" + (Path(tempfile.gettempdir()) / DEFAULT_SQLITE_FILE).as_posix()


def is_token(text: object) -> bool:
    return isinstance(text, str) and _TOKEN.fullmatch(text) is not None


def new_keys() -> RoomKeys:
    return RoomKeys(code=secrets.token_urlsafe(CODE_BYTES), instructor_key=secrets.token_urlsafe(KEY_BYTES))


def display_name(name: str) -> str:
    """The name as given (it is text: the board shows it as text, never as HTML or Markdown), without
    surrounding blanks and cut to MAX_NAME_LENGTH characters; a blank name becomes "Participant"."""
    cut = str(name).strip()[:MAX_NAME_LENGTH].strip()
    return cut or "Participant"


def thin(values: list[float], limit: int = MAX_POINTS_PER_CURVE) -> list[float]:
    """At most `limit` values, evenly spaced over the curve, its first and its last point kept."""
    values = [float(value) for value in values]
    if len(values) <= limit:
        return values
    if limit <= 1:
        return values[-1:]
    step = (len(values) - 1) / (limit - 1)
    return [values[round(index * step)] for index in range(limit)]


def bounded(run: PublishedRun) -> PublishedRun:
    curve = {str(metric): thin(list(values)) for metric, values in run.curve.items()}
    final = {str(metric): float(value) for metric, value in run.final.items()}
    return PublishedRun(
        run.participant_id, run.page, run.run_id, run.label, dict(run.settings), curve, final, run.status
    )


def run_body(run: PublishedRun) -> str:
    """What the store keeps of a run besides its keys, as JSON (settings that JSON cannot hold become text)."""
    body = {
        "label": run.label,
        "settings": run.settings,
        "curve": run.curve,
        "final": run.final,
        "status": run.status,
    }
    return json.dumps(body, default=str, allow_nan=True)


def run_from_body(participant_id: str, page: str, run_id: str, body: str) -> PublishedRun:
    fields = json.loads(body)
    return PublishedRun(
        participant_id=participant_id,
        page=page,
        run_id=run_id,
        label=fields["label"],
        settings=fields["settings"],
        curve=fields["curve"],
        final=fields["final"],
        status=fields["status"],
    )


def same_key(given: object, kept: str | None) -> bool:
    """Compare an instructor key in constant time (`hmac.compare_digest`)."""
    if not isinstance(given, str) or kept is None:
        return False
    return hmac.compare_digest(given.encode(), kept.encode())


# --- SQLite -------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    instructor_key TEXT NOT NULL,
    expires_at REAL NOT NULL,
    preset_page TEXT,
    preset_query TEXT
);
CREATE INDEX IF NOT EXISTS rooms_by_expiry ON rooms (expires_at);
CREATE TABLE IF NOT EXISTS participants (
    seq INTEGER PRIMARY KEY,
    code TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    participant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    rate_minute INTEGER NOT NULL DEFAULT 0,
    rate_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (code, participant_id)
);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    page TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (code, participant_id, run_id),
    FOREIGN KEY (code, participant_id) REFERENCES participants (code, participant_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS runs_by_page ON runs (code, page);
CREATE TABLE IF NOT EXISTS predictions (
    seq INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    page TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    outcome TEXT,
    UNIQUE (code, participant_id, page, question),
    FOREIGN KEY (code, participant_id) REFERENCES participants (code, participant_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS predictions_by_page ON predictions (code, page);
"""


class SqliteRoomStore(RoomStore):
    """The rooms in one SQLite file (WAL mode: the board reads while participants write, and several
    processes may share the file). One connection per store, behind a lock, serves every session
    thread of the process; `busy_timeout` waits for other processes' writes. Each change is one
    `BEGIN IMMEDIATE` transaction, so the bounds hold however many threads publish at once.

    `clock` gives the time in seconds (expiry and the rate limit's minute); tests may pass their own."""

    BUSY_TIMEOUT_MS = 5000

    def __init__(self, path: str | os.PathLike, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    # The connection, opened on first use (and again after a failure), so a file that was unwritable
    # or corrupt works once it is fixed, and constructing a store never fails.
    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=self.BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"the file cannot be put in WAL mode (it stays in {mode} mode)")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.executescript(_SCHEMA)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the store's lock; any SQLite or file error becomes StoreUnavailable."""
        with self._lock:
            try:
                connection = self._connect()
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield connection
                except RoomError:
                    # Raised before the operation wrote anything: what is kept is the purge of expired rooms.
                    connection.execute("COMMIT")
                    raise
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except (sqlite3.Error, OSError) as error:
                self._drop_connection()
                raise StoreUnavailable(f"The room's store cannot be used ({error}).") from error

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except sqlite3.Error:
                pass
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    def _live_room(self, connection: sqlite3.Connection, code: str, purge: bool = False) -> tuple:
        """The room's row (instructor key, expiry, preset page, preset query), or RoomNotFound; with
        `purge` (in a writing transaction) an expired room is deleted on the way, with everything in it."""
        if not is_token(code):
            raise RoomNotFound("No room has this code.")
        row = connection.execute(
            "SELECT instructor_key, expires_at, preset_page, preset_query FROM rooms WHERE code = ?", (code,)
        ).fetchone()
        if row is None:
            raise RoomNotFound("No room has this code.")
        if row[1] <= self.clock():
            if purge:
                connection.execute("DELETE FROM rooms WHERE code = ?", (code,))
            raise RoomNotFound("This room has expired.")
        return row

    def _purge_expired(self, connection: sqlite3.Connection) -> None:
        connection.execute("DELETE FROM rooms WHERE expires_at <= ?", (self.clock(),))

    def _member(self, connection: sqlite3.Connection, code: str, participant_id: str) -> None:
        found = (
            is_token(participant_id)
            and connection.execute(
                "SELECT 1 FROM participants WHERE code = ? AND participant_id = ?", (code, participant_id)
            ).fetchone()
        )
        if not found:
            raise NotAllowed("Only a participant of this room can publish here, and only their own runs.")

    def _count_publish(self, connection: sqlite3.Connection, code: str, participant_id: str) -> None:
        minute = math.floor(self.clock() / 60)
        rate_minute, rate_count = connection.execute(
            "SELECT rate_minute, rate_count FROM participants WHERE code = ? AND participant_id = ?",
            (code, participant_id),
        ).fetchone()
        count = rate_count + 1 if rate_minute == minute else 1
        if count > PUBLISHES_PER_MINUTE:
            raise RateLimited(f"Too many updates: at most {PUBLISHES_PER_MINUTE} a minute. The next ones will go.")
        connection.execute(
            "UPDATE participants SET rate_minute = ?, rate_count = ? WHERE code = ? AND participant_id = ?",
            (minute, count, code, participant_id),
        )

    def create_room(self, ttl_seconds: int = ROOM_TTL_SECONDS) -> RoomKeys:
        keys = new_keys()
        with self._transaction() as connection:
            self._purge_expired(connection)
            connection.execute(
                "INSERT INTO rooms (code, instructor_key, expires_at) VALUES (?, ?, ?)",
                (keys.code, keys.instructor_key, self.clock() + ttl_seconds),
            )
        return keys

    def room_exists(self, code: str) -> bool:
        try:
            with self._transaction(write=False) as connection:
                self._live_room(connection, code)
        except RoomNotFound:
            return False
        return True

    def is_instructor(self, code: str, instructor_key: str) -> bool:
        try:
            with self._transaction(write=False) as connection:
                kept = self._live_room(connection, code)[0]
        except RoomNotFound:
            return False
        return same_key(instructor_key, kept)

    def join(self, code: str, name: str) -> Participant:
        participant = Participant(secrets.token_urlsafe(PARTICIPANT_BYTES), display_name(name))
        with self._transaction() as connection:
            self._purge_expired(connection)
            self._live_room(connection, code)
            (count,) = connection.execute("SELECT COUNT(*) FROM participants WHERE code = ?", (code,)).fetchone()
            if count >= MAX_PARTICIPANTS:
                raise RoomFull(f"This room is full: it holds at most {MAX_PARTICIPANTS} participants.")
            connection.execute(
                "INSERT INTO participants (code, participant_id, name) VALUES (?, ?, ?)",
                (code, participant.participant_id, participant.name),
            )
        return participant

    def leave(self, code: str, participant_id: str) -> None:
        """Idempotent: leaving a room that is gone, or that one has already left, is not an error."""
        if not (is_token(code) and is_token(participant_id)):
            return
        with self._transaction() as connection:
            connection.execute("DELETE FROM participants WHERE code = ? AND participant_id = ?", (code, participant_id))

    def participants(self, code: str) -> list[Participant]:
        with self._transaction(write=False) as connection:
            self._live_room(connection, code)
            rows = connection.execute(
                "SELECT participant_id, name FROM participants WHERE code = ? ORDER BY seq", (code,)
            ).fetchall()
        return [Participant(participant_id, name) for participant_id, name in rows]

    def publish_run(self, code: str, run: PublishedRun) -> None:
        run = bounded(run)
        with self._transaction() as connection:
            self._live_room(connection, code, purge=True)
            self._member(connection, code, run.participant_id)
            self._count_publish(connection, code, run.participant_id)
            connection.execute(
                "INSERT INTO runs (code, participant_id, run_id, page, body) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (code, participant_id, run_id) DO UPDATE SET page = excluded.page, body = excluded.body",
                (code, run.participant_id, run.run_id, run.page, run_body(run)),
            )
            # The oldest runs (by first publication) leave first.
            connection.execute(
                "DELETE FROM runs WHERE seq IN (SELECT seq FROM runs WHERE code = ? AND participant_id = ? "
                "ORDER BY seq DESC LIMIT -1 OFFSET ?)",
                (code, run.participant_id, MAX_RUNS_PER_PARTICIPANT),
            )

    def runs(self, code: str, page: str) -> list[PublishedRun]:
        with self._transaction(write=False) as connection:
            self._live_room(connection, code)
            rows = connection.execute(
                "SELECT participant_id, run_id, body FROM runs WHERE code = ? AND page = ? ORDER BY seq",
                (code, page),
            ).fetchall()
        return [run_from_body(participant_id, page, run_id, body) for participant_id, run_id, body in rows]

    def record_prediction(self, code: str, prediction: Prediction) -> None:
        """Insert or replace the participant's answer to one question of one page (rate-limited like runs)."""
        with self._transaction() as connection:
            self._live_room(connection, code, purge=True)
            self._member(connection, code, prediction.participant_id)
            self._count_publish(connection, code, prediction.participant_id)
            connection.execute(
                "INSERT INTO predictions (code, participant_id, page, question, answer, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code, participant_id, page, question) "
                "DO UPDATE SET answer = excluded.answer, outcome = excluded.outcome",
                (
                    code,
                    prediction.participant_id,
                    prediction.page,
                    prediction.question,
                    prediction.answer,
                    prediction.outcome,
                ),
            )

    def predictions(self, code: str, page: str) -> list[Prediction]:
        with self._transaction(write=False) as connection:
            self._live_room(connection, code)
            rows = connection.execute(
                "SELECT participant_id, question, answer, outcome FROM predictions "
                "WHERE code = ? AND page = ? ORDER BY seq",
                (code, page),
            ).fetchall()
        return [
            Prediction(participant_id, page, question, answer, outcome)
            for participant_id, question, answer, outcome in rows
        ]

    def send_preset(self, code: str, instructor_key: str, preset: Preset) -> None:
        with self._transaction() as connection:
            kept = self._live_room(connection, code, purge=True)[0]
            if not same_key(instructor_key, kept):
                raise NotAllowed("Only the room's instructor can send a preset.")
            connection.execute(
                "UPDATE rooms SET preset_page = ?, preset_query = ? WHERE code = ?", (preset.page, preset.query, code)
            )

    def preset(self, code: str) -> Preset | None:
        with self._transaction(write=False) as connection:
            _, _, page, query = self._live_room(connection, code)
        return None if page is None else Preset(page, query or "")


# --- Redis --------------------------------------------------------------------------------------------

# Every key of a room starts with its own prefix; the code in braces is a Redis Cluster hash tag, so all
# of a room's keys live on one node and one script can change them together.
REDIS_PREFIX = "rnn-playground:room:"
# Each script checks the room first (its hash `R` exists: an expired room is gone) and gives every key
# it writes the room's remaining time to live, so that the whole room expires at once and nothing of
# it outlives it. Fields of the page-wide hashes are "<participant id>\n<run id or question>"; values
# are "<order>|<JSON>", the order from a counter in the room's hash.
_REDIS_HELPERS = """
local R = ARGV[1]
local ttl = redis.call('PTTL', R)
if ttl == -2 then return 'notfound' end
local function keep(key)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
local function member(pid)
    return redis.call('HEXISTS', R .. ':people', pid) == 1
end
local function counted(pid, minute, limit)
    local key = R .. ':rate:' .. pid .. ':' .. minute
    local count = redis.call('INCR', key)
    if count == 1 then
        local life = 120000
        if ttl > 0 and ttl < life then life = ttl end
        redis.call('PEXPIRE', key, life)
    end
    return count <= tonumber(limit)
end
local function order_of(old)
    if old then return string.sub(old, 1, string.find(old, '|', 1, true) - 1) end
    return tostring(redis.call('HINCRBY', R, 'seq', 1))
end
"""
_REDIS_JOIN = (
    _REDIS_HELPERS
    + """
local pid, name, most = ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('HLEN', R .. ':people') >= most then return 'full' end
redis.call('HSET', R .. ':people', pid, name)
redis.call('ZADD', R .. ':order', redis.call('HINCRBY', R, 'seq', 1), pid)
keep(R .. ':people')
keep(R .. ':order')
return 'ok'
"""
)
_REDIS_PUBLISH = (
    _REDIS_HELPERS
    + """
local pid, page, run_id, body = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local most, minute, limit = tonumber(ARGV[6]), ARGV[7], ARGV[8]
if not member(pid) then return 'notallowed' end
if not counted(pid, minute, limit) then return 'ratelimited' end
local mine, pages, field = R .. ':mine:' .. pid, R .. ':pages:' .. pid, pid .. '\\n' .. run_id
local was = redis.call('HGET', pages, run_id)
local old = nil
if was then
    old = redis.call('HGET', R .. ':runs:' .. was, field)
    if was ~= page then redis.call('HDEL', R .. ':runs:' .. was, field) end
end
local order = order_of(old)
redis.call('HSET', R .. ':runs:' .. page, field, order .. '|' .. body)
redis.call('HSET', pages, run_id, page)
redis.call('ZADD', mine, tonumber(order), run_id)
-- The oldest runs (by first publication) leave first.
while redis.call('ZCARD', mine) > most do
    local oldest = redis.call('ZPOPMIN', mine)[1]
    redis.call('HDEL', R .. ':runs:' .. redis.call('HGET', pages, oldest), pid .. '\\n' .. oldest)
    redis.call('HDEL', pages, oldest)
end
keep(R .. ':runs:' .. page)
keep(mine)
keep(pages)
return 'ok'
"""
)
_REDIS_PREDICT = (
    _REDIS_HELPERS
    + """
local pid, page, question, body, minute, limit = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if not member(pid) then return 'notallowed' end
if not counted(pid, minute, limit) then return 'ratelimited' end
local key, field = R .. ':predictions:' .. page, pid .. '\\n' .. question
local order = order_of(redis.call('HGET', key, field))
redis.call('HSET', key, field, order .. '|' .. body)
redis.call('SADD', R .. ':asked:' .. pid, page .. '\\n' .. question)
keep(key)
keep(R .. ':asked:' .. pid)
return 'ok'
"""
)
_REDIS_LEAVE = (
    _REDIS_HELPERS
    + """
local pid = ARGV[2]
if redis.call('HDEL', R .. ':people', pid) == 0 then return 'ok' end
redis.call('ZREM', R .. ':order', pid)
local pages = R .. ':pages:' .. pid
for _, run_id in ipairs(redis.call('ZRANGE', R .. ':mine:' .. pid, 0, -1)) do
    redis.call('HDEL', R .. ':runs:' .. redis.call('HGET', pages, run_id), pid .. '\\n' .. run_id)
end
for _, asked in ipairs(redis.call('SMEMBERS', R .. ':asked:' .. pid)) do
    local cut = string.find(asked, '\\n', 1, true)
    local page, question = string.sub(asked, 1, cut - 1), string.sub(asked, cut + 1)
    redis.call('HDEL', R .. ':predictions:' .. page, pid .. '\\n' .. question)
end
redis.call('DEL', R .. ':mine:' .. pid, pages, R .. ':asked:' .. pid)
return 'ok'
"""
)
_REDIS_PRESET = (
    _REDIS_HELPERS
    + """
redis.call('HSET', R, 'preset_page', ARGV[2], 'preset_query', ARGV[3])
return 'ok'
"""
)


def ordered_values(fields: dict[str, str]) -> list[tuple[str, str, str]]:
    """("participant id", "run id or question", JSON) of a page-wide hash, in the order they were first written."""
    found = []
    for field_name, value in fields.items():
        participant_id, _, rest = field_name.partition("\n")
        order, _, body = value.partition("|")
        found.append((int(order), participant_id, rest, body))
    found.sort()
    return [(participant_id, rest, body) for _, participant_id, rest, body in found]


class RedisRoomStore(RoomStore):
    """The rooms in a Redis server, shared by every replica of the app. Each change is one Lua script
    (atomic: the bounds hold however many replicas publish at once); every key of a room expires with
    the room. Short socket timeouts, no retries and a pause after a failure make a stopped or silent
    server a StoreUnavailable within about a second, never a hung page.

    `clock` gives the time in seconds for the rate limit's minute; expiry is the server's own."""

    SOCKET_TIMEOUT_S = 0.5
    # After a failure, calls fail at once for this long instead of each waiting for a timeout.
    PAUSE_AFTER_FAILURE_S = 2.0

    def __init__(self, url: str, clock: Callable[[], float] = time.time, pause_after_failure_s: float | None = None):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.clock = clock
        self.pause_after_failure_s = (
            self.PAUSE_AFTER_FAILURE_S if pause_after_failure_s is None else pause_after_failure_s
        )
        self._errors = (redis.RedisError, OSError)
        self._down_until = 0.0
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=self.SOCKET_TIMEOUT_S,
            socket_connect_timeout=self.SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._join = self.client.register_script(_REDIS_JOIN)
        self._publish = self.client.register_script(_REDIS_PUBLISH)
        self._predict = self.client.register_script(_REDIS_PREDICT)
        self._leave = self.client.register_script(_REDIS_LEAVE)
        self._preset = self.client.register_script(_REDIS_PRESET)

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Any Redis error (refused, timed out, out of memory, loading) becomes StoreUnavailable."""
        if time.monotonic() < self._down_until:
            raise StoreUnavailable("The room's store cannot be reached just now.")
        try:
            yield
        except self._errors as error:
            self._down_until = time.monotonic() + self.pause_after_failure_s
            raise StoreUnavailable(f"The room's store cannot be reached ({type(error).__name__}).") from error

    @staticmethod
    def _room(code: str) -> str:
        if not is_token(code):
            raise RoomNotFound("No room has this code.")
        return f"{REDIS_PREFIX}{{{code}}}"

    def _minute(self) -> str:
        return str(math.floor(self.clock() / 60))

    @staticmethod
    def _answer(answer: str) -> None:
        if answer == "notfound":
            raise RoomNotFound("No room has this code, or it has expired.")
        if answer == "full":
            raise RoomFull(f"This room is full: it holds at most {MAX_PARTICIPANTS} participants.")
        if answer == "notallowed":
            raise NotAllowed("Only a participant of this room can publish here, and only their own runs.")
        if answer == "ratelimited":
            raise RateLimited(f"Too many updates: at most {PUBLISHES_PER_MINUTE} a minute. The next ones will go.")

    def _read(self, code: str, *commands: tuple) -> list:
        """The room's existence and the answers of `commands` (name, key suffix, arguments...), read at
        one moment (MULTI/EXEC); RoomNotFound when the room is not there."""
        room = self._room(code)
        with self._reaching():
            pipeline = self.client.pipeline(transaction=True)
            pipeline.exists(room)
            for name, suffix, *arguments in commands:
                getattr(pipeline, name)(room + suffix, *arguments)
            exists, *answers = pipeline.execute()
        if not exists:
            raise RoomNotFound("No room has this code, or it has expired.")
        return answers

    def create_room(self, ttl_seconds: int = ROOM_TTL_SECONDS) -> RoomKeys:
        keys = new_keys()
        room = self._room(keys.code)
        with self._reaching():
            pipeline = self.client.pipeline(transaction=True)
            pipeline.hset(room, mapping={"key": keys.instructor_key, "seq": 0})
            pipeline.pexpire(room, int(ttl_seconds * 1000))
            pipeline.execute()
        return keys

    def room_exists(self, code: str) -> bool:
        if not is_token(code):
            return False
        with self._reaching():
            return bool(self.client.exists(self._room(code)))

    def is_instructor(self, code: str, instructor_key: str) -> bool:
        if not is_token(code):
            return False
        with self._reaching():
            kept = self.client.hget(self._room(code), "key")
        return same_key(instructor_key, kept)

    def join(self, code: str, name: str) -> Participant:
        participant = Participant(secrets.token_urlsafe(PARTICIPANT_BYTES), display_name(name))
        room = self._room(code)
        with self._reaching():
            answer = self._join(args=[room, participant.participant_id, participant.name, MAX_PARTICIPANTS])
        self._answer(answer)
        return participant

    def leave(self, code: str, participant_id: str) -> None:
        """Idempotent: leaving a room that is gone, or that one has already left, is not an error."""
        if not (is_token(code) and is_token(participant_id)):
            return
        with self._reaching():
            self._leave(args=[self._room(code), participant_id])

    def participants(self, code: str) -> list[Participant]:
        order, names = self._read(code, ("zrange", ":order", 0, -1), ("hgetall", ":people"))
        return [
            Participant(participant_id, names[participant_id]) for participant_id in order if participant_id in names
        ]

    def publish_run(self, code: str, run: PublishedRun) -> None:
        run = bounded(run)
        room = self._room(code)
        if not is_token(run.participant_id):
            raise NotAllowed("Only a participant of this room can publish here, and only their own runs.")
        arguments = [room, run.participant_id, run.page, run.run_id, run_body(run)]
        arguments += [MAX_RUNS_PER_PARTICIPANT, self._minute(), PUBLISHES_PER_MINUTE]
        with self._reaching():
            answer = self._publish(args=arguments)
        self._answer(answer)

    def runs(self, code: str, page: str) -> list[PublishedRun]:
        (fields,) = self._read(code, ("hgetall", f":runs:{page}"))
        return [
            run_from_body(participant_id, page, run_id, body) for participant_id, run_id, body in ordered_values(fields)
        ]

    def record_prediction(self, code: str, prediction: Prediction) -> None:
        """Insert or replace the participant's answer to one question of one page (rate-limited like runs)."""
        room = self._room(code)
        if not is_token(prediction.participant_id):
            raise NotAllowed("Only a participant of this room can publish here, and only their own runs.")
        body = json.dumps({"answer": prediction.answer, "outcome": prediction.outcome})
        arguments = [room, prediction.participant_id, prediction.page, prediction.question, body]
        with self._reaching():
            answer = self._predict(args=[*arguments, self._minute(), PUBLISHES_PER_MINUTE])
        self._answer(answer)

    def predictions(self, code: str, page: str) -> list[Prediction]:
        (fields,) = self._read(code, ("hgetall", f":predictions:{page}"))
        found = []
        for participant_id, question, body in ordered_values(fields):
            answer = json.loads(body)
            found.append(Prediction(participant_id, page, question, answer["answer"], answer["outcome"]))
        return found

    def send_preset(self, code: str, instructor_key: str, preset: Preset) -> None:
        room = self._room(code)
        with self._reaching():
            kept = self.client.hget(room, "key")
        if kept is None:
            raise RoomNotFound("No room has this code, or it has expired.")
        if not same_key(instructor_key, kept):
            raise NotAllowed("Only the room's instructor can send a preset.")
        with self._reaching():
            answer = self._preset(args=[room, preset.page, preset.query])
        self._answer(answer)

    def preset(self, code: str) -> Preset | None:
        ((page, query),) = self._read(code, ("hmget", "", "preset_page", "preset_query"))
        return None if page is None else Preset(page, query or "")


# --- Choosing the backend -----------------------------------------------------------------------------

_opened: dict[str, RoomStore] = {}
_opening = threading.Lock()


def store_for_url(url: str) -> RoomStore:
    """A new store for `url` (see open_store), or ValueError saying what URLs are understood."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        # sqlite:///absolute/path.db (SQLAlchemy's four slashes, sqlite:////absolute/path.db, too)
        path = url[len("sqlite://") :]
        if path.startswith("/"):
            path = "/" + path.lstrip("/")
        if not path.strip("/"):
            raise ValueError(f"{STORE_VARIABLE}: a SQLite store needs a file, as in sqlite:///path/to/rooms.db")
        return SqliteRoomStore(path)
    if scheme in {"redis", "rediss", "unix"}:
        return RedisRoomStore(url)
    shown = f"a URL with the scheme {scheme!r}" if scheme else "a value that is not a URL"
    raise ValueError(
        f"{STORE_VARIABLE}: cannot open a room store from {shown}; use sqlite:///path/to/rooms.db or "
        "redis://host:6379/0"
    )


def open_store(url: str | None = None) -> RoomStore:
    """The store named by `url` (else RNN_PLAYGROUND_ROOM_STORE, else a SQLite file in the system's
    directory for temporary files, `default_store_url()`): `sqlite:///path/to/file.db` or
    `redis://host:port/db`. One store per URL per process: every session thread shares it."""
    url = url or os.environ.get(STORE_VARIABLE, "").strip() or default_store_url()
    with _opening:
        if url not in _opened:
            _opened[url] = store_for_url(url)
        return _opened[url]
