"""A workshop room on one real server: many sessions, no browsers for most of them, measured.

What it does
    Starts `streamlit run streamlit_app.py` (as the browser tests do, tests/browser_support.py) with
    Streamlit 1.67's experimental agent API switched on for this server only
    (`--server.enableAgentApi=true` on the command line, never in the shipped config). An agent
    session is a real AppSession driven over HTTP (`POST /_stcore/agent/interact`): a request opens
    a session or names one, sets widgets, presses a button, and returns when the script run has
    settled, with the page as a tree of elements (tables with their rows, exceptions) and the
    actions it offers. Then, for each page given with --pages:

    1. Warm-up: one agent session opens the home page, which starts the app's background warm-up
       (TensorFlow, the corpus, the three pretrained translators); the benchmark waits for the log
       line that says it finished. The server's resident memory then is the **idle** figure.
    2. Alone: one agent session opens the page and presses Train (the page's defaults, or --epochs),
       --solo-repeats times; the time from the press to the settled page is one training, and the
       last one (tracing and caches warm) is the baseline: trainings per minute of one session alone.
    3. The room: --sessions sessions open the page (agent sessions, plus --browsers real Chromium
       pages driven by Playwright), then --trainers of them press Train at the same moment. The
       agent API refuses any request on a session while its run is going (409 `session_busy`), so it
       cannot press Stop or move a slider mid-training: the browsers do that. Half of them press Stop
       once their training has started, the other half move a setting slider (the page's own
       mid-training rerun); the agent trainers run to the end.
       Meanwhile a newcomer opens the home page every 2 s: the **newcomer latency** is the wall time
       of one agent request that creates a session and returns the home page fully run (session
       creation, the script's run and the snapshot; no browser rendering, no static files). With
       --browser-newcomer, a Chromium newcomer also opens the home page in a fresh context (nothing
       cached) every 10 s, timed until the course map is drawn and the run has finished: what a
       latecomer really waits for. Visits over 2 s are listed with their time after the press, beside
       the times the room's trainings ended.
    4. Checks, for every trainer: the page shows no exception (agent: snapshot status and exception
       elements; browser: no stException box), and its run is kept (a run table shows "finished",
       or "stopped at epoch" for the browsers that stopped or moved a slider). The server log must
       hold no traceback.
    5. Closing: the browser pages close (their sessions are kept by Streamlit for reconnection for
       `server.disconnectedSessionTTL`, 120 s by default) and the agent sessions are left idle
       (Streamlit closes an agent session after `server.agentSessionTTL` idle seconds, set here with
       --agent-ttl; there is no explicit close). Memory is sampled until both have expired, then
       once more after a new browser comes and goes (Streamlit's session store drops expired
       sessions only when something is written to it).

    Server memory is the RSS of the server process tree, sampled every 0.5 s throughout.

Printed: the room's trainings per minute against one session alone on the same server (completed
presses of the agent trainers over the time from the common press to the last of them; the
browsers' stopped runs are not counted, so the ratio errs low), the newcomer latency (median and
worst), memory at idle, after one session, with the room open, at the room's peak, at its end and
after the sessions closed, and the checks. Nothing is asserted.

Run from the repository root:
    python benchmarks/room.py                              # Recurrence, 30 sessions, 10 train, 4 browsers
    python benchmarks/room.py --pages recurrence parameter_sharing
    python benchmarks/room.py --sessions 5 --trainers 3 --browsers 2 --epochs 1   # a quick check
    python benchmarks/room.py --sessions 30 --trainers 30 --browsers 0            # memory: all train once
Environment variables the server should get (MALLOC_ARENA_MAX, say) are passed with --server-env.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.memory import browser_cpu_seconds, cpu_seconds, rss_mb  # noqa: E402
from tests.browser_support import chromium, served_app, wait_until_idle  # noqa: E402

WARM_UP_LINE = re.compile(r"warm-up finished")
TARGET_RATIO = 0.9
NEWCOMER_EVERY_SECONDS = 2.0
BROWSER_NEWCOMER_EVERY_SECONDS = 10.0
SLOW_VISIT_SECONDS = 2.0
KEPT_STATUS = re.compile(r"^(finished|stopped at epoch)")


@dataclass(frozen=True)
class PageSpec:
    """How the benchmark addresses one training page: its Train button, a setting slider, its run table."""

    url_path: str
    train_label: str
    slider_label: str  # moved by one key press mid-training in the browsers that do not press Stop
    slider_key: str


PAGES = {
    "recurrence": PageSpec("recurrence", "Train the selected models", "Epochs", "ArrowRight"),
    "parameter_sharing": PageSpec("parameter_sharing", "Train", "Hidden units", "ArrowLeft"),
    "convnets": PageSpec("convnets", "Train the ConvNet, then the MLP", "Epochs", "ArrowRight"),
    "vanishing_gradients": PageSpec("vanishing_gradients", "Train", "Lag", "ArrowRight"),
    "translator": PageSpec("translator", "Train from scratch", "Epochs", "ArrowRight"),
    "attention": PageSpec("attention", "Train from scratch", "Epochs", "ArrowRight"),
    "transformer": PageSpec("transformer", "Train from scratch", "Epochs", "ArrowRight"),
}


# --- The agent API ------------------------------------------------------------------------------


class AgentError(RuntimeError):
    pass


def interact(url: str, body: dict, timeout: float = 1800, opener: urllib.request.OpenerDirector | None = None) -> dict:
    """One agent request; a run that outlasts the server's wait is collected by asking again.

    `opener` sends it instead of urllib's default, one with a cookie jar for instance (a session
    behind a sticky proxy, benchmarks/replicas.py)."""
    send = opener.open if opener is not None else urllib.request.urlopen
    while True:
        request = urllib.request.Request(
            f"{url}/_stcore/agent/interact",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with send(request, timeout=timeout) as response:
                status, document = response.status, json.load(response)
        except urllib.error.HTTPError as error:
            status, document = error.code, json.load(error)
        if status == 202 and document.get("error", {}).get("code") == "wait_timed_out":
            body = {"session_id": document["error"].get("session_id") or body["session_id"]}
            continue
        if "error" in document:
            raise AgentError(f"HTTP {status}: {document['error']}")
        return document


def action_key(snapshot: dict, label: str) -> str:
    for action in snapshot["actions"]:
        if action["label"] == label:
            return action["key"]
    raise AgentError(f"no action labelled {label!r} on {snapshot.get('page')}")


def nodes(tree, wanted: set[str]):
    """Every element of a snapshot's tree whose type is in `wanted`."""
    if isinstance(tree, dict):
        if isinstance(tree.get("type"), str) and tree["type"] in wanted:
            yield tree
        for value in tree.values():
            yield from nodes(value, wanted)
    elif isinstance(tree, list):
        for value in tree:
            yield from nodes(value, wanted)


