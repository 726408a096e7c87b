"""A workshop room on its board (#24): thirty sessions in one room press Train at once, with the board up.

What it does
    For each backend given (SQLite: a file in a temporary directory; Redis: Debian's redis-server on a
    free loopback port, started as the tests start it, tests/redis_support.py), it starts a real
    `streamlit run streamlit_app.py` with RNN_PLAYGROUND_ROOM_STORE pointing at that store and
    Streamlit's agent API switched on for this server only (as benchmarks/room.py does), waits for the
    app's warm-up, opens a room in the store and puts its board up: an agent session on the board page
    with the room's code and instructor key. Then, on one page (--page, the Parameter sharing page by
    default: the cheapest training):

    1. Alone: one session presses the page's default (a seed of its own), to warm the page's code.
    2. The baseline: --sessions agent sessions open the page WITHOUT a room and press Train at the
       same moment (one seed for all, as the usual room: one training serves everyone).
    3. The room: --sessions other agent sessions open the page's room link (`?room=<code>`), join it
       (a generated name each) and press Train at the same moment, on another seed, so that neither
       press is served by the other's cached result. Each session publishes its run to the store as it
       trains (at most once a second) and when it ends (lib/page_glue/room.py).

    During both presses the board is refreshed every 2 s (the fragment's `run_every`), in two ways,
    each timed: the board page's whole run (an agent request on the board's session: the store's three
    reads, the charts, the tables; what the fragment does, plus the page's few lines outside it), and
    the fragment's three store reads alone (participants, the page's runs, its predictions) from a
    client of the store in this process. The store's writes are counted where they land: for Redis,
    the server's count of script calls (`INFO commandstats`: every publish and prediction is one
    script); for SQLite, triggers this benchmark adds to the file before the server starts (each
    insert or update of a run or a prediction adds one to a counter table, inside the same
    transaction).

Printed per backend: the press's wall time (the common press to the last session's settled page)
and the server's CPU seconds, room against baseline (ratios); the board's refresh times (median,
worst), during the room against during the baseline (the room then empty); the store's writes
and writes per second during the room; the checks (every session's run finished, no exception on a
page, every participant and run on the board's store, no traceback in the server log). Nothing is
asserted.

Run from the repository root (it is heavy: run it niced):
    nice -n 10 python benchmarks/room_board.py                       # both backends, 30 sessions
    nice -n 10 python benchmarks/room_board.py --backends redis --sessions 10
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.memory import cpu_seconds  # noqa: E402
from benchmarks.room import (  # noqa: E402
    KEPT_STATUS,
    PAGES,
    WARM_UP_LINE,
    action_key,
    interact,
    page_exceptions,
    run_statuses,
)
from lib.data.room_store import SqliteRoomStore, open_store  # noqa: E402
from tests.browser_support import served_app  # noqa: E402
from tests.redis_support import running_redis  # noqa: E402

BOARD_EVERY_SECONDS = 2.0  # lib/page_glue/board.py's REFRESH_SECONDS
COUNTER_TABLE = "benchmark_writes"
# What the benchmark adds to the SQLite file: a counter, bumped by every write of a run or a prediction.
SQLITE_COUNTER = f"""
CREATE TABLE IF NOT EXISTS {COUNTER_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), writes INTEGER NOT NULL);
INSERT OR IGNORE INTO {COUNTER_TABLE} (id, writes) VALUES (1, 0);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS benchmark_{table}_{event} AFTER {event} ON {table} "
    f"BEGIN UPDATE {COUNTER_TABLE} SET writes = writes + 1 WHERE id = 1; END;\n"
    for table in ("runs", "predictions")
    for event in ("insert", "update")
)


# --- The store's writes ------------------------------------------------------------------------------


class WriteCounter:
    """The store's writes so far: a SQLite counter table, or Redis's count of script calls."""

    def __init__(self, url: str):
        self.url = url

    def writes(self) -> int:
        if self.url.startswith("sqlite://"):
            with sqlite3.connect(self.url.removeprefix("sqlite://"), timeout=30) as connection:
                return connection.execute(f"SELECT writes FROM {COUNTER_TABLE} WHERE id = 1").fetchone()[0]
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            stats = client.info("commandstats")
        finally:
            client.close()
        return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def prepare_sqlite(path: Path) -> str:
    """The store's file with its schema (made by the store itself) and this benchmark's write counter."""
    store = SqliteRoomStore(path)
    store.room_exists("no-room")  # the store makes its schema on its first connection
    store.close()
    with sqlite3.connect(path) as connection:
        connection.executescript(SQLITE_COUNTER)
    return "sqlite://" + path.as_posix()


# --- The board ------------------------------------------------------------------------------------


