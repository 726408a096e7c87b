"""The room store's writes per second with a workshop publishing at once (lib/data/room_store.py).

What it does
    For each backend (a SQLite file in a temporary directory; Redis: the server given with --redis-url,
    else Debian's redis-server started on a free loopback port as the tests start it,
    tests/redis_support.py), one room is opened and --participants participants join it. Then:

    1. Baselines, in the same run, one thread: a plain SQLite INSERT of the same JSON a run is stored as
       (one autocommit statement into a one-table file in WAL mode: what a write costs the file with no
       room logic), and the room's own publishes below made by one thread, one participant after another.
    2. The room: --participants threads (one per participant, as session threads of one process)
       start together and each publishes --runs runs epoch by epoch, the whole run each time (the
       growing loss and val_loss curves, its settings and its final figures), as the training pages
       do after every epoch: --runs x --epochs writes each, kept under the rate limit
       (PUBLISHES_PER_MINUTE) so that every write is a real one. Meanwhile a board reads the page's
       runs, predictions and participants every --board-every seconds and times each read.

Printed per backend: writes per second of the room, of the same writes from one thread and of the
plain INSERT, the room's rate as a ratio to each baseline, the board's read time (median, worst) under
that load, and how far the room's rate is above what a room publishing once per --epoch-seconds needs;
then the ratio of Redis's room rate to SQLite's. Every run published is checked to be in the store
at the end (its count and its last curve). Nothing is asserted.

Run from the repository root:
    python benchmarks/room_store.py                          # 30 participants, 4 runs of 25 epochs each
    python benchmarks/room_store.py --repeats 3 --backends sqlite
    python benchmarks/room_store.py --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.data.room_store import (  # noqa: E402
    PUBLISHES_PER_MINUTE,
    PublishedRun,
    RedisRoomStore,
    RoomStore,
    SqliteRoomStore,
    run_body,
)
from tests.redis_support import running_redis  # noqa: E402

PAGE = "recurrence"


def a_run(participant_id: str, run: int, epochs: int) -> PublishedRun:
    """A Recurrence run after `epochs` epochs, as a training page publishes it."""
    loss = [1.0 / (epoch + 1) for epoch in range(epochs)]
    return PublishedRun(
        participant_id=participant_id,
        page=PAGE,
        run_id=f"run-{run}",
        label=f"GRU, T = {48 + 16 * run}",
        settings={"model": "GRU", "history": 48 + 16 * run, "units": 32, "epochs": 25, "seed": run},
        curve={"loss": loss, "val_loss": [value * 1.1 for value in loss]},
        final={"rmse": loss[-1], "val_rmse": loss[-1] * 1.1},
        status="training",
    )


def plain_inserts(directory: Path, count: int) -> float:
    """Writes per second of one thread inserting run JSON into a bare WAL table (no room logic)."""
    path = directory / "plain.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("CREATE TABLE runs (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    bodies = [run_body(a_run("p", index // 25, index % 25 + 1)) for index in range(count)]
    started = time.perf_counter()
    for body in bodies:
        connection.execute("INSERT INTO runs (body) VALUES (?)", (body,))
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def publish_all(store: RoomStore, code: str, participant_id: str, runs: int, epochs: int) -> None:
    for run in range(runs):
        for epoch in range(1, epochs + 1):
            store.publish_run(code, a_run(participant_id, run, epoch))


def one_thread(store: RoomStore, participants: int, runs: int, epochs: int) -> float:
    """Writes per second of the room's same publishes made by one thread, one participant after another."""
    room = store.create_room()
    joined = [store.join(room.code, f"P{index}") for index in range(participants)]
    started = time.perf_counter()
    for participant in joined:
        publish_all(store, room.code, participant.participant_id, runs, epochs)
    return participants * runs * epochs / (time.perf_counter() - started)


