"""Serve the real app and drive Debian's Chromium: shared by the browser tests, the screenshot
script and the memory benchmark, so that all three start the app the same way. Also puts the
shipped HAProxy configuration (deploy/haproxy.cfg) in front of several replicas on loopback."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where tests and scripts leave server logs, screenshots and work files (ignored by git).
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port(addresses: tuple[str, ...] = ("127.0.0.1",)) -> int:
    """A TCP port free on every one of the given loopback addresses."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = probe.getsockname()[1]
        try:
            for address in addresses[1:]:
                with socket.socket() as probe:
                    probe.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on all of {addresses}")


@contextlib.contextmanager
def served_app(
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    address: str = "127.0.0.1",
    port: int | None = None,
    extra_args: list[str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run` headless on a loopback address and port (by default 127.0.0.1 and a free
    port), with any `extra_args` (Streamlit options such as `--server.enableAgentApi=true`);
    yields (url, server process) once healthy."""
    port = port or free_port((address,))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "streamlit_app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                address,
                *(extra_args or []),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
        )
        try:
            url = f"http://{address}:{port}"
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


def assert_no_exception(page) -> None:
    """No exception box on the page (Streamlit draws one where a script raised)."""
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def slider(page, label: str):
    """The thumb of the slider labelled `label`."""
    return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")


def move_slider(page, label: str, key: str, presses: int, expected: str) -> None:
    """Move a slider with the keyboard and wait until the app has rerun with its new value.

    Streamlit's slider sends its value a moment after the last key press, so waiting for the
    thumb's value and then for the script to finish avoids clicking into a rerun still to come.
    """
    from playwright.sync_api import expect

    thumb = slider(page, label)
    thumb.focus()
    for _ in range(presses):
        thumb.press(key)
    expect(thumb).to_have_attribute("aria-valuetext", expected)
    page.wait_for_timeout(800)
    wait_until_idle(page)


def run_table(page):
    """The page's last table: on a training page, its table of runs."""
    return page.get_by_test_id("stDataFrame").last


def open_expander(page, label: str) -> None:
    """Open the expander labelled `label` and wait for its opening animation to end.

    While the expander grows it clips what it holds and scrolls within itself to show whatever
    Playwright scrolls into view, then unwinds that scroll as it grows: a click that starts in that
    window lands its press on one element and its release on another, and opens nothing (seen once in
    about eight clicks on a preset link). A person cannot aim at a link before it has appeared.
    """
    expander = page.get_by_test_id("stExpander").filter(has_text=label)
    expander.get_by_text(label).click()
    page.wait_for_function(
        """details => {
            const height = details.getBoundingClientRect().height;
            const settled = details.open && details.scrollTop === 0
                && details.scrollHeight <= details.clientHeight + 1 && height === details.lastHeight;
            details.lastHeight = height;
            return settled;
        }""",
        arg=expander.locator("details").element_handle(),
        polling="raf",
    )


@contextlib.contextmanager
def loopback_dns(addresses: list[str]) -> Iterator[int]:
    """A DNS server on 127.0.0.1 that answers every A query with all of `addresses`, as Docker's
    embedded DNS answers a Compose service name with one address per replica; yields its UDP port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.5)
    stopping = threading.Event()

    def answer() -> None:
        while not stopping.is_set():
            try:
                query, client = server.recvfrom(4096)
            except TimeoutError:
                continue
            # The question: length-prefixed labels up to a zero byte, then its type and class.
            end = 12
            while query[end] != 0:
                end += query[end] + 1
            question, question_type = query[12 : end + 5], struct.unpack(">H", query[end + 1 : end + 3])[0]
            records = [
                # A pointer to the question's name (offset 12), type A, class IN, 5 s to live, 4 bytes.
                struct.pack(">HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(address)
                for address in (addresses if question_type == 1 else [])
            ]
            identifier = query[:2]
            header = identifier + struct.pack(">HHHHH", 0x8180, 1, len(records), 0, 0)
            server.sendto(header + question + b"".join(records), client)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stopping.set()
        thread.join(timeout=2)
        server.close()


def haproxy_config(listen_port: int, dns_port: int, replica_port: int) -> str:
    """deploy/haproxy.cfg listening on 127.0.0.1:`listen_port`, asking the DNS server on
    127.0.0.1:`dns_port` instead of Docker's, for replicas on `replica_port` instead of 8501.

    Everything else (finding replicas by DNS, cookie stickiness, health checks, timeouts, logging)
    is the shipped file's; a change of the three replaced lines makes this fail loudly rather than
    test something else.
    """
    text = HAPROXY_CONFIG.read_text()
    replacements = [
        (r"(?m)^    bind :8080$", f"    bind 127.0.0.1:{listen_port}"),
        (r"(?m)^(    nameserver \S+) 127\.0\.0\.11:53$", rf"\g<1> 127.0.0.1:{dns_port}"),
        (r"(?m)^(    server-template app \S+ app):8501 ", rf"\g<1>:{replica_port} "),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        if count != 1:
            raise RuntimeError(f"{HAPROXY_CONFIG} no longer has exactly one line matching {pattern}")
    return text


@contextlib.contextmanager
def haproxy_in_front(replica_addresses: list[str], replica_port: int, work_dir: Path) -> Iterator[tuple[str, Path]]:
    """HAProxy with the shipped configuration on a free loopback port, finding the replicas (the
    given loopback addresses, all on `replica_port`) by DNS as it does in Compose; yields
    (url, path of its log: one `option httplog` line per request, naming the server it went to)."""
    if not Path(HAPROXY).exists():
        raise RuntimeError(f"{HAPROXY} is missing: install Debian's haproxy (apt-get install -y haproxy)")
    port = free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path, log_path = work_dir / "haproxy.cfg", work_dir / "haproxy.log"
    with loopback_dns(replica_addresses) as dns_port, open(log_path, "w") as log:
        config_path.write_text(haproxy_config(port, dns_port, replica_port))
        # -db: stay in the foreground, so the log (written to standard output) lands in the file.
        proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            # Until DNS has answered, every server slot is in maintenance and HAProxy answers 503.
            wait_until_healthy(url, proxy, f"haproxy did not start or pass requests on; see {log_path}")
            yield url, log_path
        finally:
            stop(proxy)


def haproxy_server_addresses(log_path: Path) -> dict[str, str]:
    """The address DNS gave each of HAProxy's server slots, from its log ("replicas/app1 changed its IP from (none) to 127.0.0.2 ...")."""
    return dict(re.findall(r"replicas/(\w+) changed its IP from \S+ to ([\d.]+)", log_path.read_text()))
