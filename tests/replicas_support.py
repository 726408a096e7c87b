"""The check that sessions through a sticky proxy each stay on one replica of two and use both, with
its helpers: run by tests/test_browser_replicas.py (replicas and HAProxy on loopback) and by
tests/test_deploy_compose.py (the shipped Compose file on a Docker engine).

Several browser sessions open the Recurrence page through the proxy, each uploading its own series.
Every request of a session (page load, WebSocket, the upload) must reach one replica, the sessions
must be spread over both, and each page must show its own upload. Which replica served a request is
read from HAProxy's own log (`option httplog`: one line per request, naming the server), each browser
context having its own User-Agent, which HAProxy captures."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from playwright.sync_api import Page, expect

from lib.data.series import parse_uploaded_series
from lib.models.timeseries import prepare_forecasting_data
from tests.browser_support import assert_no_exception, move_slider, wait_until_idle

SESSIONS = 4
# One line of HAProxy's `option httplog` format: ... backend/server timers status ... {User-Agent} "METHOD path HTTP/x".
LOG_LINE = re.compile(
    r"\s(?P<backend>[\w-]+)/(?P<server>\S+) \S+ (?P<status>-?\d+) .*\{(?P<agent>[^}]*)\} \"(?P<method>\S+) (?P<path>\S+)"
)
UPLOAD_PATH = "/_stcore/upload_file/"
UPLOAD_HISTORY = (
    48  # the Recurrence page's default history for an uploaded series (lib.page_glue.recurrence.UPLOAD_SOURCE)
)


def session_series_csv(session: int) -> bytes:
    """A daily series of its own length for each session, so each page can be told to show its own upload."""
    days = 700 + 60 * session
    dates = pd.date_range("2020-01-01", periods=days, freq="D")
    value = 10 + 8 * np.sin(np.arange(days) * 2 * np.pi / 365.25) + np.random.default_rng(session).normal(0, 1, days)
    return (
        pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "temperature": value.round(2)}).to_csv(index=False).encode()
    )


def training_windows_caption(csv: bytes, history: int) -> str:
    """The page's split caption for this upload, computed with the page's own library."""
    data = prepare_forecasting_data(parse_uploaded_series(csv)["value"].to_numpy(), history, 1)
    return (
        f"{len(data.y_train):,} training windows, {len(data.y_validation):,} validation and {len(data.y_test):,} test"
    )


def session_tag(session: int) -> str:
    return f"replica-test-session-{session}"


def upload_series(page: Page, csv: bytes, name: str) -> None:
    page.get_by_text("Upload your own series").click(timeout=180_000)
    # The series box, not the box beside it that loads an exported run back (it takes .zip archives).
    page.locator("[data-testid=stFileUploader] input[type=file][accept*='.csv']").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": csv}]
    )
    wait_until_idle(page)


def replay_upload(upload, context, proxy_url: str, replica_url: str, csv: bytes) -> tuple[int, str]:
    """Send a browser's upload again (its address, XSRF cookie and token, the same file) to one
    replica directly. Playwright does not keep a file upload's body, so the form is built here."""
    xsrf = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "_streamlit_xsrf")
    boundary = "replica-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="replayed.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + csv
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        replica_url + upload.url.removeprefix(proxy_url),
        data=body,
        method="PUT",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": xsrf,
            "Cookie": f"_streamlit_xsrf={xsrf}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refusal:
        return refusal.code, refusal.read().decode()


def requests_by_session(log_path: Path) -> dict[str, list[re.Match]]:
    by_session: dict[str, list[re.Match]] = defaultdict(list)
    for line in log_path.read_text().splitlines():
        match = LOG_LINE.search(line)
        if match and match["agent"].startswith("replica-test-session-"):
            by_session[match["agent"].split()[0]].append(match)
    return by_session


def wait_for_websocket_lines(log_path: Path) -> dict[str, list[re.Match]]:
    """HAProxy logs a WebSocket when it closes: wait up to 10 s after the browsers closed theirs."""
    deadline = time.monotonic() + 10
    while True:
        by_session = requests_by_session(log_path)
        opened = [
            any(request["path"].startswith("/_stcore/stream") for request in by_session.get(session_tag(session), []))
            for session in range(1, SESSIONS + 1)
        ]
        if all(opened) or time.monotonic() > deadline:
            return by_session
        time.sleep(0.2)


