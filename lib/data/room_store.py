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
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

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


def open_store(url: str | None = None) -> RoomStore:
    """The store named by `url` (else RNN_PLAYGROUND_ROOM_STORE, else a SQLite file beside the app's
    other runtime files): `sqlite:///path/to/file.db` or `redis://host:port/db`."""
    raise NotImplementedError("the backends are being written: see the store helper's branch")