def page_exceptions(snapshot: dict) -> list[str]:
    found = [json.dumps(node.get("props", {}))[:300] for node in nodes(snapshot.get("tree"), {"exception"})]
    if snapshot.get("status") == "error" and not found:
        found.append("status: error")
    return found


# The Vanishing-gradients page reports each run of its latest press in a sentence, not a table:
# "**SimpleRNN · lag 20**: held-out accuracy **0.95** (finished)", or "... stopped before its first round"; the
# status may go on inside the brackets ("finished · trained once for 30 sessions; it remembered after …").
SENTENCE_STATUS = re.compile(r"\((finished|stopped at epoch [\d.]+ of \d+)[^)]*\)|(stopped) before its first round")


def run_statuses(snapshot: dict) -> list[str]:
    """The Status column of every run table on the page (the baselines' "closed form" and the shipped
    translators' "shipped" left out), or else the status in each run's sentence."""
    statuses = []
    sentences = [json.dumps(node.get("props", {})) for node in nodes(snapshot.get("tree"), {"markdown"})]
    for sentence in sentences:
        statuses += [found[0] or "stopped at epoch 0" for found in SENTENCE_STATUS.findall(sentence)]
    for table in nodes(snapshot.get("tree"), {"dataframe"}):
        data = table.get("data", {})
        names = [column["name"] for column in data.get("columns", [])]
        if "Status" not in names:
            continue
        column = names.index("Status")
        statuses += [
            row[column]
            for row in data.get("preview", {}).get("rows", [])
            if row[column] not in ("closed form", "shipped")
        ]
    return statuses


def open_page(url: str, spec: PageSpec, epochs: int | None, seed: int | None = None) -> dict:
    snapshot = interact(url, {"page": spec.url_path})
    if epochs is not None:
        try:
            snapshot = interact(
                url, {"session_id": snapshot["session_id"], "widget_state": {action_key(snapshot, "Epochs"): epochs}}
            )
        except AgentError:
            pass  # outside this page's Epochs range: the page keeps its default (the report says which)
    if seed is not None:
        snapshot = interact(
            url, {"session_id": snapshot["session_id"], "widget_state": {action_key(snapshot, "Seed"): seed}}
        )
    return snapshot


def room_seed(arguments, number: int) -> int:
    """The seed a room's session presses with. Identical presses train once (lib/engine/shared_presses.py),
    and the press alone has trained the default seed already, so the room presses another one: the
    same for everyone (the usual room: the instructor says "press Train"), or one each (the worst case)."""
    return arguments.room_seed + (number if arguments.distinct_seeds else 0)