def assert_sessions_stay_on_one_replica_and_use_both(
    browser, proxy_url: str, replica_urls: dict[str, str], log_path: Path
) -> None:
    """The check itself, for any proxy in front of two replicas whose log HAProxy writes to `log_path`
    (also run against the shipped Compose file, in tests/test_deploy_compose.py)."""
    probe = browser.new_context()
    default_agent = probe.new_page().evaluate("navigator.userAgent")
    probe.close()

    contexts, pages, uploads = [], {}, {}
    for session in range(1, SESSIONS + 1):
        # Separate contexts are separate cookie jars: separate browsers, as in a workshop room.
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, user_agent=f"{session_tag(session)} {default_agent}"
        )
        contexts.append(context)
        page = context.new_page()
        page.on(
            "request",
            lambda request, session=session: (
                uploads.setdefault(session, request) if UPLOAD_PATH in request.url and request.method == "PUT" else None
            ),
        )
        # The home page first, then the Recurrence page through the navigation, as a participant would.
        page.goto(proxy_url)
        wait_until_idle(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Recurrence").click()
        wait_until_idle(page, timeout_ms=180_000)
        expect(page.get_by_role("heading", name="Recurrence", exact=True).first).to_be_visible(timeout=180_000)
        assert_no_exception(page)
        csv = session_series_csv(session)
        upload_series(page, csv, f"session-{session}.csv")
        expect(page.get_by_test_id("stRadio").get_by_role("radio", name="Your uploaded series")).to_be_checked()
        expect(page.get_by_text("Your own series, split in time order like the others.")).to_be_visible()
        expect(page.get_by_text(training_windows_caption(csv, UPLOAD_HISTORY))).to_be_visible()
        pages[session] = page

    # A widget change in every session, after all sessions exist: each rerun must still find the
    # session's own upload, which only the replica that received it holds.
    for session, page in pages.items():
        move_slider(page, "History T", "ArrowRight", 2, str(UPLOAD_HISTORY + 2))
        expect(
            page.get_by_text(training_windows_caption(session_series_csv(session), UPLOAD_HISTORY + 2))
        ).to_be_visible()
        assert_no_exception(page)
    pages[1].screenshot(path=str(log_path.parent / "session-1-after-upload.png"), full_page=True)

    # What stickiness prevents: session 1's upload request sent again, straight to each replica
    # while the session is open. Only the replica holding the session accepts it.
    replayed = {
        name: replay_upload(uploads[1], contexts[0], proxy_url, url, session_series_csv(1))
        for name, url in replica_urls.items()
    }

    for context in contexts:
        context.close()
    by_session = wait_for_websocket_lines(log_path)

    servers_of_sessions = {}
    for session in range(1, SESSIONS + 1):
        requests = by_session[session_tag(session)]
        paths = [(request["method"], request["path"], request["status"]) for request in requests]
        assert any(method == "GET" and path == "/" for method, path, _ in paths), paths
        # One WebSocket for the whole session: the navigation, the reruns after the upload and
        # the slider all went over it, so to the replica it names.
        assert [status for _, path, status in paths if path.startswith("/_stcore/stream")] == ["101"], paths
        assert any(
            method == "PUT" and path.startswith(UPLOAD_PATH) and status.startswith("2")
            for method, path, status in paths
        ), paths
        servers = {request["server"] for request in requests}
        assert len(servers) == 1, f"session {session} was served by {servers}: {paths}"
        servers_of_sessions[session] = servers.pop()
    assert set(servers_of_sessions.values()) == set(replica_urls), servers_of_sessions

    own_replica = servers_of_sessions[1]
    other_replica = next(name for name in replica_urls if name != own_replica)
    assert 200 <= replayed[own_replica][0] < 300, replayed
    assert replayed[other_replica][0] == 400 and "Invalid session_id" in replayed[other_replica][1], replayed
