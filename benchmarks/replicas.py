"""A room on replicas: the shipped Compose file's replicas behind its HAProxy, driven like benchmarks/room.py.

What it does
    For each layout given (REPLICASxCPUS: 1x2 is one replica limited to 2 CPUs, 2x1 two replicas of
    1 CPU each: the same 2 cores either way on this machine), it starts deploy/compose.yaml with
    benchmarks/compose.agent.yaml merged over it (the agent API on, the CPU limit per replica set),
    using the image tests/test_deploy_compose.py builds (tests/docker_support.py; run that test first,
    or this script builds it). Every HTTP request goes through HAProxy, each agent session with its own
    cookie jar, as a browser would: HAProxy's SERVERID cookie keeps it on one replica.
    1. Warm-up: each replica's home page is opened directly, which starts its background warm-up;
       the script waits for the warm-up's log line from every replica.
    2. Alone: one session opens the page and presses Train twice; the second press is the baseline.
    3. The room: --sessions sessions open the page through the proxy, then --trainers press Train at
       once. Timed from the press to the last trainer's settled page; every trainer's page must show
       no exception and a finished run.
    Memory is each container's, from `docker stats`, sampled every 2 s.

Printed, per layout: how the sessions spread over the replicas, the room's trainings per minute
against one session alone on the same stack, and each replica's memory idle and at the room's peak;
then the layouts' room times against the first layout's, measured in the same run. Nothing is asserted.

Run from the repository root (needs a Docker engine with Compose v2, as the deploy test does):
    python benchmarks/replicas.py                                  # 1x2 then 2x1, Recurrence
    python benchmarks/replicas.py --layouts 1x2 2x1 --sessions 30 --trainers 10
"""

from __future__ import annotations

import argparse
import http.cookiejar
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.room import PAGES, action_key, interact, page_exceptions, run_statuses  # noqa: E402
from tests.docker_support import compose_stack, docker, prepare_images, require_docker  # noqa: E402

AGENT_OVERRIDE = ROOT / "benchmarks" / "compose.agent.yaml"
WORK_DIR = ROOT / "test-artifacts" / "replicas-benchmark"


class Session:
    """One participant: a cookie jar (so HAProxy keeps it on one replica) and an agent session id."""

    def __init__(self, url: str):
        self.url = url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.session_id: str | None = None
        self.snapshot: dict = {}

    def interact(self, body: dict, timeout: float = 1800) -> dict:
        """One agent request on this session, through its cookie jar (benchmarks/room.py's `interact`)."""
        if self.session_id:
            body = {"session_id": self.session_id, **body}
        document = interact(self.url, body, timeout, opener=self.opener)
        self.session_id, self.snapshot = document["session_id"], document
        return document

    def replica(self) -> str:
        return next((cookie.value for cookie in self.cookies if cookie.name == "SERVERID"), "none")


def memory_by_container(containers: list[str]) -> dict[str, float]:
    """Each container's memory in MB, as `docker stats` reports it."""
    lines = docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *containers).stdout.splitlines()
    units = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "B": 1 / 2**20}
    memory = {}
    for line in lines:
        name, used = line.split()[0], line.split()[1]
        number = used.rstrip("KMGiB")
        memory[name] = float(number) * units[used[len(number) :]]
    return memory


class MemoryWatch:
    def __init__(self, containers: list[str]):
        self.containers, self.samples, self.running = containers, [], True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            self.samples.append((time.monotonic(), memory_by_container(self.containers)))
            time.sleep(2)

    def peak(self, since: float) -> dict[str, float]:
        return {
            name: max((sample[name] for at, sample in self.samples if at >= since and name in sample), default=0.0)
            for name in self.containers
        }

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=10)


def container_log(name: str) -> str:
    """Everything the container has printed (Streamlit logs to both streams)."""
    logs = docker("logs", name)
    return logs.stdout + logs.stderr