def the_room(store: RoomStore, participants: int, runs: int, epochs: int, board_every: float) -> dict:
    room = store.create_room()
    joined = [store.join(room.code, f"P{index}") for index in range(participants)]
    start = threading.Barrier(participants + 1)
    errors: list[str] = []
    reads: list[float] = []
    finished = threading.Event()

    def participant(index: int) -> None:
        try:
            start.wait()
            publish_all(store, room.code, joined[index].participant_id, runs, epochs)
        except Exception as error:  # reported in the summary
            errors.append(f"participant {index}: {error!r}")

    def board() -> None:
        while not finished.wait(board_every):
            began = time.perf_counter()
            store.runs(room.code, PAGE)
            store.predictions(room.code, PAGE)
            store.participants(room.code)
            reads.append(time.perf_counter() - began)

    threads = [threading.Thread(target=participant, args=(index,)) for index in range(participants)]
    for thread in threads:
        thread.start()
    reader = threading.Thread(target=board)
    reader.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    finished.set()
    reader.join()
    kept = store.runs(room.code, PAGE)
    whole = sum(len(run.curve["loss"]) == epochs for run in kept)
    return {
        "rate": participants * runs * epochs / elapsed,
        "seconds": elapsed,
        "reads": reads,
        "errors": errors,
        "check": f"{len(kept)} of {participants * runs} runs kept, {whole} with all {epochs} epochs",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "redis"], default=["sqlite", "redis"])
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--board-every", type=float, default=0.05, help="seconds between the board's reads")
    parser.add_argument("--epoch-seconds", type=float, default=1.0, help="a training epoch's time, for the need")
    parser.add_argument("--repeats", type=int, default=5, help="the median of this many rooms is printed")
    parser.add_argument("--redis-url", help="an existing server (its database is written to; use an empty one)")
    arguments = parser.parse_args()
    if arguments.runs * arguments.epochs > PUBLISHES_PER_MINUTE:
        parser.error(f"--runs x --epochs must stay within the rate limit ({PUBLISHES_PER_MINUTE} a minute)")

    results = {}
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="room-store-benchmark-")))
        writes = arguments.runs * arguments.epochs
        plains = []
        for repeat in range(arguments.repeats):
            (directory / f"plain-{repeat}").mkdir()
            plains.append(plain_inserts(directory / f"plain-{repeat}", writes * arguments.participants))
        plain = statistics.median(plains)
        print(f"plain SQLite INSERT, one thread: {plain:,.0f} writes/s")
        for backend in arguments.backends:
            rates, alones, reads, checks, errors = [], [], [], [], []
            for repeat in range(arguments.repeats):
                if backend == "sqlite":
                    store = SqliteRoomStore(directory / f"rooms-{repeat}.db")
                else:
                    url = arguments.redis_url
                    if url is None:
                        url = stack.enter_context(running_redis(directory / f"redis-{repeat}")).url
                    store = RedisRoomStore(url)
                alones.append(one_thread(store, arguments.participants, arguments.runs, arguments.epochs))
                room = the_room(store, arguments.participants, arguments.runs, arguments.epochs, arguments.board_every)
                rates.append(room["rate"])
                reads += room["reads"]
                checks.append(room["check"])
                errors += room["errors"]
                store.close()
            rate, one = statistics.median(rates), statistics.median(alones)
            results[backend] = rate
            print(f"\n{backend}: {arguments.participants} participants x {writes} publishes, {arguments.repeats} rooms")
            print(f"  the room:             {rate:,.0f} writes/s (each room: {', '.join(f'{r:,.0f}' for r in rates)})")
            print(f"  the same, one thread: {one:,.0f} writes/s   room / one thread = {rate / one:.2f}")
            print(f"  plain INSERT:         {plain:,.0f} writes/s   room / plain INSERT = {rate / plain:.2f}")
            if reads:
                print(
                    f"  board read (runs + predictions + participants) under load: median "
                    f"{statistics.median(reads) * 1000:.1f} ms, worst {max(reads) * 1000:.1f} ms ({len(reads)} reads)"
                )
            need = arguments.participants / arguments.epoch_seconds
            print(
                f"  a room publishing every {arguments.epoch_seconds:g} s needs {need:,.0f} writes/s: "
                f"{rate / need:,.0f} times less than the room's rate"
            )
            for check in checks:
                print(f"  check: {check}")
            print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
            print(f"RESULT {backend} room_writes_per_s={rate:.0f} one_thread={one:.0f} plain_insert={plain:.0f}")
        if {"sqlite", "redis"} <= results.keys():
            print(
                f"\nRESULT redis / sqlite (the room's writes per second) = {results['redis'] / results['sqlite']:.2f}"
            )


if __name__ == "__main__":
    main()
