"""More than one machine: two replicas of the app behind the shipped HAProxy configuration
(deploy/haproxy.cfg, cookie stickiness), several browser sessions on the Recurrence page, each
uploading its own series. Every request of a session (page load, WebSocket, the upload) must reach
one replica, the sessions must be spread over both, and each page must show its own upload.

HAProxy finds the replicas as in Compose: a DNS server (here a small one on loopback, in Compose
Docker's) answers the service name with one address per replica. The Recurrence page is used
because it has a small upload; like every course page it has each replica import TensorFlow on
its first visit (streamlit_app.py imports it once, under a lock, before a course page runs), so
the first session's page is given minutes on a busy host. The check itself is in
tests/replicas_support.py, which tests/test_deploy_compose.py runs too."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.browser_support import ARTIFACTS, free_port, haproxy_in_front, haproxy_server_addresses, served_app
from tests.replicas_support import assert_sessions_stay_on_one_replica_and_use_both
from tests.system_parts import HAPROXY_PART, require

pytestmark = pytest.mark.browser

REPLICAS = 2
WORK_DIR = ARTIFACTS / "replicas"


@pytest.fixture(scope="module")
def replicas_and_proxy():
    """Two `streamlit run` replicas, on two loopback addresses and one port as two containers would
    be, and HAProxy finding them by DNS; yields (proxy url, replica urls by HAProxy server name,
    path of HAProxy's log)."""
    require(HAPROXY_PART)
    addresses = [f"127.0.0.{number}" for number in range(2, 2 + REPLICAS)]
    port = free_port(tuple(addresses))
    with contextlib.ExitStack() as stack:
        for address in addresses:
            stack.enter_context(served_app(WORK_DIR / f"replica-{address}.log", address=address, port=port))
        proxy_url, log_path = stack.enter_context(haproxy_in_front(addresses, port, WORK_DIR))
        deadline = time.monotonic() + 15
        while len(named := haproxy_server_addresses(log_path)) < REPLICAS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sorted(named.values()) == addresses, f"HAProxy did not find both replicas by DNS: {named}"
        yield proxy_url, {name: f"http://{address}:{port}" for name, address in named.items()}, log_path


def test_each_session_stays_on_one_replica_and_sessions_use_both(browser, replicas_and_proxy):
    assert_sessions_stay_on_one_replica_and_use_both(browser, *replicas_and_proxy)