def press_train(url: str, snapshot: dict, spec: PageSpec) -> dict:
    return interact(
        url, {"session_id": snapshot["session_id"], "trigger": {"key": action_key(snapshot, spec.train_label)}}
    )


# --- Memory ------------------------------------------------------------------------------------


class MemorySampler:
    """The server's RSS every half second, in a thread, with the time of each sample."""

    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), rss_mb(self.pid)))
            self._stop.wait(0.5)

    def now(self) -> float:
        return rss_mb(self.pid)

    def peak(self, since: float, until: float | None = None) -> float:
        values = [value for moment, value in self.samples if moment >= since and (until is None or moment <= until)]
        return max(values, default=self.now())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def active_sessions(url: str) -> str:
    """The server's own count of sessions (Streamlit's /_stcore/metrics), or "?" when it cannot be read."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return "?"
    counts = [line.split()[-1] for line in text.splitlines() if line.startswith("active_sessions")]
    return counts[0] if counts else "?"


def malloc_trim(pid: int) -> bool:
    """Ask the server's C allocator to hand its free memory back to the system (gdb calls malloc_trim(0)).

    A diagnostic only: if RSS then falls to near the idle figure, what the closed sessions held was
    released by Python and TensorFlow and only kept by glibc's arenas; if it does not, something still
    references it.
    """
    import subprocess

    try:
        completed = subprocess.run(
            ["gdb", "-p", str(pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


TRIM_LABEL = "then malloc_trim(0) in the server (diagnostic)"


# --- CPU: where the cores went -------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every core, every process), from /proc/stat."""
    # user, nice, system, idle, iowait, irq, softirq; steal (time the hypervisor gave elsewhere) is left out.
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuReading:
    """CPU seconds spent so far by the server, by Chromium with Playwright, by this benchmark and by the whole machine."""

    server: float
    browsers: float
    benchmark: float
    machine: float
    moment: float

    @classmethod
    def now(cls, server_pid: int) -> CpuReading:
        return cls(
            cpu_seconds(server_pid),
            browser_cpu_seconds(server_pid),
            sum(os.times()[:2]),
            machine_busy_seconds(),
            time.monotonic(),
        )

    def since(self, earlier: CpuReading) -> dict[str, float]:
        spent = {
            "server": self.server - earlier.server,
            "Chromium and Playwright": self.browsers - earlier.browsers,
            "this benchmark (agent requests, newcomer)": self.benchmark - earlier.benchmark,
        }
        spent["other processes on the machine"] = max(0.0, self.machine - earlier.machine - sum(spent.values()))
        spent["wall"] = self.moment - earlier.moment
        return spent


def memory_after_close(result: PageResult) -> float:
    """The last memory figure of a page's room before the --trim diagnostic (what the server keeps by itself)."""
    return [value for label, value in result.memory.items() if label != TRIM_LABEL][-1]


def settle(sampler: MemorySampler, seconds: float = 3.0) -> float:
    time.sleep(seconds)
    return sampler.now()


# --- Where the interpreter's lock went (--profile) ---------------------------------------------------