class BoardWatcher:
    """Refreshes the board every BOARD_EVERY_SECONDS while `watching`: the board page's whole run (one
    agent request) and, in another thread, the fragment's three store reads; each timed."""

    def __init__(self, url: str, store_url: str, board: dict, code: str, page_key: str):
        self.url, self.board, self.code, self.page_key = url, board, code, page_key
        self.store = open_store(store_url)
        self.runs: list[tuple[float, float]] = []  # (monotonic time, seconds)
        self.reads: list[tuple[float, float]] = []
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(self._rerun, self.runs), daemon=True),
            threading.Thread(target=self._loop, args=(self._read, self.reads), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _rerun(self) -> None:
        snapshot = interact(self.url, {"session_id": self.board["session_id"]})
        self.problems += [f"board: {problem}" for problem in page_exceptions(snapshot)]
        self.board = snapshot

    def _read(self) -> None:
        self.store.participants(self.code)
        self.store.runs(self.code, self.page_key)
        self.store.predictions(self.code, self.page_key)

    def _loop(self, refresh, times: list) -> None:
        while not self._stop.is_set():
            began, at = time.perf_counter(), time.monotonic()
            try:
                refresh()
                times.append((at, time.perf_counter() - began))
            except Exception as error:  # noqa: BLE001 - every failure is a finding, reported at the end.
                self.problems.append(repr(error))
            self._stop.wait(BOARD_EVERY_SECONDS)

    def between(self, times: list[tuple[float, float]], start: float, end: float) -> list[float]:
        return [seconds for at, seconds in times if start <= at <= end]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.store.close()


# --- The presses ----------------------------------------------------------------------------------


@dataclass
class Press:
    """Thirty sessions pressing at once: wall seconds to the last settled page, the server's CPU seconds."""

    seconds: float = 0.0
    cpu: float = 0.0
    start: float = 0.0
    end: float = 0.0
    writes: int = 0
    problems: list[str] = field(default_factory=list)


def open_sessions(url: str, page: str, count: int, query: dict[str, list[str]], join: bool) -> list[dict]:
    def one(number: int) -> dict:
        snapshot = interact(url, {"page": page, "query_params": query})
        if join:
            snapshot = interact(
                url, {"session_id": snapshot["session_id"], "trigger": {"key": action_key(snapshot, "Join the room")}}
            )
        return snapshot

    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(one, range(count)))


def press_all(url: str, sessions: list[dict], train_label: str, server_pid: int, counter: WriteCounter) -> Press:
    press = Press()
    barrier = threading.Barrier(len(sessions) + 1)
    outcomes: list[tuple[float, dict | Exception]] = []

    def train(snapshot: dict) -> None:
        key = action_key(snapshot, train_label)
        barrier.wait()
        began = time.monotonic()
        try:
            outcome = interact(url, {"session_id": snapshot["session_id"], "trigger": {"key": key}})
            outcomes.append((time.monotonic() - began, outcome))
        except Exception as error:  # noqa: BLE001
            outcomes.append((time.monotonic() - began, error))

    threads = [threading.Thread(target=train, args=(snapshot,)) for snapshot in sessions]
    for thread in threads:
        thread.start()
    writes_before, cpu_before = counter.writes(), cpu_seconds(server_pid)
    barrier.wait()
    press.start = time.monotonic()
    for thread in threads:
        thread.join()
    press.end = time.monotonic()
    press.cpu = cpu_seconds(server_pid) - cpu_before
    press.writes = counter.writes() - writes_before
    press.seconds = press.end - press.start
    for _, outcome in outcomes:
        if isinstance(outcome, Exception):
            press.problems.append(repr(outcome))
            continue
        press.problems += page_exceptions(outcome)
        if not any(KEPT_STATUS.match(status) for status in run_statuses(outcome)):
            press.problems.append(f"no finished run: {run_statuses(outcome)}")
    return press


# --- One backend ----------------------------------------------------------------------------------


