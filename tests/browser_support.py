"""Serve the real app and drive Debian's Chromium: shared by the browser tests, the screenshot
script and the memory benchmark, so that all three start the app the same way. Also puts the
shipped HAProxy configuration (deploy/haproxy.cfg) in front of several replicas on loopback."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def served_app(log_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run` headless on a free loopback port; yields (url, server process) once healthy."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, server, f"streamlit did not become healthy; see {log_path}")
            yield url, server
        finally:
            stop(server)


def wait_until_healthy(url: str, process: subprocess.Popen, problem: str, timeout_s: float = 60) -> None:
    """Poll Streamlit's /_stcore/health at `url` until it answers 200 (directly or through a proxy)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(problem)
        time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def haproxy_config(replica_urls: list[str], port: int) -> str:
    """deploy/haproxy.cfg with its listening address moved to 127.0.0.1:`port` and its replicas,
    found by DNS in Compose, replaced by the given loopback servers named app1, app2, ...

    Everything else (cookie stickiness, health checks, timeouts, logging) is the shipped file's;
    a change of the two replaced lines makes this fail loudly rather than test something else.
    """
    text = HAPROXY_CONFIG.read_text()
    servers = "\n".join(
        f"    server app{number} {url.removeprefix('http://')}"
        for number, url in enumerate(replica_urls, start=1)
    )
    text, binds = re.subn(r"(?m)^    bind :8080$", f"    bind 127.0.0.1:{port}", text)
    text, templates = re.subn(r"(?m)^    server-template app .*$", servers, text)
    if (binds, templates) != (1, 1):
        raise RuntimeError(f"{HAPROXY_CONFIG} no longer has one `bind :8080` and one `server-template app` line")
    return text


@contextlib.contextmanager
def haproxy_in_front(replica_urls: list[str], work_dir: Path) -> Iterator[tuple[str, Path]]:
    """HAProxy with the shipped configuration in front of `replica_urls`, on a free loopback port;
    yields (url, path of its log: one `option httplog` line per request, the server it went to in each)."""
    if not Path(HAPROXY).exists():
        raise RuntimeError(f"{HAPROXY} is missing: install Debian's haproxy (apt-get install -y haproxy)")
    port = free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path, log_path = work_dir / "haproxy.cfg", work_dir / "haproxy.log"
    config_path.write_text(haproxy_config(replica_urls, port))
    with open(log_path, "w") as log:
        # -db: stay in the foreground, so the log (written to standard output) lands in the file.
        proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, proxy, f"haproxy did not start or pass requests on; see {log_path}")
            yield url, log_path
        finally:
            stop(proxy)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium under Playwright (Playwright's own browser download is not available here)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until_idle(page, timeout_ms: int = 90_000) -> None:
    """Wait until Streamlit's script has finished running for this page."""
    page.wait_for_timeout(200)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
