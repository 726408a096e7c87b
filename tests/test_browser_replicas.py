"""More than one machine: two replicas of the app behind the shipped HAProxy configuration
(deploy/haproxy.cfg, cookie stickiness), several browser sessions on the Recurrence page, each
uploading its own series. Every request of a session (page load, WebSocket, the upload) must reach
one replica, the sessions must be spread over both, and each page must show its own upload.

HAProxy finds the replicas as in Compose: a DNS server (here a small one on loopback, in Compose
Docker's) answers the service name with one address per replica. The Recurrence page is used
because it has a small upload; like every course page it has each replica import TensorFlow on
its first visit (streamlit_app.py imports it once, under a lock, before a course page runs), so
the first session's page is given minutes on a busy host. The check itself is in
tests/replicas_support.py, which tests/test_deploy_compose.py runs too.

Both replicas keep their workshop rooms (#24) in one real Redis server started here
(RNN_PLAYGROUND_ROOM_STORE): two participants, each pinned to a different replica by HAProxy's
SERVERID cookie, join one room and train, and the instructor's board shows both runs on either replica."""

from __future__ import annotations

import contextlib
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from lib.data.room_store import open_store
from tests.browser_support import (
    ARTIFACTS,
    assert_no_exception,
    free_port,
    haproxy_in_front,
    haproxy_server_addresses,
    served_app,
    wait_until_idle,
)
from tests.redis_support import running_redis
from tests.replicas_support import LOG_LINE, assert_sessions_stay_on_one_replica_and_use_both
from tests.system_parts import HAPROXY_PART, REDIS_PART, require

pytestmark = pytest.mark.browser

REPLICAS = 2
WORK_DIR = ARTIFACTS / "replicas"


@pytest.fixture(scope="module")
def room_redis():
    """One real redis-server (Debian's) that both replicas keep their rooms in, as in Compose."""
    require(REDIS_PART)
    with running_redis(WORK_DIR / "redis") as server:
        yield server.url


@pytest.fixture(scope="module")
def replicas_and_proxy(room_redis):
    """Two `streamlit run` replicas, on two loopback addresses and one port as two containers would
    be, both with their room store in one Redis server, and HAProxy finding them by DNS; yields
    (proxy url, replica urls by HAProxy server name, path of HAProxy's log)."""
    require(HAPROXY_PART)
    addresses = [f"127.0.0.{number}" for number in range(2, 2 + REPLICAS)]
    port = free_port(tuple(addresses))
    with contextlib.ExitStack() as stack:
        for address in addresses:
            stack.enter_context(
                served_app(
                    WORK_DIR / f"replica-{address}.log",
                    extra_env={"RNN_PLAYGROUND_ROOM_STORE": room_redis},
                    address=address,
                    port=port,
                )
            )
        proxy_url, log_path = stack.enter_context(haproxy_in_front(addresses, port, WORK_DIR))
        deadline = time.monotonic() + 15
        while len(named := haproxy_server_addresses(log_path)) < REPLICAS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sorted(named.values()) == addresses, f"HAProxy did not find both replicas by DNS: {named}"
        yield proxy_url, {name: f"http://{address}:{port}" for name, address in named.items()}, log_path


def test_each_session_stays_on_one_replica_and_sessions_use_both(browser, replicas_and_proxy):
    assert_sessions_stay_on_one_replica_and_use_both(browser, *replicas_and_proxy)


# Two cheap runs on the Parameter sharing page that differ in one setting, with seeds no other test presses.
RUNS = {"Ada": "hidden_units=8&seed=7201", "Grace": "hidden_units=32&seed=7202"}
SMALL = "training_examples=50&epochs=5"
AGENT_PREFIX = "room-test-"


def replica_cookies(proxy_url: str) -> list[str]:
    """One SERVERID value per replica: HAProxy balances browsers without the cookie round robin and
    names the replica it chose in the cookie it inserts, so a few cookie-less requests yield both."""
    values: list[str] = []
    headers = []
    for _ in range(8):
        request = urllib.request.Request(f"{proxy_url}/_stcore/health", headers={"User-Agent": "room-test-probe"})
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = response.headers.get_all("Set-Cookie") or []
        for cookie in headers:
            value = cookie.split(";")[0].removeprefix("SERVERID=")
            if cookie.startswith("SERVERID=") and value not in values:
                values.append(value)
        if len(values) == REPLICAS:
            return values
    raise AssertionError(f"HAProxy did not hand out one cookie per replica: {values}; last Set-Cookie: {headers}")