def wait_for_warm_up(project_containers: list[str], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all("warm-up finished" in container_log(name) for name in project_containers):
            return
        time.sleep(2)
    raise RuntimeError("the replicas' warm-up did not finish")


def train_once(session: Session, spec) -> tuple[float, list[str], list[str]]:
    started = time.monotonic()
    snapshot = session.interact({"trigger": {"key": action_key(session.snapshot, spec.train_label)}})
    return time.monotonic() - started, run_statuses(snapshot), page_exceptions(snapshot)


def measure_layout(layout: str, arguments) -> dict:
    replicas, cpus = (int(part) for part in layout.split("x"))
    spec = PAGES[arguments.page]
    with compose_stack(
        WORK_DIR / layout, replicas=replicas, overrides=(AGENT_OVERRIDE,), extra_env={"REPLICA_CPUS": str(cpus)}
    ) as stack:
        apps = [name for name in stack["containers"] if "-app-" in name]
        for replica_url in stack["replicas"].values():
            Session(replica_url).interact({})  # a page view starts the replica's warm-up
        wait_for_warm_up(apps)
        watch = MemoryWatch(apps)
        time.sleep(4)
        idle = {name: statistics.median(sample[name] for _, sample in watch.samples[-2:]) for name in apps}

        alone = Session(stack["url"])
        alone.interact({"page": spec.url_path})
        solo = [train_once(alone, spec)[0] for _ in range(arguments.solo_repeats)]

        sessions = [Session(stack["url"]) for _ in range(arguments.sessions)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda session: session.interact({"page": spec.url_path}), sessions))
        spread = {}
        for session in sessions:
            spread[session.replica()] = spread.get(session.replica(), 0) + 1
        trainers = sessions[: arguments.trainers]
        room_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(trainers)) as pool:
            results = list(pool.map(lambda session: train_once(session, spec), trainers))
        room_seconds = time.monotonic() - room_started
        peak = watch.peak(room_started)
        watch.stop()
        finished = sum(1 for _, statuses, _ in results if statuses and statuses[-1].startswith("finished"))
        exceptions = sum(len(found) for _, _, found in results)
    baseline = solo[-1]
    ratio = (finished / room_seconds) / (1 / baseline)
    return {
        "layout": layout,
        "replicas": replicas,
        "cpus": cpus,
        "solo": solo,
        "room_seconds": room_seconds,
        "finished": finished,
        "trainers": len(trainers),
        "exceptions": exceptions,
        "ratio": ratio,
        "spread": spread,
        "idle": idle,
        "peak": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", nargs="+", default=["1x2", "2x1"], help="REPLICASxCPUS each")
    parser.add_argument("--page", default="recurrence", choices=list(PAGES))
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--trainers", type=int, default=8)
    parser.add_argument("--solo-repeats", type=int, default=2)
    arguments = parser.parse_args()

    require_docker()
    prepare_images(build_app=False)  # the deploy test's image, built here only if missing

    results = []
    for layout in arguments.layouts:
        result = measure_layout(layout, arguments)
        results.append(result)
        print(f"\n== {layout}: {result['replicas']} replica(s) of {result['cpus']} CPU(s), page {arguments.page} ==")
        print(f"  sessions per replica (HAProxy's cookie): {sorted(result['spread'].values(), reverse=True)}")
        print(
            f"  one session alone: {', '.join(f'{seconds:.1f} s' for seconds in result['solo'])} (last is the baseline)"
        )
        print(
            f"  room: {result['finished']} of {result['trainers']} finished in {result['room_seconds']:.1f} s, "
            f"{result['exceptions']} exceptions; {result['ratio']:.2f} x one session alone"
        )
        for name in sorted(result["idle"]):
            print(
                f"  {name}: {result['idle'][name]:,.0f} MB idle (warm) -> {result['peak'][name]:,.0f} MB at the room's peak"
            )
        print(
            f"  all replicas: {sum(result['idle'].values()):,.0f} MB idle -> {sum(result['peak'].values()):,.0f} MB peak (sum of peaks)"
        )
    first = results[0]
    for result in results[1:]:
        print(
            f"\nroom time {result['layout']} / {first['layout']}: {result['room_seconds'] / first['room_seconds']:.2f} "
            f"(trainings per minute: {first['room_seconds'] / result['room_seconds']:.2f} x)"
        )


if __name__ == "__main__":
    main()