def median_worst(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, worst {max(values) * 1000:.1f} ms ({len(values)} refreshes)"
    )


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def measure_backend(backend: str, arguments, work: Path) -> None:
    spec = PAGES[arguments.page]
    with ExitStack() as stack:
        if backend == "sqlite":
            store_url = prepare_sqlite(work / "rooms.db")
        else:
            store_url = stack.enter_context(running_redis(work / "redis")).url
        counter = WriteCounter(store_url)
        log_path = ROOT / "test-artifacts" / f"room-board-{backend}-server.log"
        flags = [
            "--server.enableAgentApi=true",
            "--server.agentWaitTimeout=1800",
            "--server.agentSessionTTL=600",
            "--server.agentMaxSessions=200",
        ]
        env = {"TF_CPP_MIN_LOG_LEVEL": "2", "RNN_PLAYGROUND_ROOM_STORE": store_url}
        url, server = stack.enter_context(served_app(log_path, extra_env=env, extra_args=flags))
        print(f"\n## {backend}: {time.strftime('%H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.2f}")
        interact(url, {})  # the first page view starts the app's warm-up
        deadline = time.monotonic() + 900
        while not WARM_UP_LINE.search(log_path.read_text()) and time.monotonic() < deadline:
            time.sleep(1)

        store = open_store(store_url)
        keys = store.create_room()
        board = interact(url, {"page": "board", "query_params": {"room": [keys.code], "key": [keys.instructor_key]}})
        problems = [f"board: {problem}" for problem in page_exceptions(board)]

        # 1. Alone, to warm the page's code.
        alone = open_sessions(url, spec.url_path, 1, {"seed": [str(arguments.seed)]}, join=False)
        began = time.perf_counter()
        press_all(url, alone, spec.train_label, server.pid, counter)
        print(f"one press alone (warm-up of the page): {time.perf_counter() - began:.1f} s")

        watcher = BoardWatcher(url, store_url, board, keys.code, spec.url_path)
        # 2. The baseline: the same presses without a room.
        plain = open_sessions(url, spec.url_path, arguments.sessions, {"seed": [str(arguments.seed + 1)]}, join=False)
        baseline = press_all(url, plain, spec.train_label, server.pid, counter)
        # 3. The room.
        query = {"seed": [str(arguments.seed + 2)], "room": [keys.code]}
        members = open_sessions(url, spec.url_path, arguments.sessions, query, join=True)
        joined = len(store.participants(keys.code))
        room = press_all(url, members, spec.train_label, server.pid, counter)
        time.sleep(2 * BOARD_EVERY_SECONDS)  # the board's next refresh after the last publish
        watcher.stop()
        runs = store.runs(keys.code, spec.url_path)
        store.close()
        problems += watcher.problems + [f"baseline: {p}" for p in baseline.problems]
        problems += [f"room: {p}" for p in room.problems]
        tracebacks = log_path.read_text().count("Traceback")

    board_runs = {
        name: watcher.between(watcher.runs, press.start, press.end)
        for name, press in (("baseline", baseline), ("room", room))
    }
    board_reads = {
        name: watcher.between(watcher.reads, press.start, press.end)
        for name, press in (("baseline", baseline), ("room", room))
    }
    print(
        f"{arguments.sessions} sessions, page {spec.url_path}; joined the room: {joined}; runs in the store: {len(runs)}"
    )
    print(
        f"press to last settled page: room {room.seconds:.1f} s, baseline {baseline.seconds:.1f} s, "
        f"ratio {ratio(room.seconds, baseline.seconds)}"
    )
    print(f"server CPU s: room {room.cpu:.1f}, baseline {baseline.cpu:.1f}, ratio {ratio(room.cpu, baseline.cpu)}")
    print(f"board page run during the room: {median_worst(board_runs['room'])}")
    print(f"board page run during the baseline (room empty): {median_worst(board_runs['baseline'])}")
    if board_runs["room"] and board_runs["baseline"]:
        print(
            "  ratio of medians: "
            f"{ratio(statistics.median(board_runs['room']), statistics.median(board_runs['baseline']))}"
        )
    print(f"fragment's store reads during the room: {median_worst(board_reads['room'])}")
    print(f"fragment's store reads during the baseline: {median_worst(board_reads['baseline'])}")
    if board_reads["room"] and board_reads["baseline"]:
        print(
            "  ratio of medians: "
            f"{ratio(statistics.median(board_reads['room']), statistics.median(board_reads['baseline']))}"
        )
    print(
        f"store writes during the room press: {room.writes} in {room.seconds:.1f} s = "
        f"{room.writes / room.seconds:.1f} writes/s (baseline press: {baseline.writes})"
    )
    finished = sum(run.status == "finished" for run in runs)
    print(f"runs finished in the store: {finished} of {len(runs)}; server log tracebacks: {tracebacks}")
    print(f"problems: {problems[:10] or 'none'}{' ...' if len(problems) > 10 else ''}")
    print(f"load average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "redis"], choices=["sqlite", "redis"])
    parser.add_argument("--page", default="parameter_sharing", choices=list(PAGES))
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seed", type=int, default=900, help="the press alone's seed; the baseline +1, the room +2")
    arguments = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs; "
        f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="room-board-") as directory:
        for backend in arguments.backends:
            work = Path(directory) / backend
            work.mkdir()
            measure_backend(backend, arguments, work)


if __name__ == "__main__":
    main()