def pinned_page(browser, proxy_url: str, cookie: str, agent: str, default_agent: str):
    """A browser of its own (its own cookie jar) whose requests HAProxy sends to the replica named by
    `cookie`; its User-Agent starts with `agent`, which HAProxy's log captures."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1200}, user_agent=f"{AGENT_PREFIX}{agent} {default_agent}"
    )
    context.add_cookies([{"name": "SERVERID", "value": cookie, "url": proxy_url}])
    return context, context.new_page()


def servers_by_agent(log_path, agents: list[str]) -> dict[str, set[str]]:
    """The replicas that served each browser, from HAProxy's log; a WebSocket is logged when it
    closes, so this waits (up to 15 s after the browsers closed) until every browser's is there."""
    deadline = time.monotonic() + 15
    while True:
        servers: dict[str, set[str]] = {agent: set() for agent in agents}
        streams: set[str] = set()
        for line in log_path.read_text().splitlines():
            match = LOG_LINE.search(line)
            if match and match["agent"].startswith(AGENT_PREFIX):
                agent = match["agent"].split()[0].removeprefix(AGENT_PREFIX)
                if agent in servers:
                    servers[agent].add(match["server"])
                    if match["path"].startswith("/_stcore/stream"):
                        streams.add(agent)
        if streams == set(agents) or time.monotonic() > deadline:
            return servers
        time.sleep(0.2)


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label)


def expect_board_shows_both_runs(board) -> None:
    """The board refreshes itself every 2 s: both names, both runs finished, and the scatter's reading."""
    expect(metric(board, "Participants")).to_contain_text("2", timeout=240_000)
    expect(board.get_by_test_id("stText").filter(has_text="Grace")).to_contain_text("Ada", timeout=60_000)
    expect(metric(board, "Runs on Parameter sharing")).to_contain_text("2", timeout=300_000)
    expect(metric(board, "Training now")).to_contain_text("0", timeout=300_000)
    expect(board.get_by_text("Across 2 finished runs, hidden_units =")).to_be_visible(timeout=60_000)
    assert_no_exception(board)


def test_participants_on_two_replicas_meet_on_one_board(browser, replicas_and_proxy, room_redis):
    proxy_url, _, log_path = replicas_and_proxy
    probe = browser.new_context()
    default_agent = probe.new_page().evaluate("navigator.userAgent")
    probe.close()
    first, second = replica_cookies(proxy_url)
    # Ada and the instructor's own screen on one replica, Grace and the projector's screen on the other.
    pinned = {
        "instructor": first,
        "Ada": first,
        "Grace": second,
        "projector": second,
    }
    contexts, pages = [], {}
    for agent, cookie in pinned.items():
        context, pages[agent] = pinned_page(browser, proxy_url, cookie, agent, default_agent)
        contexts.append(context)
    try:
        instructor = pages["instructor"]
        instructor.goto(proxy_url)
        instructor.get_by_role("button", name="Open a workshop room").click(timeout=120_000)
        board_code = instructor.get_by_test_id("stCode").filter(has_text="key=")
        expect(board_code).to_be_visible(timeout=60_000)
        # The link names the host the app was reached at; the path and query are what matter here.
        link = urlsplit(board_code.inner_text().strip())
        board_path = f"{link.path}?{link.query}"
        code = parse_qs(link.query)["room"][0]
        for board in (pages["instructor"], pages["projector"]):
            board.goto(proxy_url + board_path)
            expect(metric(board, "Participants")).to_contain_text("0", timeout=120_000)
            assert_no_exception(board)

        for name, settings in RUNS.items():
            page = pages[name]
            page.goto(f"{proxy_url}/parameter_sharing?{SMALL}&{settings}&room={code}")
            name_box = page.get_by_label("Your display name on the instructor's board")
            # A replica's first course page imports TensorFlow: minutes on a busy host.
            expect(name_box).to_be_visible(timeout=240_000)
            name_box.fill(name)
            name_box.press("Enter")
            wait_until_idle(page, timeout_ms=180_000)
            page.get_by_role("button", name="Join the room").click()
            expect(page.get_by_text(f"you take part as {name}")).to_be_visible(timeout=120_000)
            wait_until_idle(page, timeout_ms=180_000)
        for name in RUNS:
            pages[name].get_by_role("button", name="Train", exact=True).click()

        # Each board, on its own replica, shows both participants and both runs.
        for board in (pages["instructor"], pages["projector"]):
            expect_board_shows_both_runs(board)
        pages["projector"].screenshot(path=str(WORK_DIR / "board-on-second-replica.png"), full_page=True)
        for name in RUNS:
            wait_until_idle(pages[name], timeout_ms=180_000)
            assert_no_exception(pages[name])
    finally:
        for context in contexts:
            context.close()

    # The room lives in the Redis server, not in a file the two replicas happen to share on this host.
    store = open_store(room_redis)
    try:
        assert sorted(participant.name for participant in store.participants(code)) == sorted(RUNS)
    finally:
        store.close()
    # Ada's session was served by one replica only, Grace's by the other only, and each board's by one.
    servers = servers_by_agent(log_path, list(pinned))
    assert all(len(served) == 1 for served in servers.values()), servers
    assert servers["Ada"] != servers["Grace"], servers
    assert servers["instructor"] == servers["Ada"] and servers["projector"] == servers["Grace"], servers