def start_profiler(arguments, server_pid: int, spec: PageSpec):
    """With --profile PY_SPY: sample the server with py-spy while the room trains, only the thread that
    holds the interpreter's lock (`--gil`), so the samples share out the time the room's Python work
    was serialised on, by function; written as collapsed stacks to test-artifacts/room-<page>.pyspy.txt."""
    if not arguments.profile:
        return None
    import subprocess

    output = ROOT / "test-artifacts" / f"room-{spec.url_path}.pyspy.txt"
    command = [arguments.profile, "record", "--gil", "--threads", "--nonblocking", "--rate", "50"]
    command += ["--format", "raw", "--output", str(output), "--pid", str(server_pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop_profiler(profiler) -> None:
    if profiler is None:
        return
    import signal

    profiler.send_signal(signal.SIGINT)
    profiler.wait(timeout=60)


# --- The newcomer ------------------------------------------------------------------------------


class Newcomer:
    """Opens the home page as a new session every NEWCOMER_EVERY_SECONDS while the room trains.

    `visits` holds (monotonic time the visit began, its seconds), so a slow visit can be placed
    against the trainers' finishing times."""

    every_seconds = NEWCOMER_EVERY_SECONDS

    def __init__(self, url: str, begin: threading.Event | None = None):
        self.url, self.visits, self.problems, self._stop = url, [], [], threading.Event()
        self.begin = begin or threading.Event()
        if begin is None:
            self.begin.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def seconds(self) -> list[float]:
        return [seconds for _, seconds in self.visits]

    def visit(self) -> None:
        snapshot = interact(self.url, {})
        self.problems += page_exceptions(snapshot)

    def _run(self) -> None:
        try:
            self._start()
            self.begin.wait()
            while not self._stop.is_set():
                began, at = time.perf_counter(), time.monotonic()
                try:
                    self.visit()
                    self.visits.append((at, time.perf_counter() - began))
                except Exception as error:  # noqa: BLE001 - every failure is a finding, reported at the end.
                    self.problems.append(repr(error))
                self._stop.wait(self.every_seconds)
        except Exception as error:  # noqa: BLE001
            self.problems.append(f"could not start: {error!r}")
        finally:
            self._end()

    def _start(self) -> None:
        pass

    def _end(self) -> None:
        pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class BrowserNewcomer(Newcomer):
    """A newcomer in Chromium: a fresh browser context (nothing cached) opens the home page every
    BROWSER_NEWCOMER_EVERY_SECONDS, timed until the course map is drawn and the script has finished.

    This is what a participant who arrives late sees, static files included, where the agent
    request times the session's run and the snapshot only. Playwright's sync API belongs to the
    thread that started it, so this newcomer runs its own Chromium in its own thread."""

    every_seconds = BROWSER_NEWCOMER_EVERY_SECONDS

    quiet_visits = 3

    def _start(self) -> None:
        """Start Chromium, and time a few visits before the room presses Train (the quiet figure)."""
        self._browser_context = chromium()
        self._browser = self._browser_context.__enter__()
        self.quiet: list[float] = []
        for _ in range(self.quiet_visits):
            began = time.perf_counter()
            self.visit()
            self.quiet.append(time.perf_counter() - began)

    def visit(self) -> None:
        context = self._browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.goto(self.url, wait_until="domcontentloaded")
            page.get_by_text("Course map").wait_for(timeout=120_000)
            wait_until_idle(page, timeout_ms=120_000)
            if page.locator("[data-testid=stException]").count():
                self.problems.append("exception on the home page")
        finally:
            context.close()

    def _end(self) -> None:
        if hasattr(self, "_browser"):
            self._browser_context.__exit__(None, None, None)


# --- Browsers (the actions the agent API cannot take mid-run) ------------------------------------


@dataclass
class BrowserTrainer:
    page: object
    action: str  # "stop" or "slider"
    pressed: float = 0.0
    acted: float | None = None
    done: bool = False
    exception: str = ""
    kept: bool = False


def browser_act(trainer: BrowserTrainer, spec: PageSpec) -> None:
    page = trainer.page
    if trainer.action == "stop":
        page.get_by_role("button", name="Stop").click()
    else:
        # By its exact label: a trained translator page also has a "Moment of training (epochs)" slider.
        thumb = page.get_by_label(spec.slider_label, exact=True)
        thumb.focus()
        thumb.press(spec.slider_key)
    trainer.acted = time.monotonic()


def browser_finish(trainer: BrowserTrainer) -> None:
    from playwright.sync_api import expect

    page = trainer.page
    page.wait_for_timeout(1000)
    wait_until_idle(page, timeout_ms=900_000)
    boxes = page.locator("[data-testid=stException]")
    trainer.exception = boxes.first.inner_text() if boxes.count() else ""
    kept_run = re.compile("stopped at epoch|finished")
    try:
        # A run table, a run's sentence, or the note under the chart of a shared press (a session that left a
        # press still training for others keeps its curves, not a model to measure for the tables).
        expect(
            page.get_by_test_id("stDataFrame")
            .filter(has_text=kept_run)
            .or_(page.get_by_test_id("stMarkdown").filter(has_text=SENTENCE_STATUS))
            .or_(page.get_by_text(re.compile(r"^Newest run, .*: (stopped at epoch|finished)")))
            .first
        ).to_be_visible(timeout=30_000)
        trainer.kept = True
    except AssertionError:
        trainer.kept = False
    trainer.done = True


def drive_browsers(trainers: list[BrowserTrainer], spec: PageSpec, act_after_seconds: float) -> None:
    """Once each browser's training shows its progress bar, wait a little, then Stop or move the slider."""
    started_at: dict[int, float] = {}
    deadline = time.monotonic() + 1800
    while not all(trainer.done for trainer in trainers) and time.monotonic() < deadline:
        for number, trainer in enumerate(trainers):
            if trainer.done:
                continue
            if trainer.acted is None:
                if number not in started_at and trainer.page.get_by_test_id("stProgress").count():
                    started_at[number] = time.monotonic()
                if number in started_at and time.monotonic() - started_at[number] >= act_after_seconds:
                    browser_act(trainer, spec)
            else:
                browser_finish(trainer)
        time.sleep(0.3)


# --- One page --------------------------------------------------------------------------------------


@dataclass
class PageResult:
    page: str
    solo_seconds: list[float] = field(default_factory=list)
    solo_cpu: list[float] = field(default_factory=list)  # the server's CPU seconds per press alone
    room_cpu: dict[str, float] = field(default_factory=dict)
    room_seconds: float = 0.0
    room_completed: int = 0
    trainer_seconds: list[float] = field(default_factory=list)
    open_seconds: list[float] = field(default_factory=list)
    newcomer_seconds: list[float] = field(default_factory=list)
    newcomer_slow: list[tuple[float, float]] = field(default_factory=list)  # (seconds after the press, seconds)
    browser_newcomer_seconds: list[float] = field(default_factory=list)
    browser_newcomer_quiet: list[float] = field(default_factory=list)
    browser_newcomer_slow: list[tuple[float, float]] = field(default_factory=list)
    trainer_finishes: list[float] = field(default_factory=list)  # seconds after the press, agents and browsers
    problems: list[str] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    browsers: list[BrowserTrainer] = field(default_factory=list)
    sessions_left: str = "?"


def measure_page(url: str, spec: PageSpec, arguments, sampler: MemorySampler, browser, server_pid: int) -> PageResult:
    result = PageResult(spec.url_path)
    result.memory["before the page"] = settle(sampler)

    # 2. One session alone.
    solo = open_page(url, spec, arguments.epochs)
    for repeat in range(arguments.solo_repeats):
        # A seed of its own each time: a second press of the same settings would be served from the cache.
        solo = interact(url, {"session_id": solo["session_id"], "widget_state": {action_key(solo, "Seed"): repeat}})
        began, cpu_before = time.perf_counter(), cpu_seconds(server_pid)
        snapshot = press_train(url, solo, spec)
        result.solo_seconds.append(time.perf_counter() - began)
        result.solo_cpu.append(cpu_seconds(server_pid) - cpu_before)
        result.problems += [f"alone: {problem}" for problem in page_exceptions(snapshot)]
        if not any(KEPT_STATUS.match(status) for status in run_statuses(snapshot)):
            result.problems.append(f"alone: no run kept ({run_statuses(snapshot)})")
    result.memory["one session trained"] = settle(sampler)

    # The Chromium newcomer times its quiet visits now, before the room opens, and waits for the press.
    room_pressed = threading.Event()
    browser_newcomer = BrowserNewcomer(url, begin=room_pressed) if arguments.browser_newcomer else None
    while (
        browser_newcomer is not None
        and browser_newcomer._thread.is_alive()
        and len(getattr(browser_newcomer, "quiet", [])) < BrowserNewcomer.quiet_visits
    ):
        time.sleep(0.5)

    # 3. The room opens: the browsers first, so that no agent session sits idle past its TTL before the press.
    browser_trainers = []
    for number in range(arguments.browsers):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/{spec.url_path}?seed={room_seed(arguments, number)}", wait_until="domcontentloaded")
        wait_until_idle(page, timeout_ms=300_000)
        browser_trainers.append(BrowserTrainer(page, "stop" if number % 2 == 0 else "slider"))
    result.browsers = browser_trainers
    agent_count = arguments.sessions - arguments.browsers
    with ThreadPoolExecutor(max_workers=6) as pool:

        def timed_open(number):
            began = time.perf_counter()
            snapshot = open_page(url, spec, arguments.epochs, room_seed(arguments, arguments.browsers + number))
            return snapshot, time.perf_counter() - began

        opened = list(pool.map(timed_open, range(agent_count)))
    agents = [snapshot for snapshot, _ in opened]
    result.open_seconds = [seconds for _, seconds in opened]
    result.memory[f"{arguments.sessions} sessions open"] = settle(sampler)

    # The press, all at once.
    agent_trainers = agents[: max(0, arguments.trainers - arguments.browsers)]
    room_started = time.monotonic()
    newcomer = Newcomer(url)
    barrier = threading.Barrier(len(agent_trainers) + 1)
    finished: list[tuple[float, dict | Exception]] = []

    def train(snapshot: dict) -> None:
        barrier.wait()
        began = time.monotonic()
        try:
            outcome = press_train(url, snapshot, spec)
            finished.append((time.monotonic() - began, outcome))
        except Exception as error:  # noqa: BLE001
            finished.append((time.monotonic() - began, error))

    threads = [threading.Thread(target=train, args=(snapshot,)) for snapshot in agent_trainers]
    for thread in threads:
        thread.start()
    barrier.wait()
    pressed = time.monotonic()
    room_pressed.set()
    cpu_at_press = CpuReading.now(server_pid)
    profiler = start_profiler(arguments, server_pid, spec)
    for trainer in browser_trainers:
        trainer.page.get_by_role("button", name=spec.train_label).click()
        trainer.pressed = time.monotonic()
    drive_browsers(browser_trainers, spec, arguments.act_after)
    for thread in threads:
        thread.join()
    room_ended = time.monotonic()
    result.room_cpu = CpuReading.now(server_pid).since(cpu_at_press)
    stop_profiler(profiler)
    newcomer.stop()
    result.room_seconds = max([seconds for seconds, _ in finished] or [room_ended - pressed])
    result.newcomer_seconds = newcomer.seconds
    result.newcomer_slow = [(at - pressed, seconds) for at, seconds in newcomer.visits if seconds > SLOW_VISIT_SECONDS]
    result.problems += [f"newcomer: {problem}" for problem in newcomer.problems]
    if browser_newcomer is not None:
        browser_newcomer.stop()
        result.browser_newcomer_seconds = browser_newcomer.seconds
        result.browser_newcomer_quiet = getattr(browser_newcomer, "quiet", [])
        result.browser_newcomer_slow = [
            (at - pressed, seconds) for at, seconds in browser_newcomer.visits if seconds > SLOW_VISIT_SECONDS
        ]
        result.problems += [f"browser newcomer: {problem}" for problem in browser_newcomer.problems]
    result.trainer_finishes = sorted(
        [seconds for seconds, _ in finished]
        + [trainer.acted - pressed for trainer in browser_trainers if trainer.acted]
    )
    for seconds, outcome in finished:
        if isinstance(outcome, Exception):
            result.problems.append(f"trainer: {outcome!r}")
            continue
        result.trainer_seconds.append(seconds)
        result.problems += [f"trainer: {problem}" for problem in page_exceptions(outcome)]
        statuses = run_statuses(outcome)
        # "finished", or "finished · trained once for 28 sessions" when the presses were shared.
        if statuses and all(status.startswith("finished") for status in statuses):
            result.room_completed += 1
        else:
            result.problems.append(f"trainer: runs not all finished: {statuses}")
    for trainer in browser_trainers:
        if trainer.exception:
            result.problems.append(f"browser ({trainer.action}): exception {trainer.exception[:300]}")
        if not trainer.kept:
            result.problems.append(f"browser ({trainer.action}): no finished or stopped run in its table")
    result.memory["room peak"] = sampler.peak(room_started, room_ended)
    result.memory["room end"] = settle(sampler)

    # 5. Everyone leaves.
    for trainer in browser_trainers:
        trainer.page.context.close()
    if arguments.no_close:
        return result
    left = time.monotonic()
    agent_gone = 2 * arguments.agent_ttl + 5  # idle for the TTL, then the next sweep (every TTL seconds)
    time.sleep(max(0.0, left + agent_gone - time.monotonic()))
    result.memory[f"agent sessions expired (+{agent_gone:.0f} s)"] = settle(sampler)
    result.sessions_left = active_sessions(url)
    if arguments.browsers:
        browser_gone = arguments.disconnected_ttl + 10
        time.sleep(max(0.0, left + browser_gone - time.monotonic()))
        result.memory[f"browser sessions' TTL passed (+{browser_gone:.0f} s)"] = settle(sampler)
        # A new browser session that comes and goes writes to the session store, which drops the
        # expired ones then.
        context = browser.new_context()
        visitor = context.new_page()
        visitor.goto(url, wait_until="domcontentloaded")
        wait_until_idle(visitor)
        context.close()
        result.memory["after one more visitor came and went"] = settle(sampler, 8.0)
        result.sessions_left = active_sessions(url)
    if arguments.trim and malloc_trim(server_pid):
        result.memory[TRIM_LABEL] = settle(sampler)
    return result


# --- Reporting ---------------------------------------------------------------------------------------


def report(result: PageResult, idle: float, arguments) -> None:
    solo = result.solo_seconds[-1]
    solo_rate = 60.0 / solo
    room_rate = 60.0 * result.room_completed / result.room_seconds if result.room_seconds else 0.0
    ratio = room_rate / solo_rate
    key = result.page
    print(
        f"\n=== {key}: {arguments.sessions} sessions open, {arguments.trainers} press Train at once "
        f"({arguments.browsers} of them in Chromium: {sum(t.action == 'stop' for t in result.browsers)} press Stop, "
        f"{sum(t.action == 'slider' for t in result.browsers)} move a slider) ==="
    )
    print(
        "one session alone: "
        + ", ".join(f"{seconds:.1f} s" for seconds in result.solo_seconds)
        + f" per press (the last is the baseline): {solo_rate:.2f} trainings/min; server CPU per press "
        + ", ".join(f"{seconds:.1f} s" for seconds in result.solo_cpu)
        + f" ({result.solo_cpu[-1] / solo:.2f} cores busy)"
    )
    print(
        f"room: {result.room_completed} of {len(result.trainer_seconds)} agent trainers finished in "
        f"{result.room_seconds:.1f} s (each: median {statistics.median(result.trainer_seconds or [0]):.1f} s): "
        f"{room_rate:.2f} trainings/min, {ratio:.2f} x one session alone (target >= {TARGET_RATIO})"
    )
    print(
        f"the last participant had a finished run {result.room_seconds:.1f} s after the press: "
        f"{result.room_seconds / solo:.2f} x one press alone (target for the usual room <= 1.5; "
        f"{'one seed for everyone' if not arguments.distinct_seeds else 'a seed each'})"
    )
    if result.room_cpu:
        # Where the cores went while the room trained: if the server's CPU per finished training grows
        # far beyond one press alone, the room thrashes; if the cores went elsewhere (Chromium drawing
        # the browsers' charts on this same machine), the server was starved instead.
        available = result.room_cpu["wall"] * (os.cpu_count() or 1)
        print(
            f"CPU while the room trained ({result.room_cpu['wall']:.0f} s x {os.cpu_count()} cores = {available:.0f} core-seconds):"
        )
        for name, seconds in result.room_cpu.items():
            if name != "wall":
                print(f"  {name:45} {seconds:8.1f} s ({seconds / available:.0%})")
        if result.room_completed:
            per_training = result.room_cpu["server"] / result.room_completed
            print(
                f"  server CPU per finished agent training: {per_training:.1f} s against {result.solo_cpu[-1]:.1f} s alone "
                f"(an upper bound: the browsers' cut-short trainings are in the server's time too)"
            )
    if result.open_seconds:
        print(
            f"opening the page ({len(result.open_seconds)} agent sessions, 6 at a time): median "
            f"{statistics.median(result.open_seconds):.2f} s, worst {max(result.open_seconds):.2f} s"
        )
    if result.newcomer_seconds:
        print(
            f"newcomer's home page while the room trains ({len(result.newcomer_seconds)} visits): median "
            f"{statistics.median(result.newcomer_seconds):.2f} s, worst {max(result.newcomer_seconds):.2f} s"
        )
        print(
            f"  visits over {SLOW_VISIT_SECONDS:.0f} s (began s after the press: seconds): "
            + (", ".join(f"{at:.0f}: {seconds:.2f}" for at, seconds in result.newcomer_slow) or "none")
        )
    if result.browser_newcomer_seconds:
        print(
            f"newcomer's home page in Chromium, nothing cached ({len(result.browser_newcomer_seconds)} visits): median "
            f"{statistics.median(result.browser_newcomer_seconds):.2f} s, worst {max(result.browser_newcomer_seconds):.2f} s "
            f"(before the room opened: "
            + ", ".join(f"{seconds:.2f}" for seconds in result.browser_newcomer_quiet)
            + " s)"
        )
        print(
            f"  visits over {SLOW_VISIT_SECONDS:.0f} s (began s after the press: seconds): "
            + (", ".join(f"{at:.0f}: {seconds:.2f}" for at, seconds in result.browser_newcomer_slow) or "none")
        )
    if result.trainer_finishes:
        print(
            "trainings ended (s after the press; agents finished, browsers stopped or moved a slider): "
            + ", ".join(f"{seconds:.0f}" for seconds in result.trainer_finishes)
        )
    for trainer in result.browsers:
        acted = f"{trainer.acted - trainer.pressed:.1f} s after its press" if trainer.acted else "never"
        print(
            f"browser ({trainer.action}): acted {acted}; exception: {trainer.exception[:80] or 'none'}; "
            f"run kept: {trainer.kept}"
        )
    print(f"{'server memory':52} {'RSS MB':>8} {'- idle':>8}")
    for label, value in result.memory.items():
        print(f"{label:52} {value:>8.0f} {value - idle:>+8.0f}")
    opened = result.memory.get(f"{arguments.sessions} sessions open", idle)
    end = result.memory.get("room end", idle)
    if arguments.trainers:
        print(
            f"per open session: {(opened - result.memory['one session trained']) / max(1, arguments.sessions):.1f} MB; "
            f"per training session at the room's end: {(end - opened) / arguments.trainers:.1f} MB"
        )
    print(f"sessions the server still counts after the room closed: {result.sessions_left}")
    print("problems: " + ("none" if not result.problems else f"{len(result.problems)}"))
    for problem in result.problems[:30]:
        print(f"  - {problem}")
    print(f"RESULT {key}_solo_s={solo:.1f}")
    print(f"RESULT {key}_room_s={result.room_seconds:.1f}")
    print(f"RESULT {key}_room_over_solo_trainings_per_minute={ratio:.2f}")
    if result.room_cpu:
        available = result.room_cpu["wall"] * (os.cpu_count() or 1)
        print(f"RESULT {key}_room_server_cpu_share={result.room_cpu['server'] / available:.2f}")
        print(f"RESULT {key}_room_browsers_cpu_share={result.room_cpu['Chromium and Playwright'] / available:.2f}")
    if result.newcomer_seconds:
        print(f"RESULT {key}_newcomer_median_s={statistics.median(result.newcomer_seconds):.2f}")
        print(f"RESULT {key}_newcomer_worst_s={max(result.newcomer_seconds):.2f}")
    if result.browser_newcomer_seconds:
        print(f"RESULT {key}_browser_newcomer_median_s={statistics.median(result.browser_newcomer_seconds):.2f}")
        print(f"RESULT {key}_browser_newcomer_worst_s={max(result.browser_newcomer_seconds):.2f}")
    print(f"RESULT {key}_rss_peak_mb={result.memory['room peak']:.0f}")
    print(f"RESULT {key}_rss_after_close_mb={memory_after_close(result):.0f}")
    if TRIM_LABEL in result.memory:
        print(f"RESULT {key}_rss_after_malloc_trim_mb={result.memory[TRIM_LABEL]:.0f}")
    print(f"RESULT {key}_problems={len(result.problems)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", nargs="+", default=["recurrence"], choices=list(PAGES))
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=10)
    parser.add_argument("--browsers", type=int, default=4, help="trainers driven by Chromium (Stop / slider)")
    parser.add_argument("--epochs", type=int, default=None, help="set the page's Epochs slider first (agent sessions)")
    parser.add_argument("--solo-repeats", type=int, default=2)
    parser.add_argument(
        "--room-seed",
        type=int,
        default=100,
        help="the seed the room presses with (the press alone trains the page's default seed)",
    )
    parser.add_argument(
        "--distinct-seeds",
        action="store_true",
        help="each session presses its own seed (room-seed + its number): no press is shared",
    )
    parser.add_argument("--act-after", type=float, default=3.0, help="seconds of training before Stop / the slider")
    parser.add_argument(
        "--agent-ttl",
        type=int,
        default=60,
        help="server.agentSessionTTL for this server; keep it above the time the room takes to open "
        "(at 20 s, 28 sessions opened 6 at a time expired before the press)",
    )
    parser.add_argument(
        "--disconnected-ttl", type=int, default=120, help="server.disconnectedSessionTTL (Streamlit's default)"
    )
    parser.add_argument(
        "--trim",
        action="store_true",
        help="after the sessions close, call malloc_trim(0) in the server with gdb (diagnostic)",
    )
    parser.add_argument(
        "--browser-newcomer",
        action="store_true",
        help=f"also time a newcomer in Chromium (a fresh context every {BROWSER_NEWCOMER_EVERY_SECONDS:.0f} s)",
    )
    parser.add_argument(
        "--no-close",
        action="store_true",
        help="skip waiting for the sessions to expire (and the memory figures after they close)",
    )
    parser.add_argument(
        "--profile",
        metavar="PY_SPY",
        default="",
        help="the py-spy program: sample the server while the room trains (test-artifacts/room-<page>.pyspy.txt)",
    )
    parser.add_argument("--server-env", nargs="*", default=[], help="NAME=VALUE for the server's environment")
    arguments = parser.parse_args()
    arguments.browsers = min(arguments.browsers, arguments.trainers, arguments.sessions)

    started = time.perf_counter()
    server_env = {"TF_CPP_MIN_LOG_LEVEL": "2", **dict(item.split("=", 1) for item in arguments.server_env)}
    log_path = ROOT / "test-artifacts" / "room-benchmark-server.log"
    flags = [
        "--server.enableAgentApi=true",
        "--server.agentWaitTimeout=1800",
        f"--server.agentSessionTTL={arguments.agent_ttl}",
        "--server.agentMaxSessions=200",
        f"--server.disconnectedSessionTTL={arguments.disconnected_ttl}",
    ]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs; load average "
        f"{' '.join(f'{value:.2f}' for value in os.getloadavg())}; server env {server_env}"
    )
    with served_app(log_path, extra_env=server_env, extra_args=flags) as (url, server), chromium() as browser:
        sampler = MemorySampler(server.pid)
        before_warm_up = sampler.now()
        interact(url, {})  # the first page view starts the warm-up
        deadline = time.monotonic() + 600
        while not WARM_UP_LINE.search(log_path.read_text()) and time.monotonic() < deadline:
            time.sleep(1)
        idle = settle(sampler, 5.0)
        print(f"server RSS: {before_warm_up:.0f} MB at start, {idle:.0f} MB after the warm-up (idle figure)")
        results = []
        for page in arguments.pages:
            result = measure_page(url, PAGES[page], arguments, sampler, browser, server.pid)
            results.append(result)
            report(result, idle, arguments)
            idle = memory_after_close(result)
        sampler.stop()
        tracebacks = log_path.read_text().count("Traceback")
    print(f"\nserver log tracebacks: {tracebacks} ({log_path})")
    print(f"load average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"RESULT server_tracebacks={tracebacks}")
    print(f"RESULT room_runtime_s={time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
