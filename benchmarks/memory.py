"""Resident memory of the real app server, idle, after the Home page, and after a live training.

What it measures
    Starts `streamlit run streamlit_app.py --server.headless true` on a free port of 127.0.0.1 as a
    subprocess, waits for /_stcore/health, and reads VmRSS from /proc/PID/status of the server
    process (plus any child processes, recursively):

    1. idle: the server up, no browser connected (the baseline);
    2. after Home: headless Chromium (Playwright) opened the Home page and its script finished
       (`[data-testid=stApp][data-test-script-state=notRunning]`); it also checks, from
       /proc/PID/maps, that TensorFlow has not been loaded (no libtensorflow* /
       _pywrap_tensorflow* mapped) — Home must not import it;
    3. Parameter-sharing page opened (/parameter_sharing): its cached Keras parameter counts load
       TensorFlow;
    4. after pressing "Train" with the page's default settings (100 digits, 512 hidden units,
       60 epochs) and waiting for the run to finish;
    5. after a second training (the newest runs keep their models: lib.engine.training.MODELS_KEPT_PER_PAGE = 3);
    6. the Translator page opened in the same session (the shipped seq2seq model and the
       48,000-pair corpus, both cached once per process), then in a second browser session.

    Each figure is printed with its ratio to the idle baseline. Only the server's memory is
    counted, not Chromium's.

Target
    Home page under 300 MB of server RSS, with TensorFlow not imported. Printed, never asserted.

Run from the repository root:  python benchmarks/memory.py   (≈2 minutes)
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import chromium, served_app, wait_until_idle  # noqa: E402  (the app is served as the tests serve it)

TARGET_HOME_MB = 300
TF_LIBRARY = re.compile(r"libtensorflow|_pywrap_tensorflow")


def process_tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc/PID/task/*/children."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def rss_mb(pid: int) -> float:
    total_kb = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def settled_rss_mb(pid: int, seconds: float = 2.0, samples: int = 5) -> float:
    """RSS after a short settle; the last of a few samples (memory only grows while settling)."""
    values = []
    for _ in range(samples):
        time.sleep(seconds / samples)
        values.append(rss_mb(pid))
    return values[-1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree (from /proc/PID/stat, in clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def browser_cpu_seconds(server_pid: int) -> float:
    """CPU time of this benchmark's other descendants: the Playwright driver and Chromium."""
    return cpu_seconds(os.getpid()) - cpu_seconds(server_pid) - sum(os.times()[:2])


def tensorflow_loaded(pid: int) -> bool:
    for member in process_tree(pid):
        try:
            if TF_LIBRARY.search(Path(f"/proc/{member}/maps").read_text()):
                return True
        except OSError:
            continue
    return False


def main() -> None:
    started = time.perf_counter()
    figures: list[tuple[str, float, str]] = []
    checks: dict[str, bool] = {}
    log_path = ROOT / "test-artifacts" / "memory-benchmark-server.log"
    health_started = time.perf_counter()
    with (
        served_app(log_path, extra_env={"TF_CPP_MIN_LOG_LEVEL": "2", "RNN_PLAYGROUND_WARM_UP": "0"}) as (url, server),
        chromium() as browser,
    ):
        startup = time.perf_counter() - health_started
        idle = settled_rss_mb(server.pid)
        figures.append(("idle (server up, no session)", idle, "idle"))
        checks["tf_loaded_idle"] = tensorflow_loaded(server.pid)

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/", wait_until="domcontentloaded")
        page.get_by_role("heading", name="RNN Playground").first.wait_for(timeout=60_000)
        wait_until_idle(page)
        home = settled_rss_mb(server.pid)
        figures.append(("after Home page", home, "home"))
        checks["tf_loaded_after_home"] = tensorflow_loaded(server.pid)

        page.goto(f"{url}/parameter_sharing", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Parameter sharing").first.wait_for(timeout=60_000)
        wait_until_idle(page)
        page.get_by_text("No run yet").wait_for(timeout=60_000)
        sharing = settled_rss_mb(server.pid)
        figures.append(("after Parameter sharing page", sharing, "sharing_page"))
        checks["tf_loaded_after_sharing"] = tensorflow_loaded(server.pid)

        train_seconds, train_server_cpu, train_browser_cpu = [], [], []
        for number in (1, 2):
            button = page.locator("[data-testid=stBaseButton-primary]", has_text="Train")
            cpu_before, browser_before = cpu_seconds(server.pid), browser_cpu_seconds(server.pid)
            click = time.perf_counter()
            button.click()
            if number == 1:
                page.get_by_text("No run yet").wait_for(state="detached", timeout=120_000)
            wait_until_idle(page, timeout_ms=180_000)
            train_seconds.append(time.perf_counter() - click)
            train_server_cpu.append(cpu_seconds(server.pid) - cpu_before)
            train_browser_cpu.append(browser_cpu_seconds(server.pid) - browser_before)
            figures.append((f"after training run {number}", settled_rss_mb(server.pid), f"train{number}"))

        # The Translator page caches, for every session, the shipped model and the 48,000-pair corpus;
        # a second session adds only its own page state.
        for number, key in ((1, "translator_page"), (2, "translator_second_session")):
            visitor = page if number == 1 else browser.new_page(viewport={"width": 1400, "height": 1000})
            visitor.goto(f"{url}/translator", wait_until="domcontentloaded")
            visitor.get_by_text("Greedy decoding").first.wait_for(timeout=180_000)
            wait_until_idle(visitor, timeout_ms=180_000)
            label = "after Translator page" if number == 1 else "a second Translator session"
            figures.append((label, settled_rss_mb(server.pid), key))
            if number == 2:
                visitor.close()
        page.close()

    print()
    print(f"{'server state':34} {'RSS MB':>8} {'x idle':>7}")
    for label, value, _ in figures:
        print(f"{label:34} {value:>8.1f} {value / idle:>7.2f}")
    print(
        f"TensorFlow mapped: idle={checks['tf_loaded_idle']} after Home={checks['tf_loaded_after_home']} "
        f"after Parameter sharing={checks['tf_loaded_after_sharing']}"
    )
    print(
        f"server startup to healthy: {startup:.1f} s; training click-to-idle: "
        + ", ".join(f"{s:.1f} s" for s in train_seconds)
    )
    print(
        "during training: server CPU "
        + ", ".join(f"{c:.1f} s" for c in train_server_cpu)
        + "; Chromium + Playwright CPU "
        + ", ".join(f"{c:.1f} s" for c in train_browser_cpu)
        + f" (both on the same {os.cpu_count()} cores)"
    )
    print(
        f"target: Home < {TARGET_HOME_MB} MB without TensorFlow -> "
        f"{'met' if home < TARGET_HOME_MB and not checks['tf_loaded_after_home'] else 'NOT met'}"
    )
    print()
    for _, value, key in figures:
        print(f"RESULT rss_{key}_mb={value:.1f}")
        if key != "idle":
            print(f"RESULT rss_{key}_over_idle={value / idle:.2f}")
    print(f"RESULT tensorflow_loaded_after_home={int(checks['tf_loaded_after_home'])}")
    print(f"RESULT tensorflow_loaded_after_sharing={int(checks['tf_loaded_after_sharing'])}")
    print(f"RESULT training_click_to_idle_s={train_seconds[0]:.1f}")
    print(f"RESULT training_server_cpu_s={train_server_cpu[0]:.1f}")
    print(f"RESULT training_browser_cpu_s={train_browser_cpu[0]:.1f}")
    print(f"RESULT memory_runtime_s={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
